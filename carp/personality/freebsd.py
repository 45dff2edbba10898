"""FreeBSD 10+'s carp: sys/netinet/ip_carp.c (vhids on the physical interface)."""

from __future__ import annotations

from carp.personality.base import Line, Personality
from carp.priorities import LOG_INFO

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from carp.demotion import Demotion
    from carp.host import CarpHost
    from carp.validation import Validator
    from carp.vhost import Env, Params

MAXSKEW = 240  # CARP_MAXSKEW: cap of advskew + demotion


class FreeBSD(Personality):
    name = "freebsd"
    bows_out = False  # carp_detach/carp_down send nothing
    vmac_source = True  # carp_output rewrites the source to the vhid's MAC
    allow_stops_vhids = True
    lookup_by_family = True  # carp_input_c: among the interface's addresses of that family
    speaks_vrrp = True  # FreeBSD 15: `carpver 3`

    def tos(self, family: int, sysctl: Mapping[str, int]) -> int:
        """net.inet.carp.dscp (CS7 by default) in both families."""
        return (sysctl.get("net.inet.carp.dscp", 56) << 2) & 0xFF

    def sent_advskew(self, advskew: int, env: Env) -> int:
        """DEMOTE_ADVSKEW: the global demotion is added to every vhid's advskew."""
        return max(0, min(advskew + env.demotion, MAXSKEW))

    def transition_logs(self, p: Params, old: str, new: str, reason: str) -> list[Line]:
        return [(LOG_INFO, f"carp: {p.vhid}@{p.carpdev}: {old} -> {new} ({reason})")]

    def log_priority(self, level: int, priority: int, kind: str) -> int | None:
        """1: state changes and demotion; 2: also packet and error diagnostics."""
        return priority if level >= (2 if kind in ("packet", "error") else 1) else None

    def demotion(self, host: CarpHost) -> Demotion:
        from carp.demotion import GlobalDemotion

        return GlobalDemotion(host)

    ttl_first_v4 = False  # length, version, checksum and vhid come first; unicast: no TTL

    def validator(self) -> Validator:
        from carp.validation import FreeBSDValidator

        return FreeBSDValidator(self)

    def replay_text(
        self, name: str, vhid: int, dev: str, counter: int, last: int, src: str
    ) -> str:
        """Where carp_input_c says "XXX Replay protection goes here"; in its style."""
        return (f"carp_input_c: replayed advertisement for VHID {vhid}@{dev} from {src}: "
                f"counter {counter:#x} not after {last:#x}")

    # -- userland: ifconfig, sysctl, netstat (below this line) --------------------
    # ifconfig(8): sbin/ifconfig (10+: vhids on the physical interface; <= 9: carpN)
    ifconfig_options = "aCdf:g:kLlmuv"
    ifconfig_usage = (
        "usage: ifconfig [-f type:format] [-L] [-C] [-g groupname] interface address_family\n"
        "                [address [dest_address]] [parameters]\n"
        "       ifconfig interface create\n"
        "       ifconfig -a [-L] [-C] [-g groupname] [-d] [-m] [-u] [-v] [address_family]\n"
        "       ifconfig -l [-d] [-u] [address_family]\n"
        "       ifconfig [-L] [-C] [-g groupname] [-d] [-m] [-u] [-v]\n"
    )
    looks_up_before_destroy = True  # any command but create needs the interface
    # ifgroup.c printgroup(): SIOCGIFGMEMB, printf("%s\n", ifgrq_member); ENOENT: exit(0).
    # The words after `-g GROUP` are never read: printgroup exits inside getopt.
    group_option_lists_members = True
    # ifconfig.c main(): `case 'g': if (all) matchgroup = optarg` and group_member()'s
    # fnmatch(3) of each of the interface's groups; 14's ifconfig.8 adds `-l [-du] [-g G]`
    group_option_filters = True
    ifconfig_numbers = "atoi"  # <= 9 ifcarp.c: atoi, then the kernel's EINVAL
    advbase_zero_keeps = True
    parses_width_apart = True  # in_getaddr: "192.168.1.1/33: bad value (width too large)"
    nomask_warning = (
        "ifconfig: WARNING: setting interface address without mask is deprecated,\n"
        "default mask may not be correct.\n"
    )
    create_ioctl = "SIOCIFCREATE2"
    no_such_interface = "ifconfig: interface {name} does not exist"
    no_such_address = "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address"
    link_requests = {  # ifconfig.c setifmtu's warn("ioctl (set mtu)"), af_inet's ioctl (...)
        "mtu": "ioctl (set mtu)", "flags": "SIOCSIFFLAGS", "lladdr": "SIOCSIFLLADDR",
        "add": "ioctl (SIOCAIFADDR)", "delete": "ioctl (SIOCDIFADDR)", "group": "SIOCAIFGROUP",
    }
    carp_interface_lines = ("metric_mtu", "addresses", "carp_vhid")  # <= 9 cloned carpN
    physical_interface_lines = (
        "metric_mtu", "options", "ether", "inet", "link_local", "inet6", "carp_vhid", "groups",
        "media", "nd6",
    )
    carp_is_loopback = True  # <= 9: IFT_CARP, found its parent by subnet
    shows_lower_up = True  # 14+
    broadcast_by_prefixlen = {31: "255.255.255.255"}
    media_subtypes = {
        10: "10baseT/UTP",
        100: "100baseTX",
        1000: "1000baseT",
        2500: "2500Base-T",
        5000: "5000Base-T",
        10000: "10Gbase-T",
        25000: "25GBase-CR",
        40000: "40Gbase-CR4",
        100000: "100GBase-CR4",
    }
    media_options_in_angles = True

    # sysctl(8): sbin/sysctl/sysctl.c
    # -w is not FreeBSD's, but the legacy carp(4) pages' `sysctl -w ...` must run.
    sysctl_options = "AabdeFf:hiNnoqTtWwx"
    sysctl_usage = (
        "usage: sysctl [-bdehiNnoqTtWx] [ -B <bufsize> ] [-f filename] name[=value] ...\n"
        "       sysctl [-bdehNnoqTtWx] [ -B <bufsize> ] -a"
    )
    sysctl_file_colon = True
    sysctl_trims_assignments = True  # parse(): as FreeBSD's parser does
    sysctl_numbers = "strtol"
    sysctl_separator = ": "
    sysctl_n_echo_shows_old = True
    sysctl_unknown = "unknown oid '{name}'"
    sysctl_read_only = "oid '{name}' is read only"
    sysctl_not_leaf = "oid '{name}' isn't a leaf node"
    sysctl_struct_write = "oid '{name}' is type 5, cannot set that"  # CTLTYPE_OPAQUE
    sysctl_kernel_error = "{name}={value}: {reason}"
    sysctl_refusal_shows = "{name}: {old}"
    sysctl_file_error = "{msg} at line {lineno}"
    # The newest OID is listed first (docs/userland.md §3.3), so the nodes are in that order.
    carp_sysctl_nodes = {
        "ifdown_demotion_factor": {
            "default": 240, "descr": "Interface down demotion factor adjustment",
        },
        "senderr_demotion_factor": {
            "default": 240, "descr": "Send error demotion factor adjustment",
        },
        "demotion": {
            "default": 0, "adds": True, "descr": "Adjust demotion factor (skew of advskew)",
        },
        "log": {"default": 1, "descr": "CARP log level"},
        "preempt": {"default": 0, "descr": "High-priority backup preemption mode"},
        "dscp": {"default": 56, "lo": 0, "hi": 63, "descr": "DSCP value for carp packets"},
        "allow": {"default": 1, "descr": "Accept incoming CARP packets"},
        "stats": {
            "kind": "struct", "descr": "CARP statistics (struct carpstats, netinet/ip_carp.h)",
        },
        # FreeBSD 5.4-9 nodes: the legacy carp(4) pages use them verbatim.
        "arpbalance": {"default": 0, "listed": False, "descr": "balance arp responses"},
        "suppress_preempt": {
            "default": 0, "writable": False, "listed": False, "descr": "Preemption is suppressed",
        },
    }

    def sysctl_exit_status(self, failures: int) -> int:
        return min(failures, 255)  # the number of failed arguments

    # netstat(1): usr.bin/netstat/inet.c carp_stats()
    netstat_carp_layout = (
        ("ipackets", "\t{n} packet{s} received (IPv4)"),
        ("ipackets6", "\t{n} packet{s} received (IPv6)"),
        ("badttl", "\t\t{n} packet{s} discarded for wrong TTL"),
        ("hdrops", "\t\t{n} packet{s} shorter than header"),
        ("badsum", "\t\t{n} discarded for bad checksum{s}"),
        ("badver", "\t\t{n} discarded packet{s} with a bad version"),
        ("badlen", "\t\t{n} discarded because packet too short"),
        ("badauth", "\t\t{n} discarded for bad authentication"),
        ("badvhid", "\t\t{n} discarded for bad vhid"),
        ("badaddrs", "\t\t{n} discarded because of a bad address list"),
        ("opackets", "\t{n} packet{s} sent (IPv4)"),
        ("opackets6", "\t{n} packet{s} sent (IPv6)"),
        ("onomem", "\t\t{n} send failed due to mbuf memory error"),
    )
    # the same lines' xo_emit field names ({:received-inet-packets/%ju} ...)
    netstat_carp_libxo = (
        ("ipackets", "received-inet-packets"),
        ("ipackets6", "received-inet6-packets"),
        ("badttl", "dropped-wrong-ttl"),
        ("hdrops", "dropped-short-header"),
        ("badsum", "dropped-bad-checksum"),
        ("badver", "dropped-bad-version"),
        ("badlen", "dropped-short-packet"),
        ("badauth", "dropped-bad-authentication"),
        ("badvhid", "dropped-bad-vhid"),
        ("badaddrs", "dropped-bad-address-list"),
        ("opackets", "sent-inet-packets"),
        ("opackets6", "sent-inet6-packets"),
        ("onomem", "send-failed-memory-error"),
    )


POLICY = FreeBSD()
