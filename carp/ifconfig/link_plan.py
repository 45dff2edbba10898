"""A command's change to a Linux interface that is not carp's (em0, eth0 ...), planned and
validated before anything is touched; carp.daemon.links makes it.

What BSD ifconfig does with the common parameters (OpenBSD/FreeBSD ifconfig.c:
setifaddr, notealias and main's clearaddr; the kernels' in_control):
* `inet A [netmask M | prefixlen N | /N]` without `alias` replaces the first IPv4 address
  (SIOCDIFADDR of it, then SIOCAIFADDR); with `alias` it is added; an address the
  interface has is updated in place.  An IPv4 address gets the subnet's broadcast.
* IPv6 addresses are always added: clearaddr's SIOCDIFADDR_IN6 names no address, fails
  with EADDRNOTAVAIL and ifconfig ignores that.
* `-alias`/`delete` remove the address named (without one: the family's first);
  `-inet`/`-inet6` remove every address of the family.
* adding an address marks the interface UP (SIOCAIFADDR runs the driver's SIOCSIFADDR).
* `up`/`down` (SIOCSIFFLAGS), `mtu N` (SIOCSIFMTU, the range is the kernel's),
  `lladdr MAC|random` (SIOCSIFLLADDR).  Interface groups do not exist on Linux.
"""

from __future__ import annotations

import errno

from carp.ifconfig import errors, values
from carp.ifconfig import operations as o
from carp.ifconfig.addresses import Addresses, final_prefixlen
from carp.mib import INT_MAX
from carp.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.personality import Policy

ENOTSUP_TEXT = "Operation not supported"


@record
class NewAddress:
    address: str
    prefixlen: int
    broadcast: str | None = None


@record
class LinkPlan:
    """The changes, made in this order: mtu, lladdr, removals, additions, up/down."""

    mtu: int | None = None
    lladdr: str | None = None
    remove: list[tuple[str, int]] = field(default_factory=list)  # (address, prefixlen)
    add: list[NewAddress] = field(default_factory=list)
    up: bool | None = None

    def empty(self) -> bool:
        return (self.mtu is None and self.lladdr is None and not self.remove and not self.add
                and self.up is None)


class LinkRefused(Exception):
    """The kernel refused a change: `request` keys Policy.link_requests, `errno` says why."""

    def __init__(self, request: str, errno: int) -> None:
        super().__init__(request, errno)
        self.request = request
        self.errno = errno


def refused(pol: Policy, exc: LinkRefused) -> errors.IfconfigError:
    """err(1, "<request>") after the refused ioctl, in the personality's words."""
    import os

    return errors.fail(f"{pol.link_requests[exc.request]}: {os.strerror(exc.errno)}")


def take(plan: LinkPlan, op: o.Op, pol: Policy, warnings: list[str]) -> bool:
    """Fold a link parameter into plan; False if op is not one."""
    if isinstance(op, o.Up | o.Down):
        plan.up = isinstance(op, o.Up)
    elif isinstance(op, o.SetMtu):
        plan.mtu = parse_mtu(op.value, pol)
    elif isinstance(op, o.SetLladdr):
        mac = random_mac() if op.value == "random" else values.mac(op.value)
        if mac is None:  # BSD warns and carries on (warnx)
            warnings.append("ifconfig: malformed link-level address\n")
        if mac is not None and not unicast(mac):  # checked before anything changes
            raise refused(pol, LinkRefused("lladdr", errno.EADDRNOTAVAIL))
        plan.lladdr = mac or plan.lladdr
    elif isinstance(op, o.AddGroup | o.DelGroup):
        raise errors.fail(f"{pol.link_requests['group']}: {ENOTSUP_TEXT}")
    else:
        return False
    return True


def parse_mtu(word: str, pol: Policy) -> int:
    """The personality's number parser: strtonum `mtu X: invalid`, atoi (the kernel
    checks), or NetBSD's table (usage)."""
    numbers = pol.ifconfig_numbers
    if numbers == "strtonum":
        n, err = values.strtonum(word, 0, INT_MAX)
        if err is not None:
            raise errors.fail(f"mtu {word}: {err}")
        return n
    if numbers == "atoi":
        return values.atoi(word)
    m = values.decimal(word, 0, INT_MAX)
    if m is None:
        raise errors.usage(pol)
    return m


def unicast(mac: str) -> bool:
    """What Linux's is_valid_ether_addr lets an Ethernet interface take: neither a
    multicast (nor broadcast) address nor all zeros."""
    octets = [int(x, 16) for x in mac.split(":")]
    return not octets[0] & 1 and any(octets)


def random_mac() -> str:
    import os

    raw = bytearray(os.urandom(6))
    raw[0] = (raw[0] & 0xFE) | 0x02  # unicast, locally administered
    return ":".join(f"{b:02x}" for b in raw)


def _family(address: str) -> int:
    return 6 if ":" in address else 4


def plan_addresses(
    plan: LinkPlan, acc: Addresses, have: list[tuple[str, int]], pol: Policy,
    warnings: list[str],
) -> None:
    """The address words of the command against the interface's addresses `have`
    ((address, prefixlen) in the kernel's order)."""
    for fam in acc.remove_family:
        plan.remove += [a for a in have if _family(a[0]) == fam]
        have = [a for a in have if _family(a[0]) != fam]
    if acc.unalias:
        if acc.address is None:
            victim = next((a for a in have if _family(a[0]) == acc.family), None)
        else:
            victim = next((a for a in have if a[0] == acc.address), None)
        if victim is None:
            raise errors.line(pol.no_such_address)
        plan.remove.append(victim)
        return
    if acc.address is None:
        return
    plen = final_prefixlen(acc, pol, warnings)
    if acc.family == 4 and not acc.alias:
        first = next((a for a in have if _family(a[0]) == 4), None)
        if first is not None and first[0] != acc.address:
            plan.remove.append(first)
    same = next((a for a in have if a[0] == acc.address), None)
    if same is not None and same[1] != plen:  # Linux keys an address by its prefix too
        plan.remove.append(same)
    plan.add.append(NewAddress(acc.address, plen, _broadcast(acc, plen)))
    plan.up = True


def _broadcast(acc: Addresses, plen: int) -> str | None:
    """The broadcast given, else the subnet's all-ones address as in_ifinit sets it
    (none on /31 and /32, RFC 3021)."""
    if acc.family == 6:
        return None
    if acc.broadcast is not None or plen >= 31:
        return acc.broadcast
    assert acc.address is not None
    host = values.inet_aton(acc.address) or "0.0.0.0"
    n = int.from_bytes(bytes(int(x) for x in host.split(".")), "big") | (2 ** (32 - plen) - 1)
    return ".".join(str(b) for b in n.to_bytes(4, "big"))
