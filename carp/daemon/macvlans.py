"""The carp interfaces realised for carpd's loop: one macvlan each on its carpdev, holding
the interface's addresses (with their leases) iff one of its vhids is MASTER; its
arp_ignore, the neighbour answers carpd gives itself (carp/daemon/arp.py) and the kernel
filter of balanced carpnodes interfaces (carp/daemon/lbfilter.py).

Everything that waits on netlink is a job, queued through `submit` and run in order by
the loop's one job task: a takeover's addresses are in place before its gratuitous ARP
goes out.  The host and the store's interfaces are read through getters (the loop
replaces both on a reload).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError

from carp.actions import Announce, StateChange
from carp.balance import Answer
from carp.config import Address, CarpInterface, macvlan_mac
from carp.daemon.arp import NeighbourResponder
from carp.daemon.carpdev_io import CarpdevIO
from carp.daemon.lbfilter import Balancer, Placement
from carp.daemon.netlink import Netlink, write_conf
from carp.daemon.syslog import Logger
from carp.host import CarpHost
from carp.states import MASTER

Job = Callable[[], Awaitable[None]]  # netlink work, run in order by the loop's job task


@dataclass(frozen=True)
class Macvlan:
    """What carpd has realised for one carp interface."""

    linux_name: str
    carpdev: str  # Linux name
    mac: str


class Macvlans:
    """Every carp interface's macvlan and what it holds, keyed by interface key."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, nl: Netlink, io: CarpdevIO,
        host: Callable[[], CarpHost | None], interfaces: Callable[[], Mapping[str, CarpInterface]],
        submit: Callable[[Job], None], closing: Callable[[], bool], log: Logger,
    ) -> None:
        self.nl = nl
        self.io = io  # its carpdev names, its announcements
        self.host = host
        self.interfaces = interfaces
        self.submit = submit
        self.closing = closing  # shutting down: no neighbour answers
        self.log = log
        self.arp = NeighbourResponder(loop, self.neighbour_answer, log.warning)
        self.balancer = Balancer(log.warning)
        self.realised: dict[str, Macvlan] = {}  # interface key -> realised macvlan
        self._creating: set[str] = set()  # keys whose ensure job has not run yet
        self.holding: dict[str, int] = {}  # key -> macvlan index holding the addresses
        self.index: dict[str, int] = {}  # interface key -> its macvlan's ifindex
        self.vstate: dict[tuple[str, int], str] = {}  # (interface key, vhid) -> state

    # -- the interfaces ------------------------------------------------------------------

    def sync(self) -> None:
        """Macvlans, arp_ignore and kernel filters to match the store and the links."""
        self._sync_macvlans()
        self._sync_arp()
        self.sync_balance()

    def forget_vanished(self) -> None:
        """Macvlans gone with their carpdev, or deleted by hand: the next sync re-creates
        them when the carpdev is there (ensure_macvlan is idempotent)."""
        for key, mv in list(self.realised.items()):
            if key not in self._creating and self.nl.by_name(mv.linux_name) is None:
                del self.realised[key]
                self.holding.pop(key, None)

    def _sync_macvlans(self) -> None:
        """Create/replace/remove macvlans to match the store (in the netlink task)."""
        wanted: dict[str, Macvlan] = {}
        for key, ci in self.interfaces().items():
            dev = ci.parent
            if not dev or not ci.nodes:
                continue
            linux_dev = self.io.devmap.get(dev, dev)
            if self.nl.by_name(linux_dev) is None:
                continue
            wanted[key] = Macvlan(ci.linux_name, linux_dev, macvlan_mac(ci))
        for key, old in list(self.realised.items()):
            new = wanted.get(key)
            if new is None or new.linux_name != old.linux_name:
                del self.realised[key]
                self.holding.pop(key, None)
                if self.nl.by_name(old.carpdev) is not None:  # else the kernel removed it
                    self.submit(functools.partial(self.nl.delete, old.linux_name))
        for key, mv in wanted.items():
            if self.realised.get(key) != mv:
                self.realised[key] = mv
                self._creating.add(key)
                self.submit(functools.partial(self._ensure, key, mv))

    async def _ensure(self, key: str, mv: Macvlan) -> None:
        try:
            index = await self.nl.ensure_macvlan(mv.linux_name, mv.carpdev, mv.mac)
        except NetlinkError as exc:  # e.g. EADDRINUSE: that MAC already on the carpdev
            self.log.error(f"{key}: cannot create macvlan {mv.linux_name} on {mv.carpdev} "
                           f"with {mv.mac}: {os.strerror(exc.code)}")
            index = None
        finally:
            self._creating.discard(key)
        if index is None:
            self.realised.pop(key, None)
            return
        # the egress program before the link goes up: not one frame of the kernel's own
        # (an MLD report...) leaves a balanced macvlan unrewritten
        self.index[key] = index
        self.sync_balance()
        await self.apply_state(key)  # a re-created macvlan gets its addresses back

    async def remove_all(self) -> None:
        """Shutting down: every macvlan deleted, whatever fails."""
        for key in list(self.realised):
            with contextlib.suppress(Exception):
                await self.nl.delete(self.realised.pop(key).linux_name)

    def close(self) -> None:
        self.arp.close()
        self.balancer.close()

    def status(self) -> dict[str, dict[str, Any]]:
        """status.json's "interfaces": what is realised, per interface key."""
        return {key: {"linux_name": mv.linux_name, "carpdev": mv.carpdev, "mac": mv.mac}
                for key, mv in self.realised.items()}

    # -- a vhid's state ------------------------------------------------------------------

    def state_changed(self, act: StateChange) -> None:
        self.vstate[(act.ifname, act.vhid)] = act.new
        host = self.host()
        if host is not None:  # the kernel filter first: no packet waits for netlink
            self.balancer.set_word(act.ifname, host.balancing.state_word(act.ifname))
        self.submit(functools.partial(self.apply_state, act.ifname))

    async def apply_state(self, key: str) -> None:
        """The macvlan holds the addresses iff one of the interface's vhids is MASTER."""
        mv = self.realised.get(key)
        ci = self.interfaces().get(key)
        self.holding.pop(key, None)  # until set_master has put them in place again
        if mv is None:
            return
        await self.nl.leases_written()  # no renewal may put back what set_backup removes
        balanced = ci is not None and self.arp.covers(
            ci.parent, (a.address for a in ci.addresses))
        # arp_ignore 8: never answer ARP (carpd does, for balanced addresses); else 1
        write_conf("ipv4", mv.linux_name, "arp_ignore", 8 if balanced else 1)
        master = any(s == MASTER for (k, _v), s in self.vstate.items() if k == key)
        if master and ci is not None:
            index = await self.nl.set_master(mv.linux_name, ci.addresses,
                                             self.lease_seconds(key))
            if index is not None and self.realised.get(key) == mv:
                self.holding[key] = index
        else:
            await self.nl.set_backup(mv.linux_name)

    async def announce(self, act: Announce) -> None:
        """Gratuitous ARP / unsolicited NA, after the addresses are in place."""
        if self.vstate.get((act.ifname, act.vhid)) == MASTER:
            self.io.announce(act)

    # -- leases --------------------------------------------------------------------------

    def renew(self, renew: dict[str, int]) -> None:
        """The leases of these interfaces' addresses, from now: one batch per lease length."""
        batches: dict[int, list[tuple[int, Address]]] = {}
        interfaces = self.interfaces()
        for key, seconds in renew.items():
            index = self.holding.get(key)
            ci = interfaces.get(key)
            if index is None or ci is None:
                continue  # not in place yet: apply_state adds them with their lease
            batches.setdefault(seconds, []).extend((index, a) for a in ci.addresses)
        for seconds, entries in batches.items():
            self.nl.renew(entries, seconds)

    def lease_seconds(self, key: str) -> int:
        """The longest lease any MASTER vhid of the interface asks for."""
        ci = self.interfaces().get(key)
        host = self.host()
        if host is None or ci is None:
            return 1
        vhosts = (host.vhosts.get((key, node.vhid)) for node in ci.nodes)  # not all
        return max((v.lease_plan().seconds for v in vhosts if v is not None and v.state == MASTER),
                   default=1)

    # -- what carpd answers itself, and the kernel filters --------------------------------

    def _sync_arp(self) -> None:
        """When the addresses carpd answers for itself change (arpbalance, balanced
        carpnodes), every macvlan's arp_ignore follows (in apply_state, before any
        address is added)."""
        host = self.host()
        assert host is not None
        if self.arp.sync(host.balancing.answered(), self.io.devmap):
            for key in list(self.realised):
                self.submit(functools.partial(self.apply_state, key))

    def neighbour_answer(self, dev: str, target: str, sender_mac: str | None,
                         sender_ip: str) -> Answer | None:
        host = self.host()
        if host is None or self.closing():
            return None
        found = host.balancing.neighbour_answer(dev, target, sender_mac, sender_ip)
        if found is None:
            return None
        key, ans = found
        sh = self.balancer.shares.get(key)
        if sh is not None and sh.mode == "arp":  # the kernel's own requests must agree
            self.balancer.note_peer(key, sender_ip, ans.node, sh.vhids[ans.node])
        return ans

    def sync_balance(self) -> None:
        """The kernel filter of every balanced carpnodes interface (lbfilter.Balancer)."""
        host = self.host()
        assert host is not None
        shares = host.balancing.shares()
        placed: dict[str, Placement] = {}
        for key, sh in shares.items():
            dev = self.nl.by_name(self.io.devmap.get(sh.carpdev, sh.carpdev))
            mv_index = self.index.get(key, 0) if key in self.realised else 0
            placed[key] = Placement(dev.index if dev else 0, mv_index,
                                    (dev.mac or "") if dev else "")
        words = {key: host.balancing.state_word(key) for key in shares}
        self.balancer.sync(shares, words, placed)
