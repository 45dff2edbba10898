"""Make a LinkPlan (carp.ifconfig.link_plan) on a Linux interface, through netlink.

Imported only by a command that changes a physical interface: pyroute2 costs ~0.2 s to
import, which `ifconfig carp0 ...` never pays.  Whatever the kernel can refuse without
a change is checked first (the interface, the MTU range), so a refused command changes
nothing; the changes then go in BSD ifconfig's order: the keywords' ioctls, then
SIOCDIFADDR, then SIOCAIFADDR.

Linux deletes an interface's secondary addresses of a subnet with its primary one
(unless net.ipv4.conf.*.promote_secondaries); BSD deletes only the address named.  So
the addresses a removal took along are added back, in their order, as BSD keeps them.
"""

from __future__ import annotations

import errno
from socket import AF_INET, AF_INET6

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from carp.ifconfig.link_plan import LinkPlan, LinkRefused

INT_MAX = 2**31 - 1


def change(linux_name: str, plan: LinkPlan) -> None:
    """Make plan on linux_name; LinkRefused (nothing changed if raised before the first
    change) when the kernel says no."""
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=linux_name)
        if not found:
            raise LinkRefused("flags", errno.ENXIO)
        index = found[0]
        if plan.mtu is not None:
            _check_mtu(ipr, index, plan.mtu)
        _make(ipr, index, plan)


def _check_mtu(ipr: IPRoute, index: int, mtu: int) -> None:
    link = ipr.get_links(index)[0]
    low = link.get_attr("IFLA_MIN_MTU") or 0
    high = link.get_attr("IFLA_MAX_MTU") or INT_MAX  # 0: no upper limit
    if not low <= mtu <= high:
        raise LinkRefused("mtu", errno.EINVAL)


def _make(ipr: IPRoute, index: int, plan: LinkPlan) -> None:
    request = ""
    try:
        if plan.mtu is not None:
            request = "mtu"
            ipr.link("set", index=index, mtu=plan.mtu)
        if plan.lladdr is not None:
            request = "lladdr"
            ipr.link("set", index=index, address=plan.lladdr)
        request = "delete"
        for address, prefixlen in plan.remove:
            _delete(ipr, index, address, prefixlen)
        request = "add"
        for new in plan.add:
            extra = {"broadcast": new.broadcast} if new.broadcast else {}
            ipr.addr("replace", index=index, address=new.address, prefixlen=new.prefixlen,
                     **extra)
        if plan.up is not None:
            request = "flags"
            ipr.link("set", index=index, state="up" if plan.up else "down")
    except NetlinkError as exc:
        raise LinkRefused(request, exc.code) from None


def _addresses(ipr: IPRoute, index: int, family: int) -> list[tuple[str, int, str | None]]:
    return [
        (a.get_attr("IFA_ADDRESS"), a["prefixlen"], a.get_attr("IFA_BROADCAST"))
        for a in ipr.get_addr(index=index, family=family)
    ]


def _delete(ipr: IPRoute, index: int, address: str, prefixlen: int) -> None:
    """Delete one address and only it (see the module's note on secondaries)."""
    family = AF_INET6 if ":" in address else AF_INET
    before = _addresses(ipr, index, family)
    ipr.addr("del", index=index, address=address, prefixlen=prefixlen)
    if family == AF_INET6:
        return
    after = {a[0] for a in _addresses(ipr, index, family)}
    for other, plen, brd in before:
        if other != address and other not in after:
            extra = {"broadcast": brd} if brd else {}
            ipr.addr("add", index=index, address=other, prefixlen=plen, **extra)
