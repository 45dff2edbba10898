"""The carp parts of ifconfig output: carpN interfaces and FreeBSD vhid blocks.

Configuration (vhid, advbase, advskew, carpdev, addresses) comes from the store, runtime
state from carpd's published status; without carpd every vhid reads INIT, as a kernel
whose carp has not run yet would show.
"""

from __future__ import annotations

from carp.config import CARP_GROUP_V4, CARP_GROUP_V6, STATES, Address, CarpInterface
from carp.ifconfig import render_fmt as fmt
from carp.states import BACKUP, INIT, MASTER

TYPE_CHECKING = False  # typing costs ~5 ms at start-up; only type checkers need it
if TYPE_CHECKING:
    from typing import Any

    from carp.personality import Policy
    from carp.sysif import SysIf

    Status = dict[str, Any] | None

CARP_PRIORITY = 15  # OpenBSD if_priority of a carp interface


def vhid_state(status: Status, key: str, vhid: int) -> str:
    if not status:
        return INIT
    try:
        state = status["vhosts"][key][str(vhid)]["state"]
    except (KeyError, TypeError):
        return INIT
    return state if state in STATES else "<UNKNOWN>"  # OpenBSD's text for out-of-range


def link_status(ci: CarpInterface, status: Status) -> str:
    """OpenBSD `status:` of a carpN: master if any vhid is, else backup, else invalid."""
    states = {vhid_state(status, ci.key, n.vhid) for n in ci.nodes}
    if MASTER in states:
        return "master"
    return "backup" if BACKUP in states else "invalid"


def carp_flags(ci: CarpInterface, pol: Policy) -> int:
    """UP as configured, RUNNING once it has a parent; FreeBSD<=9 carp was LOOPBACK-typed."""
    if pol.carp_is_loopback:
        # Legacy FreeBSD found its parent by subnet, so an address also makes it run.
        running = ci.up and ci.vhid > 0 and bool(ci.carpdev or ci.addresses)
        return fmt.LOOPBACK | (fmt.UP if ci.up else 0) | (fmt.RUNNING if running else 0)
    flags = fmt.BROADCAST | fmt.SIMPLEX | fmt.MULTICAST
    if ci.up:
        flags |= fmt.UP
        if ci.carpdev:
            flags |= fmt.RUNNING
    return flags


# -- carp lines ---------------------------------------------------------------------------


def carpnodes_lines(ci: CarpInterface, status: Status) -> list[str]:
    """OpenBSD: one carp line, or a carpdev/balancing line and a line per carpnode."""
    if not ci.nodes:  # no vhid yet: OpenBSD prints no carp line at all
        return []
    dev = ci.carpdev or "none"
    peer = f" carppeer {ci.peer}" if ci.peer and ci.peer != CARP_GROUP_V4 else ""
    if len(ci.nodes) == 1:
        n = ci.nodes[0]
        state = vhid_state(status, ci.key, n.vhid)
        return [
            f"\tcarp: {state} carpdev {dev} vhid {n.vhid} advbase {ci.advbase}"
            f" advskew {n.advskew}{peer}\n"
        ]
    mode = ci.effective_balancing
    lines = [f"\tcarp: carpdev {dev} advbase {ci.advbase} balancing {mode}{peer}\n"]
    for n in ci.nodes:
        state = vhid_state(status, ci.key, n.vhid)
        lines.append(f"\t\tstate {state} vhid {n.vhid} advskew {n.advskew}\n")
    return lines


def per_vhid_lines(ci: CarpInterface, status: Status, *, carpdev: bool = True) -> list[str]:
    """NetBSD: a carp line per vhid (carpdev: the parent, not shown on the parent itself)."""
    dev = f" carpdev {ci.carpdev or 'none'}" if carpdev else ""
    return [
        f"\tcarp: {vhid_state(status, ci.key, n.vhid)}{dev} vhid {n.vhid}"
        f" advbase {ci.advbase} advskew {n.advskew}\n"
        for n in ci.nodes
        if n.vhid > 0
    ]


