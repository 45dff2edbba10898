"""What every personality answers, with the rules the BSD kernels share as defaults.

The shared rules are those of the KAME-derived carp all three started from (FreeBSD's
and NetBSD's ip_carp.c still follow them); a BSD's own module overrides what it does
differently.  The core asks these objects; it never compares personality names."""

from __future__ import annotations

from carp.priorities import LOG_INFO
from carp.states import (
    R_PREEMPT,
    R_WILL_TIMEOUT,
    SKEW_US,
    US,
    skew_us,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from carp.demotion import Demotion
    from carp.host import CarpHost
    from carp.validation import Validator
    from carp.vhost import Env, Params

Line = tuple[int, str]  # (syslog priority, text)


class Personality:
    name = ""

    # -- advertisements ----------------------------------------------------------------
    cookie_counter = False  # one random counter per vhid (OpenBSD) vs counter++ and copy
    # Ours, not a BSD's: an authenticated advert whose counter is not newer than the newest
    # the vhid accepted is a replay, dropped as badauth (needs an incrementing counter).
    refuses_replays = True
    sends_demote = False  # the demote byte of the header carries the group demotion
    sends_ipv6 = True
    bows_out = True  # a leaving MASTER sends advbase = advskew = 255
    delayed_announce = False  # the leader repeats its gratuitous ARP two adverts later
    hashes_lladdr = False  # a custom lladdr on the leader enters the HMAC
    # send policy (carpd): IP id, Ethernet source of multicast adverts
    zero_ip_id = False
    vmac_source = False  # the vhid's virtual MAC, not the carp interface's MAC

    def tos(self, family: int, sysctl: Mapping[str, int]) -> int:
        """IPv4 TOS / IPv6 traffic class of adverts: IPTOS_LOWDELAY, and 0 for IPv6."""
        return 0x10 if family == 4 else 0

    # -- authentication (carp_hmac_prepare) --------------------------------------------
    # IPv6 scope bytes are zeroed in link-local unicast and link/interface-local
    # multicast (IN6_IS_SCOPE_EMBED), or in link-local unicast only
    hmac_zeroes_multicast_scope = True
    # OpenBSD's two contexts: signs without link-locals (NOV6LL), accepts either
    hmac_two_contexts = False

    # -- configuration -----------------------------------------------------------------
    allow_stops_vhids = False  # net.inet.carp.allow=0 forces every vhid to INIT

    # -- net.inet.carp.arpbalance ------------------------------------------------------
    # who answers a who-has shared by several carp interfaces: the sender IP modulo
    # their count (OpenBSD 3.x, FreeBSD <= 9), or carp_hash of the sender MAC with
    # each interface's key (NetBSD)
    arpbalance_hashes_mac = False

    # -- timing (carp_setrun) ----------------------------------------------------------

    demotion_raises_advskew = True  # else sent_advskew is the configured advskew

    def sent_advskew(self, advskew: int, env: Env) -> int:
        """The advskew put in our packets, and compared with a received one."""
        return advskew

    def master_down_us(self, advbase: int, advskew: int) -> int:
        """3 x advbase + advskew/256; advbase 0 (NetBSD allows it) waits 3 skews."""
        if advbase == 0:
            return 3 * skew_us(advskew) or 3 * SKEW_US
        return 3 * advbase * US + skew_us(advskew)

    # -- VRRPv3 mode (`carpver 3`, §1.7) -----------------------------------------------
    # Only FreeBSD 15 speaks it; elsewhere a carpver 3 vhid stays INIT.  The rules below
    # are FreeBSD's (vrrp_input_c, carp_setrun), not RFC 5798's: no address tie-break,
    # priority 0 is no special case, preemption is the global sysctl.

    speaks_vrrp = False

    def vrrp_master_down_us(self, prio: int, master_cs: int) -> int:
        """3 x MI + (256 - prio) x MI / 256 centiseconds (integer), MI the learned one."""
        return (3 * master_cs + (256 - prio) * master_cs // 256) * (US // 100)

    def vrrp_master_yields(self, prio: int, interval_cs: int, their_prio: int,
                           their_cs: int) -> bool:
        """A MASTER hears a more frequent or a higher-priority advertisement: equal
        priority and interval keep both MASTER (RFC 5798 compares addresses)."""
        return their_cs < interval_cs or their_prio > prio

    def vrrp_backup_takes_over(self, prio: int, interval_cs: int, their_prio: int,
                               their_cs: int, preempt: bool) -> str | None:
        """With net.inet.carp.preempt, a BACKUP takes over from a slower or a lower-priority
        master at once (RFC 5798 would wait for master-down; priority 0 included)."""
        if preempt and (their_cs > interval_cs or their_prio < prio):
            return R_PREEMPT
        return None

    # -- the election (carp_proto_input_c) ---------------------------------------------

    def is_tie(self, mine: int, theirs: int, my_demote: int, ch_demote: int) -> bool:
        return mine == theirs

    def master_yields(self, mine: int, theirs: int, my_demote: int, ch_demote: int) -> bool:
        """A MASTER hears a faster (not an equal: see is_tie) advertisement."""
        return mine > theirs

    def backup_takes_over(
        self, mine: int, theirs: int, my_demote: int, ch_demote: int, preempt: bool,
        advbase: int,
    ) -> str | None:
        """The reason a BACKUP becomes MASTER on this advertisement, or None."""
        if mine < theirs and preempt:
            return R_PREEMPT
        if mine + 2 * advbase * US < theirs:  # slower than 3 x advbase: a bow-out
            return R_WILL_TIMEOUT
        return None

    # -- log (plain values: this module must not load carp.actions' dataclasses) -------

    counts_preempt = False  # carpstats "preempt" counts BACKUP -> MASTER

    def transition_logs(self, p: Params, old: str, new: str, reason: str) -> list[Line]:
        """The (priority, text) lines a state change logs."""
        return []

    def log_priority(self, level: int, priority: int, kind: str) -> int | None:
        """The priority a line of `kind` is logged at when net.inet.carp.log = level,
        or None when that level hides it.  Everything at LOG_INFO, if at all."""
        return LOG_INFO if level != 0 else None

    # -- demotion ----------------------------------------------------------------------

    def demotion(self, host: CarpHost) -> Demotion:
        """A new demotion scheme for `host` (carp.demotion, imported only here: it
        builds actions, which the front ends never load)."""
        from carp.demotion import SuppressPreempt

        return SuppressPreempt(host)

    # -- receive validation ------------------------------------------------------------
    checks_parent_v4 = False  # IPv4 adverts on a parent without carp count badif
    # the vhid lookup (§7): only a vhid whose peer kind (multicast or unicast) fits the
    # destination; only a vhid holding an address of the advert's family
    lookup_by_peer_kind = False
    lookup_by_family = False
    # On a carpdev, an IPv4 advertisement whose TTL is not 255 is dropped as badttl before
    # any other check, and only counted and logged: carpd may do that without parsing it.
    ttl_first_v4 = True

    def validator(self) -> Validator:
        """The receive validation order (carp.validation, imported only here)."""
        from carp.validation import Validator

        return Validator(self)

    def bad_hash_text(self, name: str, src: str) -> str:
        return f"{name}: incorrect hash from {src}"

    def replay_text(
        self, name: str, vhid: int, dev: str, counter: int, last: int, src: str
    ) -> str:
        """A refused replay (refuses_replays); no BSD has such a line: ours, in its style."""
        return (f"{name}: replayed advertisement from {src}, counter {counter:#x} "
                f"not after {last:#x}")

    def checksum_text(self, family: int, dev: str) -> str:
        return f"carp: checksum failed on {dev}"

    def too_short_text(self, family: int, dev: str, length: int) -> str:
        return f"carp: packet too short {length} on {dev}"

    # -- userland: ifconfig, sysctl, netstat (below this line) --------------------
    # The texts are each BSD's own, verbatim; the front ends fill in their {fields}.

    # ifconfig(8): the command line
    ifconfig_options: str  # getopt(3) letters; a letter followed by ':' takes an argument
    ifconfig_usage: str
    plain_words: frozenset[str] = frozenset()  # keywords its ifconfig lacks: plain words
    lists_without_a = True  # a bare `ifconfig` lists every interface
    bare_name_is_group = False  # `ifconfig carp`: a name without a unit is a group
    sets_group_demotion = False  # `ifconfig -g carp carpdemote 50`
    # `ifconfig -g GROUP` alone: the group's attributes (`carp: carp demote count 0`), or
    # its members' names, one a line, and nothing for a group that does not exist
    group_option_lists_members = False
    # `-g GROUP` after -a or -l keeps only the interfaces in a group matching the pattern
    group_option_filters = False
    creates_on_first_use = False  # configuring a carpN that does not exist creates it
    looks_up_before_destroy = False  # destroying a missing interface: no_such_interface

    # ifconfig(8): parameters
    ifconfig_numbers: str  # its number parser: "strtonum", "atoi" or "table" (ifconfig.apply_clone)
    refusals_print_usage = False  # a refused word prints the usage, not a message
    exact_state_words = False  # `state` takes INIT/BACKUP/MASTER as written, not in any case
    ignores_unknown_state = False  # an unknown `state` word on a carpN is no error
    lowest_vhid = 1  # `vhid 0` is refused (where it parses, the kernel ignores it)
    max_advbase = 255
    advbase_zero_keeps = False  # `advbase 0` leaves the advbase alone
    parses_width_apart = False  # the /width of an address is checked apart from it
    nomask_warning = ""  # printed when an IPv4 address comes without a mask

    # ifconfig(8): error texts (a whole stderr line, without its newline)
    names_interface_in_errors = False  # "ifconfig: carp0: SIOCSVH: Invalid argument"
    create_ioctl = "SIOCIFCREATE"
    no_such_interface: str  # {name}: the interface
    no_such_address = "ifconfig: SIOCDIFADDR: Can't assign requested address"
    # What err(3) names when the kernel refuses a change to a physical interface,
    # by the change (carp.ifconfig.link_plan): ifconfig.c's own words.
    link_requests: dict[str, str] = {
        "mtu": "SIOCSIFMTU", "flags": "SIOCSIFFLAGS", "lladdr": "SIOCSIFLLADDR",
        "add": "SIOCAIFADDR", "delete": "SIOCDIFADDR", "group": "SIOCAIFGROUP",
    }

    # ifconfig(8): output.  The lines of an interface, in order, by the names
    # carp.ifconfig's CarpLines and PhysicalLines give them.
    carp_interface_lines: tuple[str, ...]
    physical_interface_lines: tuple[str, ...]
    carp_is_loopback = False  # carpN is LOOPBACK-typed, RUNNING once it has an address
    shows_lower_up = False  # the LOWER_UP flag
    flags_in_0x = False  # snprintb(3)'s new style: flags=0x8843<...>, flags=0x0
    addresses_with_prefix = False  # `inet A/24 ... flags 0x0`, not `inet A netmask M`
    # The broadcast the kernel gives an address set without one, where it is not the
    # subnet's all-ones address (RFC 3021 point-to-point subnets); None: no broadcast.
    broadcast_by_prefixlen: dict[int, str | None] = {}
    media_subtypes: dict[int, str] = {  # Mb/s -> if_media.h's name
        10: "10baseT",
        100: "100baseTX",
        1000: "1000baseT",
        2500: "2500baseT",
        5000: "5000baseT",
        10000: "10GbaseT",
        25000: "25GbaseCR",
        40000: "40GbaseCR4",
        100000: "100GbaseCR4",
    }
    media_options_in_angles = False  # `(1000baseT <full-duplex>)`
    egress_group = False  # interfaces with the default route are in group `egress`
    lists_first_inet_only = False  # -a shows one inet address per interface (-A: all)

    # sysctl(8)
    sysctl_options: str  # getopt(3) letters; a letter followed by ':' takes an argument
    sysctl_usage: str
    getopt_verb = "illegal"  # getopt(3)'s word for a letter it does not know
    sysctl_lists_without_args = False  # `sysctl` alone means `sysctl -a`
    sysctl_d_alone_lists_all = False  # `sysctl -d` without names means `sysctl -da`
    sysctl_stops_at_error = False  # the first failing argument (not -f line) ends the run
    sysctl_file_colon = False  # -f lines may read `name: value`
    sysctl_trims_assignments = False  # blanks around name and value, quotes around it go
    sysctl_quiet_hides_unknown = True  # -q silences unknown names
    sysctl_lists_interior_on_write = False  # `net.inet.carp=1` lists the node
    sysctl_numbers: str  # its number parser: "strtonum", "strtol", "strtouq" (sysctl.dialect)
    sysctl_separator: str  # between name and value (-e: "=")
    sysctl_n_echo_shows_old = False  # -n on a write prints "old -> new", not "new"
    sysctl_no_description = ""  # -d for a node without a description
    sysctl_unknown: str  # {name}, its first unknown component {part} at {level} ("third")
    sysctl_unknown_past_leaf: str | None = None  # a name running on past a leaf
    sysctl_read_only = "{name}: Operation not permitted"
    sysctl_not_leaf = "{name}: incomplete specification"
    sysctl_struct_read: str | None = None  # reading the stats struct (None: silence)
    sysctl_struct_write = "{name}: Invalid argument"
    sysctl_kernel_error = "{name}: {reason}"  # the kernel refused {value}
    sysctl_refusal_shows: str | None = None  # stdout before a refused write ({old})
    sysctl_file_error = "{msg}"  # an error on line {lineno} of -f {fname}
    # net.inet.carp.<name> -> the node's carp.mib.Node arguments, in `sysctl -a` order
    carp_sysctl_nodes: dict[str, dict[str, int | str | bool]]

    def sysctl_exit_status(self, failures: int) -> int:
        """sysctl's exit status after `failures` failed arguments."""
        return 1 if failures else 0

    # netstat(1): `netstat -s -p carp`, (counter, line) with {n} the count and {s} the
    # plural "s"; the counters are carp.wire.STAT_FIELDS.
    netstat_carp_layout: tuple[tuple[str, str], ...]
    # `netstat --libxo json -s -p carp`: (counter, libxo key) in the layout's order, as
    # xo_emit names them; () where netstat has no libxo (it takes --libxo for an unknown
    # option, as getopt does: only FreeBSD's netstat is built with libxo).
    netstat_carp_libxo: tuple[tuple[str, str], ...] = ()
