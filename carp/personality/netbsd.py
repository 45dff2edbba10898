"""NetBSD's carp: sys/netinet/ip_carp.c (the KAME-era code, suppress_preempt demotion)."""

from __future__ import annotations

from carp.personality.base import Line, Personality
from carp.priorities import LOG_INFO
from carp.states import (
    BACKUP,
    INIT,
    MASTER,
    R_MASTER_TIMEOUT,
    R_MORE_FREQUENT,
    R_PREEMPT,
    R_WILL_TIMEOUT,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.vhost import Env, Params

SUPPRESS_SKEW = 240  # advskew forced while preemption is suppressed

# NetBSD logs an extra line on some transitions, with its own (sometimes wrong) labels.
_EXTRA = {
    R_MORE_FREQUENT: "MASTER -> BACKUP (more frequent advertisement received)",
    R_PREEMPT: "BACKUP -> MASTER (preempting a slower master)",
    R_WILL_TIMEOUT: "BACKUP -> MASTER (master timed out)",
    R_MASTER_TIMEOUT: "INIT -> MASTER (preempting)",
}


class NetBSD(Personality):
    name = "netbsd"
    sends_ipv6 = False  # carp_send_ad's IPv6 branch is "notyet"
    zero_ip_id = True
    arpbalance_hashes_mac = True
    hmac_zeroes_multicast_scope = False  # carp_hmac_prepare: IN6_IS_ADDR_LINKLOCAL only

    def sent_advskew(self, advskew: int, env: Env) -> int:
        return max(advskew, SUPPRESS_SKEW) if env.suppress_preempt > 0 else advskew

    def transition_logs(self, p: Params, old: str, new: str, reason: str) -> list[Line]:
        lines: list[Line] = []
        extra = _EXTRA.get(reason)
        if extra and new in (MASTER, BACKUP) and old != INIT:
            lines.append((LOG_INFO, f"{p.logname}: {extra}"))
        lines.append((LOG_INFO, f"{p.logname}: state transition from: {old} -> to: {new}"))
        return lines

    checks_parent_v4 = True

    # -- userland: ifconfig, sysctl, netstat (below this line) --------------------
    # ifconfig(8): sbin/ifconfig, driven by its parse tables
    ifconfig_options = "abCdhLlmsuvw:z"
    # NetBSD assembles its usage from every registered module; we carry the generic
    # lines plus carp's own fragment (the only module we implement).
    ifconfig_usage = (
        "usage: ifconfig [-h] [-m] [-v] [-z] [-L] interface\n"
        "\t[ af [ address [ dest_addr ] ] [ netmask mask ] [ prefixlen n ]\n"
        "\t\t[ alias | -alias ] ]\n"
        "\t[ up ] [ down ] [ metric n ] [ mtu n ]\n"
        "\t[ advbase n ] [ advskew n ] [ carpdev iface ] [ pass passphrase ] "
        "[ state state ] [ vhid n ]\n"
        "\t[ arp | -arp ]\n"
        "\t[ preference n ]\n"
        "\t[ link0 | -link0 ] [ link1 | -link1 ] [ link2 | -link2 ]\n"
        "       ifconfig -a [-b] [-d] [-h] [-m] [-u] [-v] [-z] [ af ]\n"
        "       ifconfig -l [-b] [-d] [-s] [-u]\n"
        "       ifconfig -C\n"
        "       ifconfig -w n\n"
        "       ifconfig interface create\n"
        "       ifconfig interface destroy\n"
    )
    lists_without_a = False
    ifconfig_numbers = "table"  # pinteger: a number out of range does not match
    refusals_print_usage = True  # the table parser knows no other message
    exact_state_words = True
    lowest_vhid = 0
    no_such_interface = "ifconfig: SIOCGIFFLAGS {name}: Device not configured"
    carp_interface_lines = ("mtu", "carp_per_vhid", "address", "link_local", "addresses")
    physical_interface_lines = (
        "mtu", "carp_per_vhid", "address", "media", "inet", "link_local", "inet6",
    )
    flags_in_0x = True  # NetBSD 8+
    addresses_with_prefix = True

    # sysctl(8): sbin/sysctl/sysctl.c
    sysctl_options = "Aabdef:Mnqrwx"
    sysctl_usage = (
        "usage:\tsysctl [-dne] [-x[x]|-r] variable ...\n"
        "\tsysctl [-ne] [-q] -w variable=value ...\n"
        "\tsysctl [-dne] -a\n"
        "\tsysctl [-dne] -A\n"
        "\tsysctl [-ne] -M\n"
        "\tsysctl [-dne] [-q] -f file"
    )
    sysctl_d_alone_lists_all = True
    sysctl_stops_at_error = True
    sysctl_lists_interior_on_write = True  # a node it cannot set is listed
    sysctl_numbers = "strtouq"
    sysctl_separator = " = "
    sysctl_no_description = "(no description)"
    sysctl_unknown = "{level} level name '{part}' in '{name}' is invalid"
    sysctl_struct_read = sysctl_struct_write = "{name}: this type is unknown to this program"
    sysctl_file_error = "{fname}#{lineno}: {msg}"
    carp_sysctl_nodes = {
        "allow": {"default": 1, "descr": "Accept incoming CARP packets"},
        "preempt": {"default": 0, "descr": "Preemption mode"},
        "log": {"default": 0, "descr": "Log bad packets"},
        "arpbalance": {"default": 0, "descr": "balance arp responses"},
        "stats": {"kind": "struct", "descr": "CARP statistics"},
    }

    # netstat(1): usr.bin/netstat/carp.c
    netstat_carp_layout = (
        ("ipackets", "\t{n} packet{s} received (IPv4)"),
        ("ipackets6", "\t{n} packet{s} received (IPv6)"),
        ("badif", "\t\t{n} packet{s} discarded for bad interface"),
        ("badttl", "\t\t{n} packet{s} discarded for wrong TTL"),
        ("hdrops", "\t\t{n} packet{s} shorter than header"),
        ("badsum", "\t\t{n} packet{s} discarded for bad checksum"),
        ("badver", "\t\t{n} packet{s} discarded with a bad version"),
        ("badlen", "\t\t{n} discarded because packet was too short"),
        ("badauth", "\t\t{n} packet{s} discarded for bad authentication"),
        ("badvhid", "\t\t{n} packet{s} discarded for bad vhid"),
        ("badaddrs", "\t\t{n} packet{s} discarded because of a bad address list"),
        ("opackets", "\t{n} packet{s} sent (IPv4)"),
        ("opackets6", "\t{n} packet{s} sent (IPv6)"),
        ("onomem", "\t\t{n} send failed due to mbuf memory error"),
    )


POLICY = NetBSD()