def vhid_lines(
    ci: CarpInterface, status: Status, *, show_key: bool, peer_line: bool
) -> list[str]:
    """FreeBSD carp.c: a carp (14+: and peer) line per vhid, or a vrrp line for carpver 3."""
    lines: list[str] = []
    for n in ci.nodes:
        state = vhid_state(status, ci.key, n.vhid)
        if ci.version == 3:
            lines.append(
                f"\tvrrp: {state} vrid {n.vhid} prio {ci.vrrp_prio} interval {ci.vrrp_interval}\n"
            )
            continue
        key = f' key "{ci.passphrase}"' if show_key and ci.passphrase else ""
        lines.append(
            f"\tcarp: {state} vhid {n.vhid} advbase {ci.advbase} advskew {n.advskew}{key}\n"
        )
        if peer_line:  # 14.0+: TAB and six spaces, under the carp line's text
            peer, peer6 = ci.peer or CARP_GROUP_V4, ci.peer6 or CARP_GROUP_V6
            lines.append(f"\t      peer {peer} peer6 {peer6}\n")
    return lines


# -- addresses --------------------------------------------------------------------------------


def address_lines(
    pol: Policy,
    ifname: str,
    addresses: list[Address],
    *,
    index: int,
    bcast_flag: bool,
    first_v4_only: bool = False,
    with_vhid: bool = False,
) -> list[str]:
    """The configured addresses, in the order they were set."""
    lines: list[str] = []
    seen_v4 = False
    for a in addresses:
        vhid = a.vhid if with_vhid else None
        if a.family == 4:
            if first_v4_only and seen_v4:
                continue
            seen_v4 = True
            line = fmt.inet_line(
                pol, a.address, a.prefixlen, a.broadcast, vhid=vhid, bcast_flag=bcast_flag
            )
        else:
            scope = index if a.address.lower().startswith("fe80:") else 0
            line = fmt.inet6_line(pol, a.address, a.prefixlen, scope, ifname, vhid=vhid)
        lines.append(line)
    return lines


# -- whole carpN interface ---------------------------------------------------------------


class CarpLines(fmt.Lines):
    """What ifconfig may print about a carpN (pol.carp_interface_lines picks)."""

    def __init__(
        self, ci: CarpInterface, pol: Policy, status: Status, macvlan: SysIf | None,
        mtu: int, mac: str, show_key: bool, first_v4_only: bool,
    ) -> None:
        self._flags = carp_flags(ci, pol)
        head = f"{ci.name}: {fmt.flags_field(self._flags, pol)}"
        super().__init__(head, mtu, mac, macvlan.index if macvlan else ci.index, CARP_PRIORITY)
        self._ci, self._pol, self._status, self._macvlan = ci, pol, status, macvlan
        self._show_key, self._first_v4_only = show_key, first_v4_only

    def carpnodes(self) -> list[str]:
        return carpnodes_lines(self._ci, self._status)

    def carp_per_vhid(self) -> list[str]:
        return per_vhid_lines(self._ci, self._status)

    def carp_vhid(self) -> list[str]:
        return vhid_lines(self._ci, self._status, show_key=self._show_key, peer_line=False)

    def groups(self) -> list[str]:
        groups = [g for g in self._ci.groups if g != "all"]
        return [f"\tgroups: {' '.join(groups)}\n"] if groups else []

    def status(self) -> list[str]:
        return [f"\tstatus: {link_status(self._ci, self._status)}\n"]

    def link_local(self) -> list[str]:
        # Only the link-local comes from Linux: the VIPs on the macvlan mirror the store.
        found = [(a, p, s) for a, p, s in self._macvlan.v6 if s] if self._macvlan else []
        return [fmt.inet6_line(self._pol, a, p, s, self._ci.name) for a, p, s in found]

    def addresses(self) -> list[str]:
        return address_lines(
            self._pol, self._ci.name, self._ci.addresses, index=self._index,
            bcast_flag=bool(self._flags & fmt.BROADCAST), first_v4_only=self._first_v4_only,
        )


def render_carp(
    ci: CarpInterface,
    pol: Policy,
    status: Status,
    *,
    macvlan: SysIf | None,
    mtu: int,
    mac: str,
    show_key: bool = False,
    first_v4_only: bool = False,
) -> str:
    lines = CarpLines(ci, pol, status, macvlan, mtu, mac, show_key, first_v4_only)
    return lines.render(pol.carp_interface_lines)
