"""Validate a Command and apply it to the store's State, all or nothing.

The work is done on a copy of the State; the caller's State changes only when every
operation succeeded, so a failing command leaves the store byte-identical (BSD's
OpenBSD ifconfig applies keyword by keyword and may leave a partial change: we
deliberately do not).  Errors are raised as `IfconfigError` with the personality's
exact text, in command-line order.

Two shapes of target:
* `carpN`: a cloned carp interface (OpenBSD, NetBSD, FreeBSD <= 9), rules per
  personality.
* any other name: a physical interface carrying FreeBSD 10+ vhids (style "vhid",
  keyed `<if>:<vhid>`); FreeBSD's rules and texts apply whatever the personality.
"""

from __future__ import annotations

import os

from carp import config
from carp.config import CarpInterface, Node, StateRequest
from carp.ifconfig import errors, values
from carp.ifconfig import operations as o
from carp.ifconfig.addresses import Addresses, change_addresses, gather_address
from carp.ifconfig.errors import IfconfigError, fail
from carp.states import BACKUP, MASTER
from carp.store import State

# Names for type checkers only: typing costs ~5 ms at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol

    from carp.personality import Policy

    class SysIfApi(Protocol):
        """What apply needs from carp.sysif (a module satisfies it; tests pass fakes)."""

        def resolve(self, bsd_name: str, state: State) -> str: ...

        def exists(self, linux_name: str) -> bool: ...

        def carpdev_for(self, address: str, prefixlen: int, state: State) -> str | None: ...

        def highest_ifindex(self) -> int: ...

    # A parameter's handler: _Applier's method for the Op class (any: one per class).
    Handler = Callable[["_Applier", CarpInterface, Any], None]


PASS_LEN = config.KEY_LEN - 1  # what strlcpy keeps of `pass`: the key's last byte is a NUL
MAX_DEMOTE = 255


def system_sysif() -> SysIfApi:
    from carp import sysif

    return sysif


def copy_state(state: State) -> State:
    return State.from_dict(state.to_dict())


def is_clone_name(name: str) -> bool:
    # `carp\d+` without re (~8 ms at start-up): str.isdecimal() is exactly re's \d.
    return name.startswith("carp") and name[4:].isdecimal()


# -- the applier ----------------------------------------------------------------------


