"""OpenBSD's carp: sys/netinet/ip_carp.c as of OpenBSD 7."""

from __future__ import annotations

from carp.personality.base import Line, Personality
from carp.priorities import LOG_CRIT, LOG_WARNING
from carp.states import (
    INIT,
    R_DEMOTED_MASTER,
    R_PREEMPT,
    R_WILL_TIMEOUT,
    SKEW_US,
    US,
    skew_us,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.demotion import Demotion
    from carp.host import CarpHost
    from carp.vhost import Params


class OpenBSD(Personality):
    name = "openbsd"
    cookie_counter = True  # sc_counter: random once, echoed back means a loop or replay
    refuses_replays = False  # a constant cookie: a replay looks like the live master
    sends_demote = True
    delayed_announce = True  # carp_send_ad: sc_delayed_arp
    hashes_lladdr = True
    hmac_two_contexts = True
    counts_preempt = True
    demotion_raises_advskew = False  # demotion travels in the demote byte instead
    lookup_by_peer_kind = True  # carp_proto_input: carppeer vhids take unicast adverts only

    def master_down_us(self, advbase: int, advskew: int) -> int:
        """carp_setrun: three whole advertisement intervals, 1/256 s at least."""
        t_ad = advbase * US + skew_us(advskew)
        return 3 * (t_ad or SKEW_US)

    def is_tie(self, mine: int, theirs: int, my_demote: int, ch_demote: int) -> bool:
        return mine == theirs and ch_demote == my_demote

    def master_yields(self, mine: int, theirs: int, my_demote: int, ch_demote: int) -> bool:
        """A less demoted peer wins whatever its timing; an equally demoted faster one."""
        return (mine > theirs and ch_demote <= my_demote) or ch_demote < my_demote

    def backup_takes_over(
        self, mine: int, theirs: int, my_demote: int, ch_demote: int, preempt: bool,
        advbase: int,
    ) -> str | None:
        if mine < theirs and preempt and ch_demote >= my_demote:
            return R_PREEMPT
        if ch_demote > my_demote:
            return R_DEMOTED_MASTER
        if advbase != 0 and mine + 2 * advbase * US < theirs:
            return R_WILL_TIMEOUT
        return None

    def transition_logs(self, p: Params, old: str, new: str, reason: str) -> list[Line]:
        nodes = f" (vhid {p.vhid})" if p.nodes > 1 else ""
        prio = LOG_CRIT if INIT not in (old, new) else LOG_WARNING
        return [(prio, f"{p.logname}: state transition{nodes}: {old} -> {new}")]

    def log_priority(self, level: int, priority: int, kind: str) -> int | None:
        """net.inet.carp.log is a syslog priority threshold."""
        return priority if level >= priority else None

    def demotion(self, host: CarpHost) -> Demotion:
        from carp.demotion import GroupDemotion

        return GroupDemotion(host)

    def bad_hash_text(self, name: str, src: str) -> str:
        return f"{name}: incorrect hash"

    def checksum_text(self, family: int, dev: str) -> str:
        """carp6_proto_input has a comma in it."""
        if family == 6:
            return f"carp: checksum failed, on {dev}"
        return super().checksum_text(family, dev)

    def too_short_text(self, family: int, dev: str, length: int) -> str:
        """carp6_proto_input words it differently."""
        if family == 6:
            return f"carp: packet size {length} too small"
        return super().too_short_text(family, dev, length)

    # -- userland: ifconfig, sysctl, netstat (below this line) --------------------
    # ifconfig(8): sbin/ifconfig/ifconfig.c
    ifconfig_options = "AaCg:M:"
    ifconfig_usage = (
        "usage: ifconfig [-AaC] [-M lladdr] [interface] [address_family]\n"
        "\t\t[address [dest_address]] [parameters]\n"
    )
    plain_words = frozenset({"-carpdev"})
    bare_name_is_group = True
    sets_group_demotion = True
    creates_on_first_use = True
    ifconfig_numbers = "strtonum"  # "vhid 256: too large"
    ignores_unknown_state = True  # setcarp_state: any case; nothing for other words
    max_advbase = 254
    names_interface_in_errors = True
    no_such_interface = "{name}: no such interface"
    carp_interface_lines = (
        "mtu", "lladdr", "index", "carpnodes", "groups", "status", "link_local", "addresses",
    )
    # No vhids on physical interfaces in OpenBSD: ours show the NetBSD carp way.
    physical_interface_lines = (
        "mtu", "lladdr", "index", "carp_per_vhid", "groups", "media", "link_local", "inet",
        "inet6",
    )
    broadcast_by_prefixlen = {31: None, 32: None}  # in_ifinit: IN_RFC3021_SUBNET
    egress_group = True
    lists_first_inet_only = True

    # sysctl(8): sbin/sysctl/sysctl.c
    sysctl_options = "Aanqwf:"
    sysctl_usage = "usage: sysctl [-Aanq] [name[=value] ...]"
    getopt_verb = "unknown"
    sysctl_lists_without_args = True
    sysctl_quiet_hides_unknown = False
    sysctl_numbers = "strtonum"
    sysctl_separator = "="
    sysctl_unknown = "{level} level name {part} in {name} is invalid"
    sysctl_unknown_past_leaf = "name {part} in {name} is unknown"
    sysctl_struct_read = sysctl_struct_write = "use netstat to view {name} information"
    carp_sysctl_nodes = {
        "allow": {"default": 1},
        "preempt": {"default": 0},
        "log": {"default": 2},
        # arpbalance existed in OpenBSD 3.5-3.x; the man pages of that era use it.
        "arpbalance": {"default": 0, "listed": False},
        "stats": {"kind": "struct"},
    }

    def sysctl_exit_status(self, failures: int) -> int:
        return 0  # sysctl warns and carries on: exit status 0 even on errors

    # netstat(1): usr.bin/netstat/inet.c carp_stats()
    netstat_carp_layout = (
        ("ipackets", "\t{n} packet{s} received (IPv4)"),
        ("ipackets6", "\t{n} packet{s} received (IPv6)"),
        ("badif", "\t\t{n} packet{s} discarded for bad interface"),
        ("badttl", "\t\t{n} packet{s} discarded for wrong TTL"),
        ("hdrops", "\t\t{n} packet{s} shorter than header"),
        ("badsum", "\t\t{n} discarded for bad checksum{s}"),
        ("badver", "\t\t{n} discarded packet{s} with a bad version"),
        ("badlen", "\t\t{n} discarded because packet too short"),
        ("badauth", "\t\t{n} discarded for bad authentication"),
        ("badvhid", "\t\t{n} discarded for unknown vhid"),
        ("badaddrs", "\t\t{n} discarded because of a bad address list"),
        ("opackets", "\t{n} packet{s} sent (IPv4)"),
        ("opackets6", "\t{n} packet{s} sent (IPv6)"),
        ("onomem", "\t\t{n} send failed due to mbuf memory error"),
        ("preempt", "\t{n} transition{s} to master"),
    )


POLICY = OpenBSD()
