"""Line-level formatting shared by the ifconfig renderers: flag bits, addresses, media,
and `Lines`, the kinds of line every interface may show.

Everything here is a pure function of plain values and the personality's policy, so
golden tests can pin it.  Integer arithmetic replaces `ipaddress` to keep
`ifconfig carp0` quick to start.
"""

from __future__ import annotations

from carp import sysif
from carp.cmodules import socket as _socket

TYPE_CHECKING = False  # typing costs ~5 ms at start-up; only type checkers need it
if TYPE_CHECKING:
    from carp.personality import Policy

# BSD if_flags bits (identical on the three BSDs for the bits we can produce).
UP, BROADCAST, DEBUG, LOOPBACK, POINTOPOINT = 0x1, 0x2, 0x4, 0x8, 0x10
RUNNING, NOARP, PROMISC, ALLMULTI, SIMPLEX = 0x40, 0x80, 0x100, 0x200, 0x800
MULTICAST = 0x8000
LOWER_UP = 0x1000000  # FreeBSD 14+ only

_BIT_NAMES: tuple[tuple[int, str], ...] = (
    (UP, "UP"),
    (BROADCAST, "BROADCAST"),
    (DEBUG, "DEBUG"),
    (LOOPBACK, "LOOPBACK"),
    (POINTOPOINT, "POINTOPOINT"),
    (RUNNING, "RUNNING"),
    (NOARP, "NOARP"),
    (PROMISC, "PROMISC"),
    (ALLMULTI, "ALLMULTI"),
    (SIMPLEX, "SIMPLEX"),
    (MULTICAST, "MULTICAST"),
    (LOWER_UP, "LOWER_UP"),
)

# Linux IFF_* -> BSD IFF_*: only MULTICAST moves (0x1000 -> 0x8000).
_LINUX_TO_BSD: tuple[tuple[int, int], ...] = (
    (sysif.IFF_UP, UP),
    (sysif.IFF_BROADCAST, BROADCAST),
    (sysif.IFF_DEBUG, DEBUG),
    (sysif.IFF_LOOPBACK, LOOPBACK),
    (sysif.IFF_POINTOPOINT, POINTOPOINT),
    (sysif.IFF_RUNNING, RUNNING),
    (sysif.IFF_NOARP, NOARP),
    (sysif.IFF_PROMISC, PROMISC),
    (sysif.IFF_ALLMULTI, ALLMULTI),
    (sysif.IFF_MULTICAST, MULTICAST),
)

# FreeBSD IFCAP_* names by bit (net/if.h, 14.x), for the `options=` line.
IFCAP_NAMES: tuple[str, ...] = (
    "RXCSUM", "TXCSUM", "NETCONS", "VLAN_MTU", "VLAN_HWTAGGING", "JUMBO_MTU", "POLLING",
    "VLAN_HWCSUM", "TSO4", "TSO6", "LRO", "WOL_UCAST", "WOL_MCAST", "WOL_MAGIC", "TOE4",
    "TOE6", "VLAN_HWFILTER", "NV", "VLAN_HWTSO", "LINKSTATE", "NETMAP", "RXCSUM_IPV6",
    "TXCSUM_IPV6", "HWSTATS", "TXRTLMT", "HWRXTSTMP", "MEXTPG", "TXTLS4", "TXTLS6",
    "VXLAN_HWCSUM", "VXLAN_HWTSO", "TXTLS_RTLMT",
)

# FreeBSD ND6_IFF_* for the `nd6 options=` line.
ND6_PERFORMNUD, ND6_IFDISABLED, ND6_AUTO_LINKLOCAL = 0x1, 0x8, 0x20
_ND6_NAMES: tuple[tuple[int, str], ...] = (
    (ND6_PERFORMNUD, "PERFORMNUD"),
    (0x2, "ACCEPT_RTADV"),
    (0x4, "PREFER_SOURCE"),
    (ND6_IFDISABLED, "IFDISABLED"),
    (0x10, "DONT_SET_IFROUTE"),
    (ND6_AUTO_LINKLOCAL, "AUTO_LINKLOCAL"),
    (0x40, "NO_RADR"),
    (0x80, "NO_PREFER_IFACE"),
    (0x100, "NO_DAD"),
)


def bsd_flags(linux_flags: int, *, lower_up: bool = False) -> int:
    """Translate Linux flags; Ethernet-like links are SIMPLEX on BSD (no own echo)."""
    flags = 0
    for lbit, bbit in _LINUX_TO_BSD:
        if linux_flags & lbit:
            flags |= bbit
    if flags & BROADCAST and not flags & LOOPBACK:
        flags |= SIMPLEX
    if lower_up and linux_flags & sysif.IFF_LOWER_UP:
        flags |= LOWER_UP
    return flags


def printb(value: int, names: tuple[tuple[int, str], ...], *, prefix: str = "") -> str:
    """printb(3)-style `8843<UP,BROADCAST,...>` (value in hex, no 0x unless prefix)."""
    words = [name for bit, name in names if value & bit]
    return f"{prefix}{value:x}<{','.join(words)}>"


def flags_field(flags: int, pol: Policy) -> str:
    if pol.flags_in_0x:  # snprintb new style: "0x", and no <> when 0
        return "flags=" + printb(flags, _BIT_NAMES, prefix="0x") if flags else "flags=0x0"
    return "flags=" + printb(flags, _BIT_NAMES)


