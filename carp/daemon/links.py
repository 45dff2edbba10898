"""Make a LinkPlan (carp.ifconfig.link_plan) on a Linux interface, through netlink.

Imported only by a command that changes a physical interface: pyroute2 costs ~0.2 s to
import, which `ifconfig carp0 ...` never pays.  Whatever the kernel can refuse without
a change is checked first (the interface, the MTU range; the plan refuses a multicast or
zero MAC); the changes then go in BSD ifconfig's order: the keywords' ioctls, then
SIOCDIFADDR, then SIOCAIFADDR.  A later step the kernel refuses (a driver that will not
change its MAC while up, an address it will not take) undoes the earlier ones: a refused
command changes nothing, as ifconfig(8) promises.

Linux deletes an interface's secondary addresses of a subnet with its primary one; BSD
deletes only the address named.  So a deletion runs with the interface's
net.ipv4.conf.<dev>.promote_secondaries set (its old value put back), which keeps them
with their label, flags and lifetimes; should the kernel drop one anyway (the setting
cannot be written), it is added back from its dumped message.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from socket import AF_INET, AF_INET6
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from carp.ifconfig.link_plan import LinkPlan, LinkRefused
from carp.mib import INT_MAX

PROMOTE = "/proc/sys/net/ipv4/conf/{dev}/promote_secondaries"
IFF_UP = 0x1
# The kernel's own state of an address, never given back when adding it.
# SECONDARY, DADFAILED, DEPRECATED, TENTATIVE, PERMANENT
IFA_F_STATE = 0x01 | 0x08 | 0x20 | 0x40 | 0x80
FOREVER = 2**32 - 1

Key = tuple[str, int]  # (address, prefixlen): how Linux tells an interface's addresses apart


def change(linux_name: str, plan: LinkPlan) -> None:
    """Make plan on linux_name, all or nothing: LinkRefused, with every change already
    made undone, when the kernel says no."""
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=linux_name)
        if not found:
            raise LinkRefused("flags", errno.ENXIO)
        index = found[0]
        link = ipr.get_links(index)[0]
        if plan.mtu is not None:
            _check_mtu(link, plan.mtu)
        had = ipr.get_addr(index=index)
        try:
            _make(ipr, index, linux_name, plan)
        except LinkRefused:
            _undo(ipr, index, linux_name, link, had, plan)
            raise


def _check_mtu(link: Any, mtu: int) -> None:
    low = link.get_attr("IFLA_MIN_MTU") or 0
    high = link.get_attr("IFLA_MAX_MTU") or INT_MAX  # 0: no upper limit
    if not low <= mtu <= high:
        raise LinkRefused("mtu", errno.EINVAL)


def _make(ipr: IPRoute, index: int, linux_name: str, plan: LinkPlan) -> None:
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
            _delete(ipr, index, linux_name, address, prefixlen)
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


def _undo(ipr: IPRoute, index: int, linux_name: str, link: Any, had: Any,
          plan: LinkPlan) -> None:
    """Put the addresses and the link back as they were before the command: best effort,
    the kernel's refusal is what the command reports."""
    replaced = {(new.address, new.prefixlen) for new in plan.add}
    steps = _address_steps(ipr, index, linux_name, had, replaced)
    if plan.lladdr is not None:
        steps.append(partial(_set, ipr, index, address=link.get_attr("IFLA_ADDRESS")))
    if plan.mtu is not None:
        steps.append(partial(_set, ipr, index, mtu=link.get_attr("IFLA_MTU")))
    steps.append(partial(_set, ipr, index, state="up" if link["flags"] & IFF_UP else "down"))
    for step in steps:
        with suppress(NetlinkError):
            step()


def _address_steps(ipr: IPRoute, index: int, linux_name: str, had: Any,
                   replaced: set[Key]) -> list[Callable[[], None]]:
    """The deletions, then the additions, that make the addresses `had` again.  IPv4's
    order says which address is a subnet's primary: from the first difference on, the
    addresses are deleted and the old ones added back in their order."""
    steps: list[Callable[[], None]] = []
    for family in (AF_INET, AF_INET6):
        want = [msg for msg in had if msg["family"] == family]
        now = [_key(msg) for msg in ipr.get_addr(index=index, family=family)]
        if family == AF_INET:
            same = 0
            while (same < min(len(now), len(want)) and now[same] == _key(want[same])
                   and now[same] not in replaced):
                same += 1
            gone, back = now[same:], want[same:]
        else:
            keys = {_key(msg) for msg in want}
            gone = [key for key in now if key not in keys]
            back = [msg for msg in want if _key(msg) not in now or _key(msg) in replaced]
        steps += [partial(_delete, ipr, index, linux_name, *key) for key in gone]
        steps += [partial(_add, ipr, index, msg) for msg in back]
    return steps


def _set(ipr: IPRoute, index: int, **attrs: Any) -> None:
    ipr.link("set", index=index, **attrs)


def _key(msg: Any) -> Key:
    return (msg.get_attr("IFA_ADDRESS"), msg["prefixlen"])


def _add(ipr: IPRoute, index: int, msg: Any) -> None:
    """Add (or put back in place) an address as the kernel dumped it: with its label,
    broadcast, flags (noprefixroute ...) and remaining lifetimes."""
    extra: dict[str, Any] = {}
    for attr, kwarg in (("IFA_LABEL", "label"), ("IFA_BROADCAST", "broadcast"),
                        ("IFA_LOCAL", "local")):
        value = msg.get_attr(attr)
        if value is not None:
            extra[kwarg] = value
    flags = msg.get_attr("IFA_FLAGS")
    flags = (msg["flags"] if flags is None else flags) & ~IFA_F_STATE
    if flags:
        extra["IFA_FLAGS"] = flags
    lifetimes = msg.get_attr("IFA_CACHEINFO")
    if lifetimes is not None and lifetimes["ifa_preferred"] != FOREVER:  # valid >= preferred
        extra.update(valid_lft=lifetimes["ifa_valid"], preferred_lft=lifetimes["ifa_preferred"])
    address, prefixlen = _key(msg)
    ipr.addr("replace", index=index, address=address, prefixlen=prefixlen, **extra)


def _delete(ipr: IPRoute, index: int, linux_name: str, address: str, prefixlen: int) -> None:
    """Delete one address and only it (see the module's note on secondaries)."""
    family = AF_INET6 if ":" in address else AF_INET
    if family == AF_INET6:
        ipr.addr("del", index=index, address=address, prefixlen=prefixlen)
        return
    before = ipr.get_addr(index=index, family=family)
    with _promoting_secondaries(linux_name):
        ipr.addr("del", index=index, address=address, prefixlen=prefixlen)
    after = {_key(msg) for msg in ipr.get_addr(index=index, family=family)}
    for msg in before:
        if _key(msg) != (address, prefixlen) and _key(msg) not in after:
            _add(ipr, index, msg)


@contextmanager
def _promoting_secondaries(linux_name: str) -> Iterator[None]:
    path = PROMOTE.format(dev=linux_name)
    old = _swap(path, "1")
    try:
        yield
    finally:
        if old is not None and old != "1":
            _swap(path, old)


def _swap(path: str, value: str) -> str | None:
    """Write value to a sysctl file; its old value, None if it cannot be read or written."""
    try:
        with open(path) as f:
            old = f.read().strip()
        if old != value:
            with open(path, "w") as f:
                f.write(value)
    except OSError:
        return None
    return old
