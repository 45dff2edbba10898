"""BSD `ifconfig` output for the personality in State.personality (docs/userland.md §2).

Every function returns text ready for sys.stdout.write (each line ends in a newline),
or None where the interface or group does not exist.  Names are BSD-visible: carp
interfaces from the store, Linux interfaces through the BSD name map.  The macvlans
carpd creates are implementation details: a carpN's macvlan is shown as carpN, a
FreeBSD vhid's macvlan is not shown at all (its vhid shows on its parent).
"""

from __future__ import annotations

from carp import sysif
from carp.config import CarpInterface, interface_mac
from carp.ifconfig import render_fmt as fmt
from carp.ifconfig.render_carp import carp_flags, render_carp
from carp.ifconfig.render_phys import groups_of, phys_flags, render_phys
from carp.sysif import SysIf

TYPE_CHECKING = False  # typing costs ~5 ms at start-up; only type checkers need it
if TYPE_CHECKING:
    from carp.ifconfig.render_carp import Status
    from carp.personality import Policy
    from carp.store import State

# What `ifconfig -C` lists: our carp plus the BSD cloners whose Linux counterpart
# (bridge, 802.1Q vlan) has the same meaning and naming.
CLONERS: tuple[str, ...] = ("bridge", "carp", "vlan")

# One row of -a: (BSD-visible name, the carp interface or the Linux facts).
Entry = tuple[str, CarpInterface | SysIf]


def _clones(state: State) -> dict[str, CarpInterface]:
    return {ci.name: ci for ci in state.interfaces.values() if ci.style == "clone"}


def _vhids_on(linux: str, state: State) -> list[CarpInterface]:
    found = [
        ci
        for ci in state.interfaces.values()
        if ci.style == "vhid" and sysif.resolve(ci.name, state) == linux
    ]
    return sorted(found, key=lambda ci: ci.vhid)  # creation order is not kept: vhid order


def _entries(state: State) -> list[Entry]:
    """Everything -a shows, in ifindex order; carpN without a macvlan (carpd down) last."""
    by_link = {ci.linux_name: ci for ci in _clones(state).values()}
    hidden = {ci.linux_name for ci in state.interfaces.values() if ci.style == "vhid"}
    out: list[Entry] = []
    shown: set[str] = set()
    for linux in sysif.names():
        if linux in hidden:
            continue
        ci = by_link.get(linux)
        if ci is not None:
            out.append((ci.name, ci))
            shown.add(ci.name)
            continue
        facts = sysif.get(linux)
        if facts is not None:
            out.append((sysif.bsd_name(linux, state), facts))
    rest = [ci for ci in by_link.values() if ci.name not in shown]
    out += [(ci.name, ci) for ci in sorted(rest, key=lambda c: (c.index, c.name))]
    return out


def _flags(entry: Entry, pol: Policy) -> int:
    obj = entry[1]
    if isinstance(obj, CarpInterface):
        return carp_flags(obj, pol)
    return phys_flags(obj, pol)


def _wanted(entry: Entry, pol: Policy, up_only: bool, down_only: bool) -> bool:
    up = bool(_flags(entry, pol) & fmt.UP)
    return not (up_only and not up) and not (down_only and up)


def _groups(entry: Entry, egress: set[str]) -> list[str]:
    """Every group the interface is in: `all` (if_attach puts each interface there), a
    carp interface's own, `lo`, and `egress` for the names in `egress`."""
    obj = entry[1]
    own = obj.groups if isinstance(obj, CarpInterface) else groups_of(obj, egress)
    return ["all", *own]


def _egress(pol: Policy) -> set[str]:
    return sysif.default_route_devices() if pol.egress_group else set()


