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
from carp.config import Address, CarpInterface, Node, StateRequest
from carp.ifconfig import errors, values
from carp.ifconfig import operations as o
from carp.ifconfig.addresses import Addresses, final_prefixlen, gather_address, no_such_address
from carp.ifconfig.errors import IfconfigError, fail
from sysctl.store import State

# A type-checking-only Protocol: typing costs ~5 ms at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class SysIfApi(Protocol):
        """What apply needs from carp.sysif (a module satisfies it; tests pass fakes)."""

        def resolve(self, bsd_name: str, state: State) -> str: ...

        def exists(self, linux_name: str) -> bool: ...

        def carpdev_for(self, address: str, prefixlen: int, state: State) -> str | None: ...

        def highest_ifindex(self) -> int: ...


KEY_LEN = 19  # CARP_KEY_LEN 20 including the NUL
MAX_DEMOTE = 255


def system_sysif() -> SysIfApi:
    from carp import sysif

    return sysif  # type: ignore[return-value]


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
        self.p = state.personality
        self.name = cmd.ifname
        self.warnings: list[str] = []
        self.touched: set[str] = set()  # store keys this command changed

    # -- shared helpers --------------------------------------------------------------

    def einval(self, ioctl: str = "SIOCSVH") -> IfconfigError:
        return errors.einval(self.p, self.name, ioctl)

    def linux_exists(self, bsd_name: str) -> bool:
        return self.sysif.exists(self.sysif.resolve(bsd_name, self.state))

    def state_request(self, word: str, vhid: int | None) -> StateRequest | None:
        """`state X` per personality: a request for MASTER/BACKUP, None for a no-op."""
        if self.p == "openbsd" and vhid is None:
            # Unknown words are silently ignored; init is a no-op.
            upper = word.upper()
        elif self.p == "netbsd" and vhid is None:
            if word not in config.STATES:
                raise errors.usage(self.p)
            upper = word
        else:
            upper = word.upper()
            if upper not in config.STATES:
                raise fail("unknown state")
        if upper not in ("MASTER", "BACKUP"):
            return None
        # A seq no earlier request can have: the generation this commit will get.
        return StateRequest(seq=self.state.generation + 1, state=upper, vhid=vhid)

    def peer(self, word: str) -> str:
        if values.is_inet(word):
            return word
        raise errors.bad_value(self.p, word)

    def peer6(self, word: str) -> str:
        canon = values.inet6(word)
        if canon is None:
            raise errors.syntax(self.p, f"Invalid IPv6 address {word}")
        return canon

    def carppeer(self, word: str) -> str:
        if values.is_inet(word):
            return word
        if values.inet6(word) is not None:
            raise errors.syntax(self.p, "only IPv4 addresses supported for the carppeer")
        import socket  # only for a host name: socket.py costs ~10 ms at start-up

        try:
            infos = socket.getaddrinfo(word, None, socket.AF_INET)
        except (socket.gaierror, UnicodeError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
            raise errors.syntax(self.p, f"error in parsing address string: {reason}") from None
        return str(infos[0][4][0])

    def lladdr(self, word: str) -> str | None:
        if word == "random":
            raw = bytearray(os.urandom(6))
            raw[0] = (raw[0] & 0xFE) | 0x02  # unicast, locally administered
            return ":".join(f"{b:02x}" for b in raw)
        canon = values.mac(word)
        if canon is None:
            # BSD warns and carries on (warnx), so the command still succeeds.
            self.warnings.append("ifconfig: malformed link-level address\n")
        return canon

    # -- cloned carpN -----------------------------------------------------------------

    def clone(self) -> None:
        ops = list(self.cmd.ops)
        ci = self.state.interfaces.get(self.name)
        if ci is not None and ci.style != "clone":  # pragma: no cover - keys differ
            ci = None
        if ci is None:
            if ops and isinstance(ops[0], o.Create):
                ops.pop(0)
                ci = self.create()
            elif ops and isinstance(ops[0], o.Destroy):
                raise self.destroy_missing()
            elif self.p == "openbsd":
                ci = self.create()  # OpenBSD creates a clonable interface on first use
            else:
                raise errors.no_such_interface(self.p, self.name)
        self.touched.add(self.name)
        acc = Addresses(family=6 if self.cmd.inet6 else 4)
        alive: CarpInterface | None = ci
        for op in ops:
            if alive is None:
                raise errors.no_such_interface(self.p, self.name)
            if gather_address(op, acc, self.p):
                continue
            if isinstance(op, o.Create):
                raise self.exists_error()
            if isinstance(op, o.Destroy):
                del self.state.interfaces[self.name]
                alive = None
                continue
            self.clone_op(alive, op)
        if alive is not None:
            self.clone_addresses(alive, acc)
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
        if self.p == "freebsd":
            return fail("SIOCIFCREATE2: Invalid argument")
        return errors.einval(self.p, self.name, "SIOCIFCREATE")

    def exists_error(self) -> IfconfigError:
        if self.p == "openbsd":
            return fail(f"{self.name}: SIOCIFCREATE: File exists")
        if self.p == "freebsd":
            return fail("SIOCIFCREATE2: File exists")
        return fail("SIOCIFCREATE: File exists")

    def destroy_missing(self) -> IfconfigError:
        if self.p == "openbsd":
            return fail(f"{self.name}: SIOCIFDESTROY: Device not configured")
        if self.p == "netbsd":
            return fail("SIOCIFDESTROY: Device not configured")
        return errors.no_such_interface(self.p, self.name)

    def clone_op(self, ci: CarpInterface, op: o.Op) -> None:
        p = self.p
        if isinstance(op, o.Up):
            ci.up = True
        elif isinstance(op, o.Down):
            ci.up = False
        elif isinstance(op, o.SetVhid):
            vhid = self.clone_vhid(op.value)
            if vhid:
                skew = ci.nodes[0].advskew if ci.nodes else 0
                ci.nodes = [Node(vhid, skew)]  # leaves carpnodes mode, as OpenBSD does
        elif isinstance(op, o.SetAdvskew):
            skew = self.clone_number("advskew", op.value, 0, 254)
            if skew is not None:
                if ci.nodes:
                    ci.nodes[0].advskew = skew
                else:  # kept on a vhid-0 placeholder until a vhid arrives (dropped if none)
                    ci.nodes = [Node(0, skew)]
        elif isinstance(op, o.SetAdvbase):
            base = self.clone_number("advbase", op.value, 0, 254 if p == "openbsd" else 255)
            if base is not None and not (p == "freebsd" and base == 0):
                ci.advbase = base
        elif isinstance(op, o.SetPass):
            ci.passphrase = op.value[:KEY_LEN]
        elif isinstance(op, o.SetCarpdev):
            if is_clone_name(op.value) or not self.linux_exists(op.value):
                raise self.einval()
            ci.carpdev = op.value
        elif isinstance(op, o.ClearCarpdev):
            ci.carpdev = None
        elif isinstance(op, o.SetState):
            req = self.state_request(op.value, None)
            if req is not None:
                ci.state_request = req
        elif isinstance(op, o.SetCarpnodes):
            ci.nodes = self.carpnodes(op.value)
        elif isinstance(op, o.SetBalancing):
            mode = op.value.lower()
            if mode not in config.BALANCING_MODES:
                raise errors.syntax(p, f"balancing {op.value}: unknown mode")
            ci.balancing = mode  # type: ignore[assignment]
        elif isinstance(op, o.SetCarppeer):
            ci.peer = self.carppeer(op.value)
        elif isinstance(op, o.ClearCarppeer | o.Mcast):
            ci.peer = config.CARP_GROUP_V4
        elif isinstance(op, o.SetPeer):
            ci.peer = self.peer(op.value)
        elif isinstance(op, o.SetPeer6):
            ci.peer6 = self.peer6(op.value)
        elif isinstance(op, o.Mcast6):
            ci.peer6 = config.CARP_GROUP_V6
        elif isinstance(op, o.SetCarpver | o.SetVrrpprio | o.SetVrrpinterval):
            self.vrrp(ci, op)
        elif isinstance(op, o.AddGroup):
            self.add_group(ci, op.value)
        elif isinstance(op, o.DelGroup):
            if op.value not in ci.groups:
                raise fail("SIOCDIFGROUP: No such file or directory")
            ci.groups.remove(op.value)
        elif isinstance(op, o.SetLladdr):
            mac = self.lladdr(op.value)
            if mac is not None:
                ci.lladdr = mac
        else:  # pragma: no cover - every Op class is handled above
            raise AssertionError(op)

    def clone_vhid(self, word: str) -> int:
        p = self.p
        if p == "openbsd":
            vhid, err = values.strtonum(word, 1, 255)
            if err is not None:
                raise fail(f"vhid {word}: {err}")
            return vhid
        if p == "freebsd":  # FreeBSD <= 9 ifcarp.c: atoi, then the kernel's range
            vhid = values.atoi(word)
            if vhid <= 0:
                raise fail("vhid must be greater than 0")
            if vhid > 255:
                raise self.einval()
            return vhid
        n = values.decimal(word, 0, 255)
        if n is None:
            raise errors.usage(p)
        return n  # 0 leaves the vhid alone, as NetBSD's kernel does

    def clone_number(self, what: str, word: str, low: int, high: int) -> int | None:
        p = self.p
        if p == "openbsd":
            n, err = values.strtonum(word, low, high)
            if err is not None:
                raise fail(f"{what} {word}: {err}")
            return n
        if p == "freebsd":
            n = values.atoi(word)
            if not low <= n <= high:
                raise self.einval()
            return n
        m = values.decimal(word, low, high)
        if m is None:
            raise errors.usage(p)
        return m

    def carpnodes(self, word: str) -> list[Node]:
        p = self.p
        import re  # only here: re costs ~8 ms at start-up

        nodes: list[Node] = []
        for tok in word.split(","):
            if len(nodes) >= config.MAX_CARPNODES:
                raise errors.syntax(p, "too many carp nodes")
            m = re.match(r"\s*\+?(\d+):\s*\+?(\d+)", tok)  # sscanf("%u:%u")
            if m is None:
                raise errors.syntax(p, f"non parsable arg: {tok}")
            vhid, skew = int(m.group(1)), int(m.group(2))
            if vhid > 255:
                raise errors.syntax(p, f"vhid {vhid}: value too large")
            if skew >= 255:
                raise errors.syntax(p, f"advskew {skew}: value too large")
            nodes.append(Node(vhid, skew))
        vhids = [n.vhid for n in nodes]
        if 0 in vhids or len(set(vhids)) != len(vhids):
            raise self.einval()  # the kernel refuses duplicate (or zero) vhids
        return sorted(nodes, key=lambda n: n.vhid)  # carp_vhids_ioctl: the leader is lowest

    def add_group(self, ci: CarpInterface, group: str) -> None:
        if len(group) >= 16:
            raise fail("setifgroup: group name too long")
        if group[-1:].isdigit():
            raise fail("setifgroup: group names may not end in a digit")
        if not group:
            raise fail("SIOCAIFGROUP: Invalid argument")
        if group not in ci.groups:
            ci.groups.append(group)

    def vrrp(self, ci: CarpInterface, op: o.Op) -> None:
        """FreeBSD 15 VRRPv3 knobs; the kernel validates the ranges (EINVAL).

        FreeBSD refuses to change the version of an existing vhid; we allow it (carpd
        restarts the vhost) so the man-page lines replay in order on one host."""
        assert isinstance(op, o.Valued)
        n = values.atoi(op.value)
        if isinstance(op, o.SetCarpver):
            if n not in (2, 3):
                raise self.einval()
            ci.version = n
        elif isinstance(op, o.SetVrrpprio):
            if not 1 <= n <= 255:
                raise self.einval()
            ci.vrrp_prio = n
        else:
            if not 1 <= n <= 4095:
                raise self.einval()
            ci.vrrp_interval = n

    def clone_addresses(self, ci: CarpInterface, acc: Addresses) -> None:
        for fam in acc.remove_family:
            ci.addresses = [a for a in ci.addresses if a.family != fam]
        if acc.unalias:
            if acc.address is None:
                victim = next((a for a in ci.addresses if a.family == acc.family), None)
            else:
                victim = next((a for a in ci.addresses if a.address == acc.address), None)
            if victim is None:
                raise no_such_address(self.p)
            ci.addresses.remove(victim)
            return
        if acc.address is None:
            return
        plen = final_prefixlen(acc, self.p, self.warnings)
        new = Address(acc.address, plen, acc.broadcast)
        same = next((i for i, a in enumerate(ci.addresses) if a.address == new.address), None)
        if same is not None:
            ci.addresses[same] = new
        elif not acc.alias:
            # Without `alias`, SIOCAIFADDR replaces the first address of the family.
            first = next((i for i, a in enumerate(ci.addresses) if a.family == new.family), None)
            if first is None:
                ci.addresses.append(new)
            else:
                ci.addresses[first] = new
        else:
            ci.addresses.append(new)
        ci.up = True  # SIOCAIFADDR marks the interface UP
        if ci.carpdev is None:
            ci.carpdev = self.sysif.carpdev_for(new.address, plen, self.state)

    # -- FreeBSD 10+ vhids on a physical interface -------------------------------------

    def physical(self) -> None:
        p = self.p
        for op in self.cmd.ops:
            if isinstance(op, o.Create):
                raise self.create_invalid()
            if isinstance(op, o.Destroy):
                raise errors.einval(p, self.name, "SIOCIFDESTROY")
        if not self.linux_exists(self.name):
            raise errors.no_such_interface(p, self.name)
        acc = Addresses(family=6 if self.cmd.inet6 else 4)
        vhid: int | None = None
        pending: list[o.Op] = []
        for op in self.cmd.ops:
            if gather_address(op, acc, p):
                continue
            if isinstance(op, o.SetVhid):
                n = values.atoi(op.value)
                if not 1 <= n <= 255:
                    raise errors.syntax(p, "vhid must be greater than 0 and less than 255")
                vhid = n
            elif isinstance(op, o.SetAdvskew | o.SetAdvbase | o.SetPass | o.SetState):
                if vhid is None:
                    what = "passwd" if isinstance(op, o.SetPass) else op.word
                    raise errors.syntax(p, f"{what} requires vhid")
                if isinstance(op, o.SetState):
                    word = op.value.upper()
                    if word not in config.STATES or (p == "netbsd" and word != op.value):
                        raise errors.syntax(p, "unknown state")
                pending.append(op)
            elif isinstance(op, o.SetCarpver | o.SetVrrpprio | o.SetVrrpinterval):
                if vhid is None:
                    what = "version" if isinstance(op, o.SetCarpver) else op.word
                    raise errors.syntax(p, f"{what} requires vhid")
                pending.append(op)
            elif isinstance(op, o.SetPeer | o.SetPeer6 | o.Mcast | o.Mcast6):
                pending.append(op)
            elif isinstance(op, o.Up | o.Down | o.SetLladdr | o.AddGroup | o.DelGroup):
                continue  # the physical interface itself is Linux's business, not ours
            else:
                # carpdev, carpnodes, balancing, carppeer: FreeBSD has no such keyword
                # and takes the word as an address.
                raise errors.bad_value(p, op.word)
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
        p = self.p
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
            if isinstance(op, o.SetAdvskew):
                skew = values.atoi(op.value)
                if not 0 <= skew <= 254:
                    raise self.einval()
                ci.nodes[0].advskew = skew
            elif isinstance(op, o.SetAdvbase):
                base = values.atoi(op.value)
                if base != 0:  # 0 keeps the current value
                    if not 1 <= base <= 255:
                        raise self.einval()
                    ci.advbase = base
            elif isinstance(op, o.SetPass):
                ci.passphrase = op.value[:KEY_LEN]
            elif isinstance(op, o.SetState):
                req = self.state_request(op.value, vhid)
                if req is not None:
                    ci.state_request = req
            elif isinstance(op, o.SetPeer):
                ci.peer = self.peer(op.value)
            elif isinstance(op, o.SetPeer6):
                ci.peer6 = self.peer6(op.value)
            elif isinstance(op, o.Mcast):
                ci.peer = config.CARP_GROUP_V4
            elif isinstance(op, o.Mcast6):
                ci.peer6 = config.CARP_GROUP_V6
            else:
                self.vrrp(ci, op)
        self.state.interfaces[key] = ci
        for fam in acc.remove_family:
            ci.addresses = [a for a in ci.addresses if a.family != fam]
        if acc.unalias:
            victim = next((a for a in ci.addresses if a.address == acc.address), None)
            if victim is None:
                raise no_such_address(p)
            ci.addresses.remove(victim)
            if not ci.addresses:
                del self.state.interfaces[key]
            return
        if acc.address is not None:
            plen = final_prefixlen(acc, p, self.warnings)
            new = Address(acc.address, plen, acc.broadcast, vhid=vhid)
            same = next((i for i, a in enumerate(ci.addresses) if a.address == new.address), None)
            if same is None:
                ci.addresses.append(new)
            else:
                ci.addresses[same] = new
            ci.up = True

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
