"""Validate a Command and apply it to the store's State, all or nothing.

The work is done on a copy of the State; the caller's State changes only when every
operation succeeded, so a failing command leaves the store byte-identical (BSD's
OpenBSD ifconfig applies keyword by keyword and may leave a partial change: we
deliberately do not).  Errors are raised as `IfconfigError` with the personality's
exact text, in command-line order.

Two shapes of target, each with its applier (carp.ifconfig.apply_common has what they
share):
* `carpN`: a cloned carp interface (OpenBSD, NetBSD, FreeBSD <= 9), rules per
  personality: carp.ifconfig.apply_clone.
* any other name: a physical interface carrying FreeBSD 10+ vhids (style "vhid",
  keyed `<if>:<vhid>`); FreeBSD's rules and texts apply whatever the personality:
  carp.ifconfig.apply_vhid.  Its own change (addresses without a vhid, up/down, mtu)
  is planned here and made by the caller through netlink (carp.ifconfig.link_plan).
"""

from __future__ import annotations

from carp.ifconfig import operations as o
from carp.ifconfig.apply_common import Applier, is_clone_name
from carp.ifconfig.link_plan import LinkPlan
from carp.record import record
from carp.store import State

# Names for type checkers only: typing costs ~5 ms at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class SysIfApi(Protocol):
        """What apply needs from carp.sysif (a module satisfies it; tests pass fakes)."""

        def resolve(self, bsd_name: str, state: State) -> str: ...

        def exists(self, linux_name: str) -> bool: ...

        def carpdev_for(self, address: str, prefixlen: int, state: State) -> str | None: ...

        def highest_ifindex(self) -> int: ...

        def inet_addresses(self, linux_name: str) -> list[tuple[str, int]]: ...

    class NetlinkApi(Protocol):
        """What the write path needs to change a Linux interface (carp.daemon.links)."""

        def change(self, linux_name: str, plan: LinkPlan) -> None: ...


MAX_DEMOTE = 255


@record
class Outcome:
    """What applying a command leaves to do after the store's part: warnings to print
    and the change to the Linux interface itself (empty for carp's own)."""

    warnings: list[str]
    link: LinkPlan


def system_sysif() -> SysIfApi:
    from carp import sysif

    return sysif


def system_netlink() -> NetlinkApi:
    from carp.daemon import links as netlink  # pyroute2: only a command that changes a link

    return netlink


def copy_state(state: State) -> State:
    return State.from_dict(state.to_dict())


def applier_for(name: str, state: State) -> type[Applier]:
    # Imported here: a command needs one of the two, and each costs 1-2 ms at start-up.
    if is_clone_name(name) or name in state.interfaces:
        from carp.ifconfig.apply_clone import CloneApplier

        return CloneApplier
    from carp.ifconfig.apply_vhid import VhidApplier

    return VhidApplier


def apply(cmd: o.Command, state: State, sysif: SysIfApi | None = None) -> Outcome:
    """Apply cmd to state (in place, only on success); the warnings and the link change
    are the caller's to print and make."""
    work = copy_state(state)
    kind = applier_for(cmd.ifname, work)
    applier = kind(cmd, work, sysif if sysif is not None else system_sysif())
    applier.run()
    applier.check()
    state.interfaces = work.interfaces
    return Outcome(applier.warnings, applier.link)


def apply_demote(state: State, group: str, delta: int) -> None:
    """`-g group [-]carpdemote [N]`: adjust the group's demotion counter (0..255)."""
    attrs = dict(state.groups.get(group, {}))
    attrs["carpdemote"] = max(0, min(MAX_DEMOTE, attrs.get("carpdemote", 0) + delta))
    # New dicts, not in-place edits: Store.transaction() compares against a snapshot
    # that shares the old dicts (State.to_dict does not copy `groups`).
    state.groups = {**state.groups, group: attrs}
