"""Everything carpd does to Linux links and addresses, over rtnetlink (pyroute2 AsyncIPRoute).

* A table of links with their IPv4 addresses and usable IPv6 link-locals, kept current
  from netlink events, answers "does the carpdev exist, is its link up, what source
  address do its advertisements carry" without a syscall on the hot path.
* Each carp interface is a macvlan (mode bridge) on its carpdev carrying the virtual
  MAC, tagged with ifalias "carpd" so that the watchdog and a later carpd can find it
  (named "carpd~N" until it is tagged).
* MASTER: macvlan up with the addresses, each held as a lease (carp.daemon.leases): a
  lifetime that carpd renews, so the kernel withdraws them by itself if no process of
  ours is left.  BACKUP/INIT: no addresses, macvlan down.
* ARP flux: net.ipv4.conf.<dev>.arp_ignore=1 and arp_announce=2 on the carpdev and on
  the macvlan, so only the interface holding an address answers ARP for it (the macvlan,
  with the virtual MAC) and neither answers for the other's addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR, RTMGRP_LINK

from carp.config import Address
from carp.daemon.leases import LeaseSocket, attach_filter, quiet_filter
from carp.daemon.linkaddrs import link_addresses
from carp.daemon.tuning import takeover_thread
from carp.daemon.watchdog import TAG, TMP_PREFIX
from carp.mac import VIRTUAL_MAC_PREFIX
from carp.wire import eui64_linklocal

IFF_UP = 0x1
IFF_LOWER_UP = 0x10000
IFA_F_UNUSABLE = 0x40 | 0x08  # tentative (DAD running) or dadfailed: not a source
PROC_CONF = Path("/proc/sys/net")
ADDR_GEN_MODE_NONE = 1  # IN6_ADDR_GEN_MODE_NONE: no link-local of the kernel's own


@dataclass
class Link:
    index: int
    name: str
    flags: int = 0
    alias: str | None = None
    mac: str | None = None
    parent: int | None = None
    addrs4: list[str] = field(default_factory=list)
    linklocal6: list[str] = field(default_factory=list)

    @property
    def up(self) -> bool:
        """Administratively up with carrier: what BSD calls the parent being usable."""
        return bool(self.flags & IFF_UP) and bool(self.flags & IFF_LOWER_UP)


def write_conf(family: str, dev: str, key: str, value: int) -> bool:
    """Set /proc/sys/net/<family>/conf/<dev>/<key>; False if it does not exist."""
    try:
        (PROC_CONF / family / "conf" / dev / key).write_text(f"{value}\n")
        return True
    except OSError:
        return False


def prevent_arp_flux(dev: str) -> None:
    write_conf("ipv4", dev, "arp_ignore", 1)  # answer only for addresses on this device
    write_conf("ipv4", dev, "arp_announce", 2)  # ARP source = an address of this device


class Netlink:
    def __init__(self, on_change: Callable[[], None], log: Callable[[str], None]) -> None:
        self.on_change = on_change  # a link appeared, vanished, or went up/down
        self.log = log
        self.links: dict[int, Link] = {}
        self._names: dict[str, int] = {}  # name -> index (by_name is on the send path)
        self.cmd = AsyncIPRoute()
        self.mon = AsyncIPRoute()
        # Leases are written by one thread, in order: a sendmsg to rtnetlink waits for the
        # kernel's rtnl lock, which other programs may hold for long, and the event loop
        # (advertisements) must never wait with it.  A takeover's addresses go through it:
        # it runs at carpd --rtprio too.
        self.leases = LeaseSocket()
        self._lease_thread = ThreadPoolExecutor(1, thread_name_prefix="carpd-leases",
                                                initializer=takeover_thread)
        self._renewed: Future[Any] | None = None  # the last renewal handed to the thread
        self._tmp_names = itertools.count()  # names of macvlans not tagged yet
        self._quiet: frozenset[int] = frozenset()  # our macvlans: the monitor skips their addresses
        self._ours: set[int] = set()  # indexes of the links tagged as ours, kept as they change
        self._task: asyncio.Task[None] | None = None

    # -- the table -------------------------------------------------------------------

    def by_name(self, name: str) -> Link | None:
        index = self._names.get(name)
        return self.links.get(index) if index is not None else None

    def first_ipv4(self, name: str) -> str | None:
        link = self.by_name(name)
        return link.addrs4[0] if link and link.addrs4 else None

    def linklocal6(self, name: str) -> str | None:
        link = self.by_name(name)
        return link.linklocal6[0] if link and link.linklocal6 else None

    async def start(self) -> None:
        # Subscribe before dumping so no event falls between the two.
        await self.mon.bind(groups=RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)
        await self._dump()
        self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _dump(self) -> None:
        """(Re)build the table from scratch; others never see it half-built."""
        links = [msg async for msg in await self.cmd.link("dump")]
        addrs = [msg async for msg in await self.cmd.addr("dump")]
        self.links.clear()
        self._names.clear()
        self._ours.clear()
        for msg in links:
            self._link_msg(msg, "RTM_NEWLINK")
        for msg in addrs:
            self._addr_msg(msg, "RTM_NEWADDR")
        self._quiet_ours()

    async def _watch(self) -> None:
        while True:
            try:
                async for msg in self.mon.get():
                    event = msg.get("event")
                    if event in ("RTM_NEWLINK", "RTM_DELLINK"):
                        if self._link_msg(msg, event):
                            self.on_change()
                        self._quiet_ours()
                    elif event in ("RTM_NEWADDR", "RTM_DELADDR"):
                        self._addr_msg(msg, event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. ENOBUFS after a flood: events were lost
                self.log(f"netlink monitor: {exc!r}; re-reading all links")
                await asyncio.sleep(0.1)
                try:
                    await self._dump()
                except Exception as dump_exc:
                    self.log(f"netlink dump: {dump_exc!r}")
                self.on_change()

    def _link_msg(self, msg: Any, event: str) -> bool:
        """Update the table; True when existence or up-ness changed."""
        index = msg["index"]
        old = self.links.get(index)
        if event == "RTM_DELLINK":
            self._forget(index)
            return old is not None
        link = Link(
            index=index,
            name=msg.get("ifname") or (old.name if old else ""),
            flags=msg["flags"],
            alias=msg.get("ifalias"),
            mac=msg.get("address"),
            parent=msg.get("link"),
            addrs4=old.addrs4 if old else [],
            linklocal6=old.linklocal6 if old else [],
        )
        if old is not None and old.name != link.name:
            self._names.pop(old.name, None)
        self.links[index] = link
        self._names[link.name] = index
        if link.alias == TAG:
            self._ours.add(index)
        else:
            self._ours.discard(index)
        born = old is not None and old.name.startswith(TMP_PREFIX)  # named (tag may follow)
        ours = born or link.alias == TAG or link.name.startswith(TMP_PREFIX)
        if ours and (old is None or old.name == link.name or born):
            # one of our macvlans made, named or set up or down: nothing for the daemon to
            # reconcile (a pass over a thousand interfaces per event was most of a write's
            # acknowledgement time); its deletion, or a rename by hand, does count
            return False
        return old is None or old.up != link.up or old.name != link.name

    def _quiet_ours(self) -> None:
        """The monitor hears no address changes of carpd's own macvlans (their addresses
        matter to nobody here, and every lease renewal is one)."""
        if self._ours != self._quiet:  # (not a scan of every link: one per link event)
            ours = frozenset(self._ours)
            try:
                attach_filter(self.mon.fileno(), quiet_filter(ours) if ours else None)
            except OSError as exc:
                self.log(f"netlink monitor filter: {exc.strerror}")
            self._quiet = ours

    def _forget(self, index: int) -> None:
        self._ours.discard(index)
        link = self.links.pop(index, None)
        if link is not None and self._names.get(link.name) == index:
            del self._names[link.name]

    def _addr_msg(self, msg: Any, event: str) -> None:
        link = self.links.get(msg["index"])
        addr = msg.get("address")
        if link is None or addr is None:
            return
        if msg.get("family") == 2:
            table, usable = link.addrs4, True
        elif msg.get("family") == 10 and addr.startswith("fe80:"):
            table, usable = link.linklocal6, not msg.get("flags", 0) & IFA_F_UNUSABLE
        else:
            return
        if event == "RTM_NEWADDR" and usable:
            if addr not in table:
                table.append(addr)
        elif addr in table:
            table.remove(addr)

    # -- macvlans --------------------------------------------------------------------

    async def ensure_macvlan(self, name: str, carpdev: str, mac: str) -> int | None:
        """The macvlan `name` on `carpdev` with `mac`, created if needed; its index."""
        parent = self.by_name(carpdev)
        if parent is None:
            return None
        mac = mac.lower()
        link = self.by_name(name)
        if link is not None:
            ours = link.alias == TAG or (link.mac or "").startswith(VIRTUAL_MAC_PREFIX)
            if not ours:
                self.log(f"{name}: exists and was not created by carpd; not touching it")
                return None
            if link.parent == parent.index and (link.mac or "").lower() == mac:
                if link.alias != TAG:
                    await self.cmd.link("set", index=link.index, ifalias=TAG)
                return link.index
            await self.delete(name)  # wrong parent or MAC: recreate
        # The tag cannot ride on RTM_NEWLINK (the kernel ignores IFLA_IFALIAS there), so
        # the macvlan is born under a name of carpd's own, and one request then names and
        # tags it: a carpd killed in between leaves a "carpd~N" link, which the watchdog
        # and the next carpd remove as they remove tagged ones, never an untagged orphan.
        tmp = f"{TMP_PREFIX}{next(self._tmp_names)}"
        await self.cmd.link(
            "add", ifname=tmp, kind="macvlan", link=parent.index,
            macvlan_mode="bridge", address=mac,
        )
        index = (await self.cmd.link_lookup(ifname=tmp))[0]
        try:
            await self.cmd.link("set", index=index, ifname=name, ifalias=TAG)
        except NetlinkError:
            with contextlib.suppress(NetlinkError):
                await self.cmd.link("del", index=index)
            raise
        prevent_arp_flux(carpdev)
        prevent_arp_flux(name)
        write_conf("ipv6", name, "accept_dad", 0)  # virtual addresses are expected twice
        write_conf("ipv6", name, "accept_ra", 0)
        return index

    async def delete(self, name: str) -> None:
        link = self.by_name(name)
        if link is None:
            return
        with contextlib.suppress(NetlinkError):
            await self.cmd.link("del", index=link.index)
        self._forget(link.index)

    async def set_master(self, name: str, addresses: list[Address], lease: int) -> int | None:
        """Link up and exactly `addresses` (and, with IPv6 ones, the link-local that goes
        with them), each valid for `lease` seconds from now; the link's index (None: no
        such link)."""
        link = self.by_name(name)
        if link is None:
            return None
        # No IPv6 at all on a macvlan without IPv6 addresses: no link-local, so nothing of
        # the kernel's own (an MLD report...) can ever leave it with the virtual MAC as its
        # source -- not even in the moment between carpd's death, which takes its egress
        # program with it, and the watchdog's deletion of the link.
        ipv6 = any(":" in a.address for a in addresses)
        if ipv6:  # its link-local is a lease like the rest (linklocal_leases), not the kernel's
            write_conf("ipv6", name, "addr_gen_mode", ADDR_GEN_MODE_NONE)
        write_conf("ipv6", name, "disable_ipv6", 0 if ipv6 else 1)
        await self.cmd.link("set", index=link.index, state="up")
        entries = self.linklocal_leases([(link.index, a) for a in addresses])
        want = {(a.address, a.prefixlen) for _, a in entries}
        have = await self._addresses(link.index)
        for addr, plen in have - want:
            await self._del_addr(link.index, addr, plen)
        held = self._lease_thread.submit(self.leases.hold, entries, lease, True)
        self._report(await asyncio.wrap_future(held))
        return link.index

    def linklocal_leases(self, entries: list[tuple[int, Address]]) -> list[tuple[int, Address]]:
        """`entries` and, for each macvlan among them with an IPv6 address, its link-local
        (the virtual MAC's EUI-64), held as a lease with them: the kernel's own would stay
        after the whole service died, answering neighbour solicitations with the virtual
        MAC and pulling the switch's entry for it away from the new master."""
        v6 = {index for index, a in entries if ":" in a.address}
        if not v6:
            return entries
        out = list(entries)
        for index in sorted(v6):
            link = self.links.get(index)
            if link is not None and link.mac:
                out.append((index, Address(eui64_linklocal(link.mac), 64)))
        return out

    def renew(self, entries: list[tuple[int, Address]], lease: int) -> None:
        """Restart the lifetime of every (ifindex, address), and of the link-locals that
        go with them, in one sendmsg, in the lease thread: returns at once."""
        entries = self.linklocal_leases(entries)
        loop = asyncio.get_running_loop()
        done = self._renewed = self._lease_thread.submit(self.leases.hold, entries, lease)

        def report(fut: Future[list[tuple[int, Address, int]]]) -> None:
            if not fut.cancelled() and fut.exception() is None and fut.result():
                with contextlib.suppress(RuntimeError):  # the loop has closed: no one to tell
                    loop.call_soon_threadsafe(self._report, fut.result())

        done.add_done_callback(report)

    async def leases_written(self) -> None:
        """Until every renewal handed to the lease thread so far has been written (so that
        none can put back an address withdrawn after this).  The thread runs them in
        order, so that is the last one; done already, as on a backup's takeover, there
        is no round trip through the thread to wait for."""
        last = self._renewed
        if last is not None and not last.done():
            await asyncio.wait([asyncio.wrap_future(last)])

    def _report(self, failed: list[tuple[int, Address, int]]) -> None:
        for index, addr, code in failed:
            if code != errno.ENODEV:  # gone meanwhile: re-created and set up again
                self.log(f"address {addr.address}/{addr.prefixlen} on link {index}: "
                         f"{os.strerror(code)}")

    async def set_backup(self, name: str) -> None:
        """No addresses, link down: the host does not answer for the virtual addresses."""
        link = self.by_name(name)
        if link is None:
            return
        for addr, plen in await self._addresses(link.index):
            await self._del_addr(link.index, addr, plen)
        with contextlib.suppress(NetlinkError):
            await self.cmd.link("set", index=link.index, state="down")

    async def _addresses(self, index: int) -> set[tuple[str, int]]:
        """The link's addresses, read in the lease thread (after the renewals handed to
        it), the kernel filtering by link (carp.daemon.linkaddrs)."""
        return await asyncio.wrap_future(self._lease_thread.submit(link_addresses, index))

    async def _del_addr(self, index: int, addr: str, plen: int) -> None:
        try:
            await self.cmd.addr("del", index=index, address=addr, prefixlen=plen)
        except NetlinkError as exc:
            if exc.code not in (errno.EADDRNOTAVAIL, errno.ENODEV):
                raise

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._lease_thread.shutdown(wait=True, cancel_futures=True)
        self.cmd.close()
        self.mon.close()
        self.leases.close()