class _Applier:
    def __init__(self, cmd: o.Command, state: State, sysif: SysIfApi) -> None:
        self.cmd = cmd
        self.state = state
        self.sysif = sysif
        self.pol: Policy = state.policy
        self.name = cmd.ifname
        self.warnings: list[str] = []
        self.touched: set[str] = set()  # store keys this command changed

    # -- shared helpers --------------------------------------------------------------

    def einval(self, ioctl: str = "SIOCSVH") -> IfconfigError:
        return errors.einval(self.pol, self.name, ioctl)

    def linux_exists(self, bsd_name: str) -> bool:
        return self.sysif.exists(self.sysif.resolve(bsd_name, self.state))

    def state_word(self, word: str, clone: bool) -> str | None:
        """The state `state X` names, None for a word a carpN may ignore."""
        state = word if self.pol.exact_state_words else word.upper()
        if state in config.STATES:
            return state
        if clone and self.pol.ignores_unknown_state:
            return None
        raise errors.syntax(self.pol, "unknown state")

    def request_state(self, ci: CarpInterface, word: str, vhid: int | None) -> None:
        """`state X` (vhid None on a carpN): a one-shot request for MASTER or BACKUP;
        INIT and the words a carpN ignores request nothing."""
        state = self.state_word(word, clone=vhid is None)
        if state in (MASTER, BACKUP):
            # A seq no earlier request can have: the generation this commit will get.
            ci.state_request = StateRequest(self.state.generation + 1, state, vhid)

    def atoi_in(self, word: str, low: int, high: int) -> int:
        """atoi(word), which the kernel refuses (EINVAL) outside [low, high]."""
        n = values.atoi(word)
        if not low <= n <= high:
            raise self.einval()
        return n

    # -- cloned carpN -----------------------------------------------------------------

    def clone(self) -> None:
        ops = list(self.cmd.ops)
        ci = self.state.interfaces.get(self.name)
        if ci is not None and ci.style != "clone":  # a vhid's key (`em0:1`) typed as a name
            ci = None
        if ci is None:
            if ops and isinstance(ops[0], o.Create):
                ops.pop(0)
                ci = self.create()
            elif ops and isinstance(ops[0], o.Destroy):
                raise self.destroy_missing()
            elif self.pol.creates_on_first_use:
                ci = self.create()
            else:
                raise errors.no_such_interface(self.pol, self.name)
        self.touched.add(self.name)
        acc = Addresses(family=6 if self.cmd.inet6 else 4)
        alive: CarpInterface | None = ci
        for op in ops:
            if alive is None:
                raise errors.no_such_interface(self.pol, self.name)
            if gather_address(op, acc, self.pol):
                continue
            if isinstance(op, o.Create):
                raise self.exists_error()
            if isinstance(op, o.Destroy):
                del self.state.interfaces[self.name]
                alive = None
                continue
            CLONE_OPS[type(op)](self, alive, op)
        if alive is not None:
            new = change_addresses(alive, acc, self.pol, self.warnings)
            if new is not None and alive.carpdev is None:  # the carpdev on the new subnet
                alive.carpdev = self.sysif.carpdev_for(new.address, new.prefixlen, self.state)
            alive.nodes = [n for n in alive.nodes if n.vhid != 0]

    def create(self) -> CarpInterface:
        if not is_clone_name(self.name):
            raise self.create_invalid()
        ci = CarpInterface(name=self.name, style="clone", index=self.next_index())
        self.state.interfaces[self.name] = ci
        return ci

    def next_index(self) -> int:
        """Above every Linux ifindex and every carp interface's, as a new BSD interface
        gets the next free index; carpd's macvlan later shows its own."""
        used = (ci.index for ci in self.state.interfaces.values())
        return max(self.sysif.highest_ifindex(), *used, 0) + 1

    def create_invalid(self) -> IfconfigError:
        return self.einval(self.pol.create_ioctl)

    def exists_error(self) -> IfconfigError:
        return errors.ioctl(self.pol, self.name, self.pol.create_ioctl, "File exists")

    def destroy_missing(self) -> IfconfigError:
        if self.pol.looks_up_before_destroy:
            return errors.no_such_interface(self.pol, self.name)
        return errors.ioctl(self.pol, self.name, "SIOCIFDESTROY", "Device not configured")

    def clone_number(self, what: str, word: str, low: int, high: int) -> int:
        """A number of the personality's parser, in [low, high] (else its error)."""
        numbers = self.pol.ifconfig_numbers
        if numbers == "strtonum":
            n, err = values.strtonum(word, low, high)
            if err is not None:
                raise fail(f"{what} {word}: {err}")
            return n
        if numbers == "atoi":  # the kernel checks the range
            return self.atoi_in(word, low, high)
        m = values.decimal(word, low, high)
        if m is None:
            raise errors.usage(self.pol)
        return m

    # -- FreeBSD 10+ vhids on a physical interface -------------------------------------

    def physical(self) -> None:
        pol = self.pol
        for op in self.cmd.ops:
            if isinstance(op, o.Create):
                raise self.create_invalid()
            if isinstance(op, o.Destroy):
                raise self.einval("SIOCIFDESTROY")
        if not self.linux_exists(self.name):
            raise errors.no_such_interface(pol, self.name)
        acc = Addresses(family=6 if self.cmd.inet6 else 4)
        vhid: int | None = None
        pending: list[o.Op] = []
        for op in self.cmd.ops:
            if gather_address(op, acc, pol):
                continue
            if isinstance(op, o.SetVhid):
                n = values.atoi(op.value)
                if not 1 <= n <= 255:
                    raise errors.syntax(pol, "vhid must be greater than 0 and less than 255")
                vhid = n
            elif type(op) in VHID_OPS:
                if vhid is None and type(op) not in WITHOUT_VHID:
                    what = REQUIRES_VHID_NAMES.get(type(op), op.word)
                    raise errors.syntax(pol, f"{what} requires vhid")
                if isinstance(op, o.SetState):
                    self.state_word(op.value, clone=False)  # refused in argv order
                pending.append(op)
            elif isinstance(op, o.Up | o.Down | o.SetLladdr | o.AddGroup | o.DelGroup):
                continue  # the physical interface itself is Linux's business, not ours
            else:
                # [-]carpdev, carpnodes, balancing, [-]carppeer: FreeBSD has no such
                # keyword and takes the word as an address.
                raise errors.bad_value(pol, op.word)
        if vhid is None:
            self.physical_addresses_without_vhid(acc)
            return
        self.physical_vhid(vhid, pending, acc)

    def vhid_entries(self) -> list[CarpInterface]:
        return [
            ci
            for ci in self.state.interfaces.values()
            if ci.style == "vhid" and ci.name == self.name
        ]

    def physical_addresses_without_vhid(self, acc: Addresses) -> None:
        """-alias/-inet on the physical interface also drop vhid addresses."""
        for ci in self.vhid_entries():
            before = len(ci.addresses)
            keep = [a for a in ci.addresses if a.family not in acc.remove_family]
            if acc.unalias and acc.address is not None:
                keep = [a for a in keep if a.address != acc.address]
            if len(keep) != before:
                ci.addresses = keep
                self.touched.add(ci.key)
                if not keep:  # removing the last address of a vhid destroys it
                    del self.state.interfaces[ci.key]

    def physical_vhid(self, vhid: int, pending: list[o.Op], acc: Addresses) -> None:
        key = config.vhid_key(self.name, vhid)
        ci = self.state.interfaces.get(key)
        if ci is None:
            ci = CarpInterface(
                name=self.name,
                style="vhid",
                carpdev=self.name,
                nodes=[Node(vhid, 0)],
                up=True,
                index=self.next_index(),
            )
        self.touched.add(key)
        for op in pending:
            VHID_OPS[type(op)](self, ci, op)
        self.state.interfaces[key] = ci
        change_addresses(ci, acc, self.pol, self.warnings)
        if acc.unalias and not ci.addresses:  # removing the last address of a vhid destroys it
            del self.state.interfaces[key]

    # -- parameters: a handler per Op class (CLONE_OPS, VHID_OPS) ------------------------
    # Each validates its value in the personality's words and changes ci.

    def set_up(self, ci: CarpInterface, op: o.Up) -> None:
        ci.up = True

    def set_down(self, ci: CarpInterface, op: o.Down) -> None:
        ci.up = False

    def clone_vhid(self, ci: CarpInterface, op: o.SetVhid) -> None:
        """The vhid; 0 (where it parses) leaves the vhid alone."""
        if self.pol.ifconfig_numbers == "atoi" and values.atoi(op.value) <= 0:  # ifcarp.c's own
            raise fail("vhid must be greater than 0")
        vhid = self.clone_number("vhid", op.value, self.pol.lowest_vhid, 255)
        if vhid:
            skew = ci.nodes[0].advskew if ci.nodes else 0
            ci.nodes = [Node(vhid, skew)]  # leaves carpnodes mode, as OpenBSD does

    def clone_advskew(self, ci: CarpInterface, op: o.SetAdvskew) -> None:
        skew = self.clone_number("advskew", op.value, 0, 254)
        if ci.nodes:
            ci.nodes[0].advskew = skew
        else:  # kept on a vhid-0 placeholder until a vhid arrives (dropped if none)
            ci.nodes = [Node(0, skew)]

    def vhid_advskew(self, ci: CarpInterface, op: o.SetAdvskew) -> None:
        ci.nodes[0].advskew = self.atoi_in(op.value, 0, 254)

    def clone_advbase(self, ci: CarpInterface, op: o.SetAdvbase) -> None:
        base = self.clone_number("advbase", op.value, 0, self.pol.max_advbase)
        if not (self.pol.advbase_zero_keeps and base == 0):
            ci.advbase = base

    def vhid_advbase(self, ci: CarpInterface, op: o.SetAdvbase) -> None:
        if values.atoi(op.value) != 0:  # 0 keeps the current value
            ci.advbase = self.atoi_in(op.value, 1, 255)

    def set_pass(self, ci: CarpInterface, op: o.SetPass) -> None:
        ci.passphrase = op.value[:PASS_LEN]

    def clone_state(self, ci: CarpInterface, op: o.SetState) -> None:
        self.request_state(ci, op.value, None)

    def vhid_state(self, ci: CarpInterface, op: o.SetState) -> None:
        self.request_state(ci, op.value, ci.vhid)

    def set_carpdev(self, ci: CarpInterface, op: o.SetCarpdev) -> None:
        if is_clone_name(op.value) or not self.linux_exists(op.value):
            raise self.einval()
        ci.carpdev = op.value

    def clear_carpdev(self, ci: CarpInterface, op: o.ClearCarpdev) -> None:
        ci.carpdev = None

    def set_carpnodes(self, ci: CarpInterface, op: o.SetCarpnodes) -> None:
        pol = self.pol
        nodes: list[Node] = []
        for node in op.nodes:  # in order: each error is ifconfig's as it meets the entry
            if len(nodes) >= config.MAX_CARPNODES:
                raise errors.syntax(pol, "too many carp nodes")
            if node.vhid is None or node.advskew is None:
                raise errors.syntax(pol, f"non parsable arg: {node.text}")
            vhid, skew = int(node.vhid), int(node.advskew)
            if vhid > 255:
                raise errors.syntax(pol, f"vhid {vhid}: value too large")
            if skew >= 255:
                raise errors.syntax(pol, f"advskew {skew}: value too large")
            nodes.append(Node(vhid, skew))
        vhids = [n.vhid for n in nodes]
        if 0 in vhids or len(set(vhids)) != len(vhids):
            raise self.einval()  # the kernel refuses duplicate (or zero) vhids
        ci.nodes = nodes

    def set_balancing(self, ci: CarpInterface, op: o.SetBalancing) -> None:
        mode = op.value.lower()
        if mode not in config.BALANCING_MODES:
            raise errors.syntax(self.pol, f"balancing {op.value}: unknown mode")
        ci.balancing = mode  # type: ignore[assignment]

    def set_carppeer(self, ci: CarpInterface, op: o.SetCarppeer) -> None:
        word = op.value
        if values.is_inet(word):
            ci.peer = word
            return
        if values.inet6(word) is not None:
            raise errors.syntax(self.pol, "only IPv4 addresses supported for the carppeer")
        import socket  # only for a host name: socket.py costs ~10 ms at start-up

        try:
            infos = socket.getaddrinfo(word, None, socket.AF_INET)
        except (socket.gaierror, UnicodeError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
            raise errors.syntax(self.pol, f"error in parsing address string: {reason}") from None
        ci.peer = str(infos[0][4][0])

    def set_peer(self, ci: CarpInterface, op: o.SetPeer) -> None:
        if not values.is_inet(op.value):
            raise errors.bad_value(self.pol, op.value)
        ci.peer = op.value

    def set_peer6(self, ci: CarpInterface, op: o.SetPeer6) -> None:
        canon = values.inet6(op.value)
        if canon is None:
            raise errors.syntax(self.pol, f"Invalid IPv6 address {op.value}")
        ci.peer6 = canon

    def mcast(self, ci: CarpInterface, op: o.Mcast | o.ClearCarppeer) -> None:
        ci.peer = config.CARP_GROUP_V4

    def mcast6(self, ci: CarpInterface, op: o.Mcast6) -> None:
        ci.peer6 = config.CARP_GROUP_V6

    # FreeBSD 15 VRRPv3 knobs; the kernel validates the ranges (EINVAL).

    def set_carpver(self, ci: CarpInterface, op: o.SetCarpver) -> None:
        # FreeBSD refuses to change the version of an existing vhid; we allow it (carpd
        # restarts the vhost) so the man-page lines replay in order on one host.
        ci.version = self.atoi_in(op.value, 2, 3)

    def set_vrrpprio(self, ci: CarpInterface, op: o.SetVrrpprio) -> None:
        ci.vrrp_prio = self.atoi_in(op.value, 1, 255)

    def set_vrrpinterval(self, ci: CarpInterface, op: o.SetVrrpinterval) -> None:
        ci.vrrp_interval = self.atoi_in(op.value, 1, 4095)

    def add_group(self, ci: CarpInterface, op: o.AddGroup) -> None:
        group = op.value
        if len(group) >= 16:
            raise fail("setifgroup: group name too long")
        if group[-1:].isdigit():
            raise fail("setifgroup: group names may not end in a digit")
        if not group:
            raise fail("SIOCAIFGROUP: Invalid argument")
        if group not in ci.groups:
            ci.groups.append(group)

    def del_group(self, ci: CarpInterface, op: o.DelGroup) -> None:
        if op.value not in ci.groups:
            raise fail("SIOCDIFGROUP: No such file or directory")
        ci.groups.remove(op.value)

    def set_lladdr(self, ci: CarpInterface, op: o.SetLladdr) -> None:
        if op.value == "random":
            raw = bytearray(os.urandom(6))
            raw[0] = (raw[0] & 0xFE) | 0x02  # unicast, locally administered
            ci.lladdr = ":".join(f"{b:02x}" for b in raw)
            return
        mac = values.mac(op.value)
        if mac is None:
            # BSD warns and carries on (warnx), so the command still succeeds.
            self.warnings.append("ifconfig: malformed link-level address\n")
        else:
            ci.lladdr = mac

    # -- invariants ----------------------------------------------------------------------

    def check(self) -> None:
        """Kernel-side checks on the result: one vhid per carpdev (SIOCSVH EINVAL)."""
        by_dev: dict[str, dict[int, str]] = {}
        for key, ci in sorted(self.state.interfaces.items()):
            dev = ci.name if ci.style == "vhid" else ci.carpdev
            if dev is None:
                continue
            seen = by_dev.setdefault(self.sysif.resolve(dev, self.state), {})
            for node in ci.nodes:
                other = seen.get(node.vhid)
                if other is not None and (key in self.touched or other in self.touched):
                    raise self.einval()
                seen[node.vhid] = key


# What each parameter does to a cloned carpN: every Op class but the address words
# (gathered apart, see carp.ifconfig.addresses) and create/destroy (the life cycle).
CLONE_OPS: dict[type[o.Op], Handler] = {
    o.Up: _Applier.set_up,
    o.Down: _Applier.set_down,
    o.SetVhid: _Applier.clone_vhid,
    o.SetAdvskew: _Applier.clone_advskew,
    o.SetAdvbase: _Applier.clone_advbase,
    o.SetPass: _Applier.set_pass,
    o.SetCarpdev: _Applier.set_carpdev,
    o.ClearCarpdev: _Applier.clear_carpdev,
    o.SetState: _Applier.clone_state,
    o.SetCarpnodes: _Applier.set_carpnodes,
    o.SetBalancing: _Applier.set_balancing,
    o.SetCarppeer: _Applier.set_carppeer,
    o.ClearCarppeer: _Applier.mcast,
    o.SetPeer: _Applier.set_peer,
    o.SetPeer6: _Applier.set_peer6,
    o.Mcast: _Applier.mcast,
    o.Mcast6: _Applier.mcast6,
    o.SetCarpver: _Applier.set_carpver,
    o.SetVrrpprio: _Applier.set_vrrpprio,
    o.SetVrrpinterval: _Applier.set_vrrpinterval,
    o.AddGroup: _Applier.add_group,
    o.DelGroup: _Applier.del_group,
    o.SetLladdr: _Applier.set_lladdr,
}

# What each parameter `physical` keeps for the vhid does to a FreeBSD 10+ vhid.
VHID_OPS: dict[type[o.Op], Handler] = {
    o.SetAdvskew: _Applier.vhid_advskew,
    o.SetAdvbase: _Applier.vhid_advbase,
    o.SetPass: _Applier.set_pass,
    o.SetState: _Applier.vhid_state,
    o.SetPeer: _Applier.set_peer,
    o.SetPeer6: _Applier.set_peer6,
    o.Mcast: _Applier.mcast,
    o.Mcast6: _Applier.mcast6,
    o.SetCarpver: _Applier.set_carpver,
    o.SetVrrpprio: _Applier.set_vrrpprio,
    o.SetVrrpinterval: _Applier.set_vrrpinterval,
}

# The VHID_OPS FreeBSD's ifconfig takes before any `vhid` (they go to the last one named);
# the others are `... requires vhid`, two of them named in ifcarp.c's words.
WITHOUT_VHID: tuple[type[o.Op], ...] = (o.SetPeer, o.SetPeer6, o.Mcast, o.Mcast6)
REQUIRES_VHID_NAMES: dict[type[o.Op], str] = {o.SetPass: "passwd", o.SetCarpver: "version"}


def apply(cmd: o.Command, state: State, sysif: SysIfApi | None = None) -> list[str]:
    """Apply cmd to state (in place, only on success); return the warnings to print."""
    work = copy_state(state)
    applier = _Applier(cmd, work, sysif if sysif is not None else system_sysif())
    if is_clone_name(cmd.ifname) or cmd.ifname in work.interfaces:
        applier.clone()
    else:
        applier.physical()
    applier.check()
    state.interfaces = work.interfaces
    return applier.warnings


def apply_demote(state: State, group: str, delta: int) -> None:
    """`-g group [-]carpdemote [N]`: adjust the group's demotion counter (0..255)."""
    attrs = dict(state.groups.get(group, {}))
    attrs["carpdemote"] = max(0, min(MAX_DEMOTE, attrs.get("carpdemote", 0) + delta))
    # New dicts, not in-place edits: Store.transaction() compares against a snapshot
    # that shares the old dicts (State.to_dict does not copy `groups`).
    state.groups = {**state.groups, group: attrs}
