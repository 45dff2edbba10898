"""A command on a cloned carpN (OpenBSD, NetBSD, FreeBSD <= 9), rules per personality.

The interface's life cycle (create, destroy, creation on first use) and every carpN
parameter, each read with the personality's number parser and refused in its words.
"""

from __future__ import annotations

from carp import config
from carp.config import CarpInterface, Node
from carp.ifconfig import errors, values
from carp.ifconfig import operations as o
from carp.ifconfig.addresses import Addresses, change_addresses, gather_address
from carp.ifconfig.apply_common import Applier, is_clone_name
from carp.ifconfig.errors import IfconfigError, fail
from carp.ifconfig.link_plan import parse_mtu, random_mac

# Names for type checkers only: typing costs ~5 ms at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    # A parameter's handler: CloneApplier's method for the Op class (Any: one per class).
    Handler = Callable[["CloneApplier", CarpInterface, Any], None]


EAI_NONAME_TEXT = "Name or service not known"  # glibc's gai_strerror(EAI_NONAME)


class CloneApplier(Applier):
    may_ignore_unknown_state = True

    def run(self) -> None:
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

    # -- life cycle --------------------------------------------------------------------

    def create(self) -> CarpInterface:
        if not is_clone_name(self.name):
            raise self.create_invalid()
        ci = CarpInterface(name=self.name, style="clone", index=self.next_index())
        self.state.interfaces[self.name] = ci
        return ci

    def exists_error(self) -> IfconfigError:
        return errors.ioctl(self.pol, self.name, self.pol.create_ioctl, "File exists")

    def destroy_missing(self) -> IfconfigError:
        if self.pol.looks_up_before_destroy:
            return errors.no_such_interface(self.pol, self.name)
        return errors.ioctl(self.pol, self.name, "SIOCIFDESTROY", "Device not configured")

    # -- parameters: a handler per Op class (CLONE_OPS), beside Applier's shared ones --

    def number(self, what: str, word: str, low: int, high: int) -> int:
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

    def set_up(self, ci: CarpInterface, op: o.Up) -> None:
        ci.up = True

    def set_down(self, ci: CarpInterface, op: o.Down) -> None:
        ci.up = False

    def set_mtu(self, ci: CarpInterface, op: o.SetMtu) -> None:
        """carpN's MTU is its carpdev's: carp_ioctl has no SIOCSIFMTU (ENOTTY)."""
        parse_mtu(op.value, self.pol)
        raise fail(f"{self.pol.link_requests['mtu']}: Inappropriate ioctl for device")

    def set_vhid(self, ci: CarpInterface, op: o.SetVhid) -> None:
        """The vhid; 0 (where it parses) leaves the vhid alone."""
        if self.pol.ifconfig_numbers == "atoi" and values.atoi(op.value) <= 0:  # ifcarp.c's own
            raise fail("vhid must be greater than 0")
        vhid = self.number("vhid", op.value, self.pol.lowest_vhid, 255)
        if vhid:
            skew = ci.nodes[0].advskew if ci.nodes else 0
            ci.nodes = [Node(vhid, skew)]  # leaves carpnodes mode, as OpenBSD does

    def set_advskew(self, ci: CarpInterface, op: o.SetAdvskew) -> None:
        skew = self.number("advskew", op.value, 0, 254)
        if ci.nodes:
            ci.nodes[0].advskew = skew
        else:  # kept on a vhid-0 placeholder until a vhid arrives (dropped if none)
            ci.nodes = [Node(0, skew)]

    def set_advbase(self, ci: CarpInterface, op: o.SetAdvbase) -> None:
        base = self.number("advbase", op.value, 0, self.pol.max_advbase)
        if not (self.pol.advbase_zero_keeps and base == 0):
            ci.advbase = base

    def set_state(self, ci: CarpInterface, op: o.SetState) -> None:
        self.request_state(ci, op.value, None)

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
        ci.nodes = sorted(nodes, key=lambda n: n.vhid)  # carp_vhids_ioctl: the leader is lowest

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
            # a name the resolver cannot even encode (an empty or over-long label, a NUL)
            # is one it does not know: gai_strerror(EAI_NONAME), not Python's words
            reason = exc.strerror if isinstance(exc, socket.gaierror) else EAI_NONAME_TEXT
            raise errors.syntax(self.pol, f"error in parsing address string: {reason}") from None
        ci.peer = str(infos[0][4][0])

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
            ci.lladdr = random_mac()
            return
        mac = values.mac(op.value)
        if mac is None:
            # BSD warns and carries on (warnx), so the command still succeeds.
            self.warnings.append("ifconfig: malformed link-level address\n")
        else:
            ci.lladdr = mac


# What each parameter does to a cloned carpN: every Op class but the address words
# (gathered apart, see carp.ifconfig.addresses) and create/destroy (the life cycle).
CLONE_OPS: dict[type[o.Op], Handler] = {
    o.Up: CloneApplier.set_up,
    o.Down: CloneApplier.set_down,
    o.SetVhid: CloneApplier.set_vhid,
    o.SetAdvskew: CloneApplier.set_advskew,
    o.SetAdvbase: CloneApplier.set_advbase,
    o.SetPass: CloneApplier.set_pass,
    o.SetCarpdev: CloneApplier.set_carpdev,
    o.ClearCarpdev: CloneApplier.clear_carpdev,
    o.SetState: CloneApplier.set_state,
    o.SetCarpnodes: CloneApplier.set_carpnodes,
    o.SetBalancing: CloneApplier.set_balancing,
    o.SetCarppeer: CloneApplier.set_carppeer,
    o.ClearCarppeer: CloneApplier.mcast,
    o.SetPeer: CloneApplier.set_peer,
    o.SetPeer6: CloneApplier.set_peer6,
    o.Mcast: CloneApplier.mcast,
    o.Mcast6: CloneApplier.mcast6,
    o.SetCarpver: CloneApplier.set_carpver,
    o.SetVrrpprio: CloneApplier.set_vrrpprio,
    o.SetVrrpinterval: CloneApplier.set_vrrpinterval,
    o.AddGroup: CloneApplier.add_group,
    o.DelGroup: CloneApplier.del_group,
    o.SetLladdr: CloneApplier.set_lladdr,
    o.SetMtu: CloneApplier.set_mtu,
}