def options_line(caps: int) -> str:
    names = tuple((1 << i, n) for i, n in enumerate(IFCAP_NAMES))
    return "\toptions=" + printb(caps, names) + "\n"


def nd6_line(disabled: bool) -> str:
    value = ND6_PERFORMNUD | ND6_AUTO_LINKLOCAL | (ND6_IFDISABLED if disabled else 0)
    return "\tnd6 options=" + printb(value, _ND6_NAMES) + "\n"


# -- an interface's lines --------------------------------------------------------------------


class Lines:
    """What ifconfig may print about an interface, one method per kind of line (a list
    of lines, maybe empty); a personality names the kinds it prints, in its order."""

    def __init__(self, head: str, mtu: int, mac: str | None, index: int, priority: int) -> None:
        self._head = head  # "carp0: flags=..."
        self._mtu = mtu
        self._mac = mac  # None: the interface has no link-level address to show
        self._index = index
        self._priority = priority

    def render(self, kinds: tuple[str, ...]) -> str:
        return "".join(line for kind in kinds for line in getattr(self, kind)())

    def mtu(self) -> list[str]:
        return [f"{self._head} mtu {self._mtu}\n"]

    def metric_mtu(self) -> list[str]:
        return [f"{self._head} metric 0 mtu {self._mtu}\n"]

    def lladdr(self) -> list[str]:
        return [] if self._mac is None else [f"\tlladdr {self._mac}\n"]

    def address(self) -> list[str]:
        return [] if self._mac is None else [f"\taddress: {self._mac}\n"]

    def index(self) -> list[str]:
        return [f"\tindex {self._index} priority {self._priority} llprio 3\n"]


# -- IPv4 arithmetic --------------------------------------------------------------------


def _v4(addr: str) -> int:
    return int.from_bytes(_socket.inet_aton(addr), "big")


def mask_of(prefixlen: int) -> int:
    plen = max(0, min(prefixlen, 32))
    return (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF


def broadcast_of(addr: str, prefixlen: int) -> str:
    """The all-ones host part of the address's subnet."""
    value = _v4(addr) | (~mask_of(prefixlen) & 0xFFFFFFFF)
    return _socket.inet_ntoa(value.to_bytes(4, "big"))


def subnet_broadcast(pol: Policy, addr: str, prefixlen: int) -> str | None:
    """The broadcast a BSD kernel gives an address set without one (in_ifinit), None
    where its ifconfig prints none: the subnet's (a /32's is itself), except where the
    personality's kernel has a rule of its own for RFC 3021 point-to-point subnets."""
    if prefixlen in pol.broadcast_by_prefixlen:
        return pol.broadcast_by_prefixlen[prefixlen]
    return broadcast_of(addr, prefixlen)


# -- address lines ------------------------------------------------------------------------


def inet_line(
    pol: Policy,
    addr: str,
    prefixlen: int,
    broadcast: str | None,
    *,
    vhid: int | None = None,
    bcast_flag: bool = True,
) -> str:
    """`\\tinet A netmask 0xffffff00 broadcast B[ vhid N]`, NetBSD: `\\tinet A/24 ...`.

    `broadcast` is the one set explicitly; None means the kernel's default."""
    shown = (broadcast or subnet_broadcast(pol, addr, prefixlen)) if bcast_flag else None
    bcast = f" broadcast {shown}" if shown else ""
    if pol.addresses_with_prefix:
        return f"\tinet {addr}/{prefixlen}{bcast} flags 0x0\n"
    tail = f" vhid {vhid}" if vhid else ""
    return f"\tinet {addr} netmask 0x{mask_of(prefixlen):x}{bcast}{tail}\n"


def inet6_line(
    pol: Policy,
    addr: str,
    prefixlen: int,
    scope: int,
    ifname: str,
    *,
    vhid: int | None = None,
) -> str:
    """`\\tinet6 fe80::1%em0 prefixlen 64 scopeid 0x1`, NetBSD `fe80::1%wm0/64 flags 0x0 ...`."""
    shown = f"{addr}%{ifname}" if scope else addr
    scopeid = f" scopeid 0x{scope:x}" if scope else ""
    if pol.addresses_with_prefix:
        return f"\tinet6 {shown}/{prefixlen} flags 0x0{scopeid}\n"
    tail = f" vhid {vhid}" if vhid else ""
    return f"\tinet6 {shown} prefixlen {prefixlen}{scopeid}{tail}\n"


# -- media ----------------------------------------------------------------------------------

def media_line(pol: Policy, carrier: bool | None, mbps: int | None, duplex: str | None) -> str:
    """`\\tmedia: Ethernet autoselect (1000baseT full-duplex)` (FreeBSD: `<full-duplex>`)."""
    if not carrier:
        return "\tmedia: Ethernet autoselect (none)\n"
    sub = pol.media_subtypes.get(mbps or 0)
    if sub is None:
        return "\tmedia: Ethernet autoselect\n"
    if duplex:
        opt = f"<{duplex}-duplex>" if pol.media_options_in_angles else f"{duplex}-duplex"
        sub = f"{sub} {opt}"
    return f"\tmedia: Ethernet autoselect ({sub})\n"
