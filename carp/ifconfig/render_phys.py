"""Linux interfaces shown the BSD way, with any FreeBSD-style vhids living on them."""

from __future__ import annotations

from carp import sysif
from carp.config import Address, CarpInterface
from carp.ifconfig import render_carp as rc
from carp.ifconfig import render_fmt as fmt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.ifconfig.render_carp import Status
    from carp.sysif import SysIf

_NO_MEDIA_KINDS = ("loopback", "bridge", "tun", "ipip", "sit", "gre", "wireguard")


def phys_flags(facts: SysIf, personality: str) -> int:
    return fmt.bsd_flags(facts.flags, lower_up=personality == "freebsd")


def has_media(facts: SysIf) -> bool:
    """Only Ethernet-like links have media/status lines on BSD (not lo, bridge, tunnels)."""
    return facts.kind not in _NO_MEDIA_KINDS and not facts.flags & sysif.IFF_LOOPBACK


def groups_of(facts: SysIf, egress: set[str]) -> list[str]:
    """OpenBSD's automatic groups: `lo` for loopback, `egress` for the default route."""
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


def _address_block(
    personality: str,
    display: str,
    facts: SysIf,
    vhids: list[CarpInterface],
    *,
    first_v4_only: bool,
) -> list[str]:
    """inet then inet6 (FreeBSD's order); OpenBSD shows the link-local first, as after ifup."""
    bflag = bool(facts.flags & sysif.IFF_BROADCAST)
    vaddrs = _vhid_addresses(vhids)
    v4, v6 = _own_addresses(facts, vaddrs)
    inet = [fmt.inet_line(personality, a, p, b, bcast_flag=bflag) for a, p, b in v4]
    inet += rc.address_lines(personality, display, [a for a in vaddrs if a.family == 4],
                             index=facts.index, bcast_flag=bflag, with_vhid=True)  # fmt: skip
    if first_v4_only:
        inet = inet[:1]
    ll = [fmt.inet6_line(personality, a, p, s, display) for a, p, s in v6 if s]
    other = [fmt.inet6_line(personality, a, p, s, display) for a, p, s in v6 if not s]
    other += rc.address_lines(personality, display, [a for a in vaddrs if a.family == 6],
                              index=facts.index, bcast_flag=bflag, with_vhid=True)  # fmt: skip
    if personality == "openbsd":
        return ll + inet + other
    return inet + ll + other


def render_phys(
    facts: SysIf,
    display: str,
    personality: str,
    status: Status,
    vhids: list[CarpInterface],
    *,
    show_key: bool = False,
    first_v4_only: bool = False,
) -> str:
    flags = phys_flags(facts, personality)
    head = f"{display}: {fmt.flags_field(flags, personality)}"
    media = has_media(facts)
    loop = bool(facts.flags & sysif.IFF_LOOPBACK)
    addrs = _address_block(personality, display, facts, vhids, first_v4_only=first_v4_only)
    carp: list[str] = []
    for ci in vhids:
        if personality == "freebsd":
            carp += rc.freebsd_carp_lines(ci, status, show_key=show_key, peer_line=True)
        else:  # no vhids on physical interfaces there: show them the NetBSD carp way
            carp += rc.netbsd_carp_lines(ci, status, carpdev=False)
    media_lines: list[str] = []
    if media:
        mbps, duplex = sysif.speed(facts.name)
        media_lines = [
            fmt.media_line(personality, facts.carrier, mbps, duplex),
            f"\tstatus: {_status_word(facts)}\n",
        ]
    if personality == "freebsd":
        lines = [f"{head} metric 0 mtu {facts.mtu}\n"]
        caps = sysif.capabilities(facts.name)
        if caps is not None:
            lines.append(fmt.options_line(caps))
        if not loop and facts.mac:
            lines.append(f"\tether {facts.mac}\n")
        lines += addrs + carp
        if loop:
            lines.append("\tgroups: lo\n")
        lines += media_lines
        lines.append(fmt.nd6_line(sysif.ipv6_disabled(facts.name)))
        return "".join(lines)
    if personality == "netbsd":
        lines = [f"{head} mtu {facts.mtu}\n"] + carp
        if not loop:
            lines.append(f"\taddress: {facts.mac}\n")
        return "".join(lines + media_lines + addrs)
    lines = [f"{head} mtu {facts.mtu}\n"]
    if not loop:
        lines.append(f"\tlladdr {facts.mac}\n")
    lines.append(f"\tindex {facts.index} priority 0 llprio 3\n")
    lines += carp
    groups = groups_of(facts, sysif.default_route_devices())
    if groups:
        lines.append(f"\tgroups: {' '.join(groups)}\n")
    return "".join(lines + media_lines + addrs)
