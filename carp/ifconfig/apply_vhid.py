"""A command on a physical interface: the FreeBSD 10+ vhids it carries (style "vhid",
keyed `<if>:<vhid>`), with FreeBSD's rules and texts whatever the personality, and the
interface's own change (its addresses without a vhid, up/down, mtu, lladdr), planned
for netlink as BSD ifconfig makes it (carp.ifconfig.link_plan).
"""

from __future__ import annotations

from carp import config
from carp.config import CarpInterface, Node
from carp.ifconfig import errors, link_plan, values
from carp.ifconfig import operations as o
from carp.ifconfig.addresses import Addresses, change_addresses, gather_address
from carp.ifconfig.apply_common import Applier

# Names for type checkers only: typing costs ~5 ms at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    # A parameter's handler: VhidApplier's method for the Op class (Any: one per class).
    Handler = Callable[["VhidApplier", CarpInterface, Any], None]


class VhidApplier(Applier):
    def run(self) -> None:
        """Refuse in argv order, then change the vhid named (or, without one, drop the
        addresses removed from every vhid of the interface)."""
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
                    self.state_word(op.value)  # refused in argv order
                pending.append(op)
            elif link_plan.take(self.link, op, pol, self.warnings):
                continue
            else:
                # [-]carpdev, carpnodes, balancing, [-]carppeer: FreeBSD has no such
                # keyword and takes the word as an address.
                raise errors.bad_value(pol, op.word)
        if vhid is None:
            self.addresses_without_vhid(acc)
            return
        self.change_vhid(vhid, pending, acc)

    def vhid_entries(self) -> list[CarpInterface]:
        return [
            ci
            for ci in self.state.interfaces.values()
            if ci.style == "vhid" and ci.name == self.name
        ]

    def addresses_without_vhid(self, acc: Addresses) -> None:
        """Addresses of the interface itself: -alias/-inet also drop vhid addresses
        (FreeBSD holds them on the interface); the rest are Linux's, planned in self.link."""
        for ci in self.vhid_entries():
            before = len(ci.addresses)
            keep = [a for a in ci.addresses if a.family not in acc.remove_family]
            gone = acc.address if acc.unalias else None
            if gone is not None and any(a.address == gone for a in keep):
                keep = [a for a in keep if a.address != gone]
                acc.unalias, acc.address = False, None  # that -alias was the vhid's
            if len(keep) != before:
                ci.addresses = keep
                self.touched.add(ci.key)
                if not keep:  # removing the last address of a vhid destroys it
                    del self.state.interfaces[ci.key]
        have = self.sysif.inet_addresses(self.sysif.resolve(self.name, self.state))
        link_plan.plan_addresses(self.link, acc, have, self.pol, self.warnings)

    def change_vhid(self, vhid: int, pending: list[o.Op], acc: Addresses) -> None:
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

    # -- parameters: a handler per Op class (VHID_OPS), beside Applier's shared ones ---
    # advskew and advbase: FreeBSD's ifconfig passes atoi() of the word, the kernel
    # checks the range.

    def set_advskew(self, ci: CarpInterface, op: o.SetAdvskew) -> None:
        ci.nodes[0].advskew = self.atoi_in(op.value, 0, 254)

    def set_advbase(self, ci: CarpInterface, op: o.SetAdvbase) -> None:
        if values.atoi(op.value) != 0:  # 0 keeps the current value
            ci.advbase = self.atoi_in(op.value, 1, 255)

    def set_state(self, ci: CarpInterface, op: o.SetState) -> None:
        self.request_state(ci, op.value, ci.vhid)


# What each parameter `run` keeps for the vhid does to a FreeBSD 10+ vhid.
VHID_OPS: dict[type[o.Op], Handler] = {
    o.SetAdvskew: VhidApplier.set_advskew,
    o.SetAdvbase: VhidApplier.set_advbase,
    o.SetPass: VhidApplier.set_pass,
    o.SetState: VhidApplier.set_state,
    o.SetPeer: VhidApplier.set_peer,
    o.SetPeer6: VhidApplier.set_peer6,
    o.Mcast: VhidApplier.mcast,
    o.Mcast6: VhidApplier.mcast6,
    o.SetCarpver: VhidApplier.set_carpver,
    o.SetVrrpprio: VhidApplier.set_vrrpprio,
    o.SetVrrpinterval: VhidApplier.set_vrrpinterval,
}

# The VHID_OPS FreeBSD's ifconfig takes before any `vhid` (they go to the last one named);
# the others are `... requires vhid`, two of them named in ifcarp.c's words.
WITHOUT_VHID: tuple[type[o.Op], ...] = (o.SetPeer, o.SetPeer6, o.Mcast, o.Mcast6)
REQUIRES_VHID_NAMES: dict[type[o.Op], str] = {o.SetPass: "passwd", o.SetCarpver: "version"}
