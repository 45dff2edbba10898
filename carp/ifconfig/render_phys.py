"""Linux interfaces shown the BSD way, with any FreeBSD-style vhids living on them."""

from __future__ import annotations

from carp import sysif
from carp.config import Address, CarpInterface
from carp.ifconfig import render_carp as rc
from carp.ifconfig import render_fmt as fmt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.ifconfig.render_carp import Status
    from carp.personality import Policy
    from carp.sysif import SysIf

_NO_MEDIA_KINDS = ("loopback", "bridge", "tun", "ipip", "sit", "gre", "wireguard")


def phys_flags(facts: SysIf, pol: Policy) -> int:
    return fmt.bsd_flags(facts.flags, lower_up=pol.shows_lower_up)


def has_media(facts: SysIf) -> bool:
    """Only Ethernet-like links have media/status lines on BSD (not lo, bridge, tunnels)."""
    return facts.kind not in _NO_MEDIA_KINDS and not facts.flags & sysif.IFF_LOOPBACK


def groups_of(facts: SysIf, egress: set[str]) -> list[str]:
    """The automatic groups: `lo` for loopback, `egress` for the default route (pass an
    empty egress where the personality has no such group)."""
    if facts.flags & sysif.IFF_LOOPBACK:
        return ["lo"]
    return ["egress"] if facts.name in egress else []


def _status_word(facts: SysIf) -> str:
    return "active" if facts.carrier else "no carrier"


def _own_addresses(
    facts: SysIf, vhid_addrs: list[Address]
) -> tuple[list[tuple[str, int, str | None]], list[tuple[str, int, int]]]:
    # An address both on the link and bound to a vhid is shown once, with its vhid.
    taken = {a.address for a in vhid_addrs}
    return (
        [v for v in facts.v4 if v[0] not in taken],
        [v for v in facts.v6 if v[0] not in taken],
    )


def _vhid_addresses(vhids: list[CarpInterface]) -> list[Address]:
    out: list[Address] = []
    for ci in vhids:
        out += [
            Address(a.address, a.prefixlen, a.broadcast, a.vhid or ci.vhid) for a in ci.addresses
        ]
    return out


class PhysicalLines(fmt.Lines):
    """What ifconfig may print about a physical interface (pol.physical_interface_lines
    picks)."""

    def __init__(
        self, facts: SysIf, display: str, pol: Policy, status: Status,
        vhids: list[CarpInterface], show_key: bool, first_v4_only: bool,
    ) -> None:
        loop = bool(facts.flags & sysif.IFF_LOOPBACK)
        head = f"{display}: {fmt.flags_field(phys_flags(facts, pol), pol)}"
        super().__init__(head, facts.mtu, None if loop else facts.mac, facts.index, 0)
        self._facts, self._display, self._pol, self._status = facts, display, pol, status
        self._vhids, self._show_key, self._first_v4_only = vhids, show_key, first_v4_only
        self._bflag = bool(facts.flags & sysif.IFF_BROADCAST)
        self._vaddrs = _vhid_addresses(vhids)
        self._v4, self._v6 = _own_addresses(facts, self._vaddrs)

    def options(self) -> list[str]:
        caps = sysif.capabilities(self._facts.name)
        return [] if caps is None else [fmt.options_line(caps)]

    def ether(self) -> list[str]:
        return [f"\tether {self._mac}\n"] if self._mac else []

    def carp_per_vhid(self) -> list[str]:
        status = self._status
        return [line for ci in self._vhids for line in rc.per_vhid_lines(ci, status, carpdev=False)]

    def carp_vhid(self) -> list[str]:
        return [
            line
            for ci in self._vhids
            for line in rc.vhid_lines(ci, self._status, show_key=self._show_key, peer_line=True)
        ]

    def groups(self) -> list[str]:
        egress = sysif.default_route_devices() if self._pol.egress_group else set()
        found = groups_of(self._facts, egress)
        return [f"\tgroups: {' '.join(found)}\n"] if found else []

    def media(self) -> list[str]:
        if not has_media(self._facts):
            return []
        mbps, duplex = sysif.speed(self._facts.name)
        return [
            fmt.media_line(self._pol, self._facts.carrier, mbps, duplex),
            f"\tstatus: {_status_word(self._facts)}\n",
        ]

    def _vhid_lines(self, family: int) -> list[str]:
        addrs = [a for a in self._vaddrs if a.family == family]
        return rc.address_lines(self._pol, self._display, addrs, index=self._facts.index,
                                bcast_flag=self._bflag, with_vhid=True)

    def inet(self) -> list[str]:
        pol, bflag = self._pol, self._bflag
        lines = [fmt.inet_line(pol, a, p, b, bcast_flag=bflag) for a, p, b in self._v4]
        lines += self._vhid_lines(4)
        return lines[:1] if self._first_v4_only else lines

    def link_local(self) -> list[str]:
        return [fmt.inet6_line(self._pol, a, p, s, self._display) for a, p, s in self._v6 if s]

    def inet6(self) -> list[str]:
        pol, name = self._pol, self._display
        lines = [fmt.inet6_line(pol, a, p, s, name) for a, p, s in self._v6 if not s]
        return lines + self._vhid_lines(6)

    def nd6(self) -> list[str]:
        return [fmt.nd6_line(sysif.ipv6_disabled(self._facts.name))]


def render_phys(
    facts: SysIf,
    display: str,
    pol: Policy,
    status: Status,
    vhids: list[CarpInterface],
    *,
    show_key: bool = False,
    first_v4_only: bool = False,
) -> str:
    lines = PhysicalLines(facts, display, pol, status, vhids, show_key, first_v4_only)
    return lines.render(pol.physical_interface_lines)
