"""What both shapes of target share when a command is applied (see carp.ifconfig.apply).

`Applier` holds one command's context (the working copy of the State, the warnings,
the keys it touched), the kernel's errors and range checks, `state X` requests, new
interface indexes, the parameters a carpN and a FreeBSD vhid treat alike, and the
check on the result.  Its subclasses walk the parameters: `CloneApplier` for a carpN
(carp.ifconfig.apply_clone), `VhidApplier` for a physical interface's vhids
(carp.ifconfig.apply_vhid).
"""

from __future__ import annotations

from carp import config
from carp.config import CarpInterface, StateRequest
from carp.ifconfig import errors, values
from carp.ifconfig import operations as o
from carp.ifconfig.errors import IfconfigError
from carp.ifconfig.link_plan import LinkPlan
from carp.interface_table import documents
from carp.states import BACKUP, MASTER
from carp.store import State

# Names for type checkers only: typing costs ~5 ms at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.ifconfig.apply import SysIfApi
    from carp.personality import Policy

PASS_LEN = config.KEY_LEN - 1  # what strlcpy keeps of `pass`: the key's last byte is a NUL


def is_clone_name(name: str) -> bool:
    # `carp\d+` without re (~8 ms at start-up): str.isdecimal() is exactly re's \d.
    return name.startswith("carp") and name[4:].isdecimal()


class Applier:
    """One command applied to a working copy of the State (the caller commits it)."""

    # Whether the personality's leniency about unknown `state` words applies: only a
    # carpN's ifconfig ignores them; FreeBSD's vhid code always refuses.
    may_ignore_unknown_state = False

    def __init__(self, cmd: o.Command, state: State, sysif: SysIfApi) -> None:
        self.cmd = cmd
        self.state = state
        self.sysif = sysif
        self.pol: Policy = state.policy
        self.name = cmd.ifname
        self.warnings: list[str] = []
        self.touched: set[str] = set()  # store keys this command changed
        self.link = LinkPlan()  # the change to the Linux interface itself (not carp's)

    def run(self) -> None:
        """Apply every parameter of the command to self.state, or raise."""
        raise NotImplementedError

    # -- errors, values and requests ---------------------------------------------------

    def einval(self, ioctl: str = "SIOCSVH") -> IfconfigError:
        return errors.einval(self.pol, self.name, ioctl)

    def create_invalid(self) -> IfconfigError:
        return self.einval(self.pol.create_ioctl)

    def linux_exists(self, bsd_name: str) -> bool:
        return self.sysif.exists(self.sysif.resolve(bsd_name, self.state))

    def state_word(self, word: str) -> str | None:
        """The state `state X` names, None for a word a carpN may ignore."""
        state = word if self.pol.exact_state_words else word.upper()
        if state in config.STATES:
            return state
        if self.may_ignore_unknown_state and self.pol.ignores_unknown_state:
            return None
        raise errors.syntax(self.pol, "unknown state")

    def request_state(self, ci: CarpInterface, word: str, vhid: int | None) -> None:
        """`state X` (vhid None on a carpN): a one-shot request for MASTER or BACKUP;
        INIT and the words a carpN ignores request nothing."""
        state = self.state_word(word)
        if state in (MASTER, BACKUP):
            # A seq no earlier request can have: the generation this commit will get.
            ci.state_request = StateRequest(self.state.generation + 1, state, vhid)

    def atoi_in(self, word: str, low: int, high: int) -> int:
        """atoi(word), which the kernel refuses (EINVAL) outside [low, high]."""
        n = values.atoi(word)
        if not low <= n <= high:
            raise self.einval()
        return n

    def next_index(self) -> int:
        """Above every Linux ifindex and every carp interface's, as a new BSD interface
        gets the next free index; carpd's macvlan later shows its own."""
        used = (doc.get("index", 0) for _key, doc in documents(self.state.interfaces))
        return max(self.sysif.highest_ifindex(), *used, 0) + 1

    # -- the parameters both shapes take alike (in CLONE_OPS and VHID_OPS) -------------
    # Each validates its value in the personality's words and changes ci.

    def set_pass(self, ci: CarpInterface, op: o.SetPass) -> None:
        ci.passphrase = op.value[:PASS_LEN]

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

    # -- invariants ----------------------------------------------------------------------

    def check(self) -> None:
        """Kernel-side checks on the result: one vhid per carpdev (SIOCSVH EINVAL)."""
        by_dev: dict[str, dict[int, str]] = {}
        linux: dict[str, str] = {}  # BSD name -> Linux name, resolved once per carpdev
        # documents, not objects: a thousand interfaces are scanned on every command
        for key, doc in sorted(documents(self.state.interfaces)):
            dev = doc["name"] if doc.get("style") == "vhid" else doc.get("carpdev")
            if dev is None:
                continue
            if dev not in linux:
                linux[dev] = self.sysif.resolve(dev, self.state)
            seen = by_dev.setdefault(linux[dev], {})
            for node in doc.get("nodes", ()):
                other = seen.get(node["vhid"])
                if other is not None and (key in self.touched or other in self.touched):
                    raise self.einval()
                seen[node["vhid"]] = key