def _listed(state: State, up_only: bool, down_only: bool, group: str | None) -> list[Entry]:
    """What -a and -l list: -u/-d by flags, FreeBSD's -g by group_member(), whose
    fnmatch(3) pattern fnmatchcase follows (but for backslash escapes)."""
    pol = state.policy
    out = [e for e in _entries(state) if _wanted(e, pol, up_only, down_only)]
    if group is None:
        return out
    from fnmatch import fnmatchcase  # only here: re costs every front end's start-up

    egress = _egress(pol)
    return [e for e in out if any(fnmatchcase(g, group) for g in _groups(e, egress))]


def _render(
    entry: Entry,
    state: State,
    status: Status,
    *,
    show_key: bool = False,
    first_v4_only: bool = False,
) -> str:
    name, obj = entry
    if isinstance(obj, CarpInterface):
        macvlan = sysif.get(obj.linux_name, kind="macvlan")  # carpd's, if it runs
        mtu = sysif.mtu(sysif.resolve(obj.carpdev, state)) if obj.carpdev else None
        return render_carp(
            obj, state.policy, status, macvlan=macvlan, mtu=mtu or 1500,
            mac=interface_mac(obj), show_key=show_key, first_v4_only=first_v4_only,
        )
    return render_phys(
        obj, name, state.policy, status, _vhids_on(obj.name, state),
        show_key=show_key, first_v4_only=first_v4_only,
    )


def _lookup(name: str, state: State) -> Entry | None:
    ci = _clones(state).get(name)
    if ci is not None:
        return (name, ci)
    linux = sysif.resolve(name, state)
    if any(c.linux_name == linux for c in state.interfaces.values()):
        return None  # a carp macvlan under its Linux name: not a BSD-visible interface
    facts = sysif.get(linux)
    if facts is None:
        return None
    return (sysif.bsd_name(linux, state), facts)


# -- the API the ifconfig CLI calls --------------------------------------------------------


def show_interface(
    name: str, state: State, status: Status, *, show_key: bool = False
) -> str | None:
    """`ifconfig NAME`; None when there is no such interface."""
    entry = _lookup(name, state)
    if entry is None:
        return None
    return _render(entry, state, status, show_key=show_key)


def show_all(
    state: State,
    status: Status,
    *,
    all_aliases: bool = False,
    up_only: bool = False,
    down_only: bool = False,
    group: str | None = None,
) -> str:
    """`ifconfig -a` (-A: all_aliases, -u/-d: up_only/down_only, -g: group)."""
    first_only = state.policy.lists_first_inet_only and not all_aliases
    return "".join(
        _render(e, state, status, first_v4_only=first_only)
        for e in _listed(state, up_only, down_only, group)
    )


def list_names(
    state: State,
    status: Status,
    *,
    up_only: bool = False,
    down_only: bool = False,
    group: str | None = None,
) -> str:
    """`ifconfig -l`: names separated by single spaces, newline at the end."""
    return " ".join(e[0] for e in _listed(state, up_only, down_only, group)) + "\n"


def list_cloners(state: State) -> str:
    """`ifconfig -C`: cloner names, sorted, space separated."""
    return " ".join(sorted(CLONERS)) + "\n"


def _members(group: str, state: State) -> list[Entry]:
    egress = _egress(state.policy)
    return [e for e in _entries(state) if group in _groups(e, egress)]


def show_group(group: str, state: State, status: Status) -> str | None:
    """`ifconfig carp`: every member of the group in full; None when it has none."""
    members = _members(group, state)
    if not members:
        return None
    return "".join(_render(e, state, status) for e in members)


def list_group_members(group: str, state: State) -> str:
    """FreeBSD's `ifconfig -g carp`: each member's name on a line; "" for no such group."""
    return "".join(f"{name}\n" for name, _ in _members(group, state))


def show_group_attrs(group: str, state: State, status: Status) -> str:
    """`ifconfig -g carp`: `carp: carp demote count N` (carpd's live count when it runs)."""
    count: int | None = None
    if status:
        live = status.get("groups")
        if isinstance(live, dict) and isinstance(live.get(group), int):
            count = live[group]
    if count is None:
        count = int(state.groups.get(group, {}).get("carpdemote", 0) or 0)
    return f"{group}: carp demote count {count}\n"
