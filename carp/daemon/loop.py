"""carpd's event loop: the pure CarpHost wired to sockets, netlink, timers and the store.

Every input (a received datagram, a timer, a link change, a store reload) becomes one call
into the host; its actions are carried out in two passes -- sends first, so an
advertisement is never delayed by netlink work -- and then the single timer is re-armed to
host.next_deadline() (loop.call_at on the loop's monotonic clock, which is also `now`).

Netlink work (macvlans, addresses) runs in one background task, in order: a takeover's
addresses are in place before its gratuitous ARP goes out.  Lease renewals (carp.lease)
are the exception: they are handed at once, after the sends of the same pass, all of one
pass in one sendmsg, to the lease thread (carp.daemon.netlink), for the macvlans whose
addresses are in place (`holding`); a job that changes a macvlan's addresses first waits
until the renewals handed over before it are written.

Balanced carpnodes interfaces (carp/daemon/lbfilter.py) get their kernel filter's state
word stored in the very turn that changes a node's state, before any netlink work.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import gc
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError

from carp import wire
from carp.actions import NOT_SENT, Action, Announce, Count, Lease, Log, Send, StateChange
from carp.balance import Answer
from carp.config import Address, macvlan_mac
from carp.daemon import control, sdnotify
from carp.daemon.arp import NeighbourResponder
from carp.daemon.hooks import Event, GroupWatch, HookRunner
from carp.daemon.lbfilter import Balancer, Placement
from carp.daemon.netlink import Netlink, prevent_arp_flux, write_conf
from carp.daemon.sockets import CarpdevSockets
from carp.daemon.status import StatusWriter
from carp.daemon.syslog import Logger
from carp.daemon.timerfd import LoopTimer
from carp.daemon.trace import Trace
from carp.host import CarpHost
from carp.interface_table import carry_over
from carp.mac import PARENT_MAC
from carp.states import MASTER
from carp.store import State, Store, StoreError, netns_name
from carp.sysif import resolve  # the BSD -> Linux interface name map

Job = Callable[[], Awaitable[None]]
STORE_POLL = 1.0  # seconds between checks of the store file (edits without "sync")
SHUTDOWN_JOBS_TIMEOUT = 3.0
SYNC_JOBS_TIMEOUT = 1.0
MAX_RX_AGE = 1.0  # a kernel receive time older than this means the wall clock stepped
LATE_TIMER = 0.001  # a timer this late may have advertisements queued behind it






@dataclass(frozen=True)
class Macvlan:
    """What carpd has realised for one carp interface."""

    linux_name: str
    carpdev: str  # Linux name
    mac: str


class Daemon:
    def __init__(
        self, store: Store, hooks_dir: Path, log: Logger, hook_watch: GroupWatch | None = None,
        metrics_listen: str | None = None, trace: Trace | None = None,
    ) -> None:
        self.store = store
        self.metrics_listen = metrics_listen  # carpd --metrics ADDR:PORT, else no metrics
        self.trace = trace  # carpd --trace: timing events for bench_takeover
        self.log = log
        self.hooks_dir = hooks_dir
        self.hook_watch = hook_watch  # the watchdog, which kills running hooks if we die
        self.state = State()
        self.applied = 0
        self.started = time.time()
        self.host: CarpHost | None = None
        self.socks: dict[str, CarpdevSockets] = {}  # store carpdev name -> sockets
        self.devmap: dict[str, str] = {}  # store carpdev name -> Linux name
        self.reported_up: dict[str, bool] = {}  # last link state given to the host
        self.macvlans: dict[str, Macvlan] = {}  # interface key -> realised macvlan
        self._creating: set[str] = set()  # keys whose ensure job has not run yet
        self.holding: dict[str, int] = {}  # key -> macvlan index holding the addresses
        self.mv_index: dict[str, int] = {}  # interface key -> its macvlan's ifindex
        self.vstate: dict[tuple[str, int], str] = {}  # (interface key, vhid) -> state
        self.extra_counters: dict[str, int] = {}  # rejects the host never sees
        self.ip_id = random.getrandbits(16)
        self.tclass6 = 0
        self.timer: LoopTimer | None = None  # the one protocol timer, made by run()
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._store_stamp: tuple[int, int, int] | None = None
        self._links_pending = False
        self.closing = False  # shutting down: no reloads, no macvlan (re)creation
        self.stopping = asyncio.Event()

    # -- life cycle --------------------------------------------------------------------

    async def run(self) -> int:
        self.loop = asyncio.get_running_loop()
        self.loop.set_exception_handler(self._loop_error)
        try:
            state = self.store.load(private=True)
        except (StoreError, ValueError) as exc:
            self.log.error(str(exc))
            return 1
        self.nl = Netlink(on_change=self._links_changed, log=self.log.warning)
        self.arp = NeighbourResponder(self.loop, self._neighbour_answer, self.log.warning)
        self.balancer = Balancer(self.log.warning)
        await self.nl.start()
        self.timer = LoopTimer(self.loop, self._on_timer, self.log.warning)
        self.hooks = HookRunner(self.hooks_dir, self.log.warning, watch=self.hook_watch)
        self.status = StatusWriter(self.store, self._status, self.log.error)
        self._tasks.append(self.loop.create_task(self._job_worker()))
        self._tasks.append(self.loop.create_task(self._poll_store()))
        self._store_stamp = self._stamp()
        self.apply(state)
        stop_metrics = self._serve_metrics()
        server = await control.serve(
            self.store.socket_path, self._sync, self._counters, self._status
        )
        self.loop.add_signal_handler(signal.SIGTERM, self.stopping.set)
        self.loop.add_signal_handler(signal.SIGINT, self.stopping.set)
        self.loop.add_signal_handler(signal.SIGHUP, lambda: self.reload(force=True))
        # pyroute2, asyncio and the store live for the whole run: keep them out of the
        # collector's scans so a GC pass never lands on a timer (takeover overshoot)
        gc.freeze()
        sdnotify.notify(f"READY=1\nMAINPID={os.getpid()}")
        self.log.info(f"started (personality {state.personality}, store {self.store.rundir})")
        await self.stopping.wait()
        sdnotify.notify("STOPPING=1")
        server.close()
        await self._shutdown()
        if stop_metrics is not None:
            stop_metrics()
        return 0

    def _serve_metrics(self) -> Callable[[], None] | None:
        """The metrics process (carp/daemon/metrics.py), if asked for; carp runs on
        without it should it fail."""
        if self.metrics_listen is None:
            return None
        from carp.daemon import metrics

        try:
            proc = metrics.spawn(self.metrics_listen, self.store.rundir)
        except OSError as exc:
            self.log.error(f"metrics: cannot start: {exc.strerror}")
            return None
        # it says itself, on the standard error, if it cannot listen there
        self.log.info(f"metrics process {proc.pid} for http://{self.metrics_listen}/metrics")

        def stop() -> None:
            assert proc.stdin is not None
            proc.stdin.close()  # its signal to leave
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

        return stop

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """A bug in one callback is logged (to syslog) and the protocol keeps running."""
        exc = context.get("exception")
        self.log.error(f"internal error: {context.get('message')}: {exc!r}")

    async def _shutdown(self) -> None:
        """Bow out, withdraw the addresses, remove our interfaces."""
        self.closing = True
        if self.host is not None:
            self.dispatch(self.host.shutdown(self.loop.time()))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._jobs.join(), SHUTDOWN_JOBS_TIMEOUT)
        for key in list(self.macvlans):
            with contextlib.suppress(Exception):
                await self.nl.delete(self.macvlans.pop(key).linux_name)
        await self.hooks.shutdown()  # the INIT hooks, within one hook timeout in all
        for task in self._tasks:
            task.cancel()
        if self.timer is not None:
            self.timer.close()
        for dev in list(self.socks):
            self._close_sockets(dev)
        self.arp.close()
        self.balancer.close()
        self.status.remove()
        with contextlib.suppress(OSError):
            self.store.socket_path.unlink()
        self.nl.close()
        if self.trace is not None:
            self.trace.close()
        self.log.info("stopped")

    # -- configuration -------------------------------------------------------------------

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.store.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    async def _poll_store(self) -> None:
        """A store changed without a "sync" (front end timed out, edited by hand)."""
        while True:
            await asyncio.sleep(STORE_POLL)
            if self._stamp() != self._store_stamp:
                self.reload()

    async def _sync(self, generation: int) -> int:
        if generation > self.applied or self._stamp() != self._store_stamp:
            self.reload()
        # "applied" includes the interfaces: a front end that renders right after the
        # commit finds the macvlan (bounded, as a hung netlink call must not hang it).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._jobs.join(), SYNC_JOBS_TIMEOUT)
        return self.applied

    def reload(self, force: bool = False) -> None:
        if self.closing:
            return
        self._store_stamp = self._stamp()
        try:
            state = self.store.load(private=True)
        except (StoreError, ValueError) as exc:
            self.log.error(f"store not reloaded: {exc}")
            return
        if force or state.generation != self.applied or self.host is None:
            try:
                self.apply(state)
            except Exception as exc:  # keep running on the previous configuration
                self.log.error(f"store generation {state.generation} not applied: {exc!r}")

    def apply(self, state: State) -> None:
        """Give the host the store's configuration; it applies only the difference."""
        now = self.loop.time()
        if self.host is not None and self.host.personality != state.personality:
            # `carpd --personality` changed the kernel we imitate: start that kernel afresh.
            self.dispatch(self.host.shutdown(now))
            self.host = None
            self.reported_up.clear()
        if self.host is None:
            self.host = CarpHost(
                personality=state.personality, name=netns_name() or socket.gethostname()
            )
        carry_over(state.interfaces, self.state.interfaces)  # unchanged: no conversion
        self.state = state
        sc = {**self.host.sysctl, **state.sysctl}
        self.tclass6 = self.host.policy.tos(6, sc)  # for the sends the kernel frames
        for socks in self.socks.values():  # net.inet.carp.dscp applies live
            socks.set_tclass6(self.tclass6)
        acts = self._sync_carpdevs(now)
        acts += self.host.configure(state.sysctl, state.interfaces, state.groups, now)
        self._sync_macvlans()
        self._sync_arp()
        self._sync_balance()
        self.dispatch(acts, force_status=True)
        self.applied = state.generation
        self.status.write_now()
        self.log.debug(f"applied generation {state.generation}")

    def _sync_carpdevs(self, now: float) -> list[Action]:
        """Sockets for every carpdev in use; link state changes to the host."""
        assert self.host is not None
        wanted = {dev for ci in self.state.interfaces.values() if (dev := ci.parent)}
        acts: list[Action] = []
        self.devmap = {dev: resolve(dev, self.state) for dev in wanted}
        for dev in list(self.socks):
            link = self.nl.by_name(self.devmap.get(dev, ""))
            if dev not in wanted or link is None or link.index != self.socks[dev].ifindex:
                self._close_sockets(dev)
        for dev in sorted(wanted):
            linux = self.devmap[dev]
            link = self.nl.by_name(linux)
            if link is not None and dev not in self.socks:
                try:
                    self._open_sockets(dev, linux, link.index)
                except OSError as exc:
                    self.log.error(f"{linux}: cannot open carp sockets: {exc.strerror}")
            up = link is not None and link.up and dev in self.socks
            if self.reported_up.get(dev, True) != up:
                acts += self.host.link(dev, up, now)
            self.reported_up[dev] = up
        for dev in list(self.reported_up):
            if dev not in wanted:
                del self.reported_up[dev]
        return acts

    def _open_sockets(self, dev: str, linux: str, ifindex: int) -> None:
        socks = CarpdevSockets(linux, ifindex, self.tclass6)
        prevent_arp_flux(linux)
        self.socks[dev] = socks
        self.loop.add_reader(socks.rx4.fileno(), self._receive4, dev)
        if socks.rx6 is not None:
            self.loop.add_reader(socks.rx6.fileno(), self._receive6, dev)

    def _close_sockets(self, dev: str) -> None:
        socks = self.socks.pop(dev, None)
        if socks is None:
            return
        for fd in socks.filenos():
            self.loop.remove_reader(fd)
        socks.close()

    def _sync_macvlans(self) -> None:
        """Create/replace/remove macvlans to match the store (in the netlink task)."""
        wanted: dict[str, Macvlan] = {}
        for key, ci in self.state.interfaces.items():
            dev = ci.parent
            if not dev or not ci.nodes:
                continue
            linux_dev = self.devmap.get(dev, dev)
            if self.nl.by_name(linux_dev) is None:
                continue
            wanted[key] = Macvlan(ci.linux_name, linux_dev, macvlan_mac(ci))
        for key, old in list(self.macvlans.items()):
            new = wanted.get(key)
            if new is None or new.linux_name != old.linux_name:
                del self.macvlans[key]
                self.holding.pop(key, None)
                if self.nl.by_name(old.carpdev) is not None:  # else the kernel removed it
                    self._job(functools.partial(self.nl.delete, old.linux_name))
        for key, mv in wanted.items():
            if self.macvlans.get(key) != mv:
                self.macvlans[key] = mv
                self._creating.add(key)
                self._job(functools.partial(self._ensure, key, mv))

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
            self.macvlans.pop(key, None)
            return
        # the egress program before the link goes up: not one frame of the kernel's own
        # (an MLD report...) leaves a balanced macvlan unrewritten
        self.mv_index[key] = index
        self._sync_balance()
        await self._apply_state(key)  # a re-created macvlan gets its addresses back

    def _links_changed(self) -> None:
        """Netlink saw a link appear, vanish or go up/down: coalesce into one pass."""
        if not self._links_pending:
            self._links_pending = True
            self.loop.call_soon(self._on_links)

    def _on_links(self) -> None:
        self._links_pending = False
        if self.host is None or self.closing:
            return
        acts = self._sync_carpdevs(self.loop.time())
        for key, mv in list(self.macvlans.items()):
            if key not in self._creating and self.nl.by_name(mv.linux_name) is None:
                # Gone with its carpdev, or deleted by hand: _sync_macvlans re-creates it
                # when the carpdev is there (ensure_macvlan is idempotent).
                del self.macvlans[key]
                self.holding.pop(key, None)
        self._sync_macvlans()
        self._sync_arp()
        self._sync_balance()
        self.dispatch(acts)

    def _sync_arp(self) -> None:
        """When the addresses carpd answers for itself change (arpbalance, balanced
        carpnodes), every macvlan's arp_ignore follows (in _apply_state, before any
        address is added)."""
        assert self.host is not None
        if self.arp.sync(self.host.answered(), self.devmap):
            for key in list(self.macvlans):
                self._job(functools.partial(self._apply_state, key))

    def _neighbour_answer(self, dev: str, target: str, sender_mac: str | None,
                          sender_ip: str) -> Answer | None:
        if self.host is None or self.closing:
            return None
        found = self.host.neighbour_answer(dev, target, sender_mac, sender_ip)
        if found is None:
            return None
        key, ans = found
        sh = self.balancer.shares.get(key)
        if sh is not None and sh.mode == "arp":  # the kernel's own requests must agree
            self.balancer.note_peer(key, sender_ip, ans.node, sh.vhids[ans.node])
        return ans

    def _sync_balance(self) -> None:
        """The kernel filter of every balanced carpnodes interface (lbfilter.Balancer)."""
        assert self.host is not None
        shares = self.host.shares()
        placed: dict[str, Placement] = {}
        for key, sh in shares.items():
            dev = self.nl.by_name(self.devmap.get(sh.carpdev, sh.carpdev))
            mv_index = self.mv_index.get(key, 0) if key in self.macvlans else 0
            placed[key] = Placement(dev.index if dev else 0, mv_index,
                                    (dev.mac or "") if dev else "")
        words = {key: self.host.state_word(key) for key in shares}
        self.balancer.sync(shares, words, placed)

    # -- actions -----------------------------------------------------------------------

    def dispatch(self, acts: list[Action], force_status: bool = False) -> None:
        """Carry out actions: sends first, then state, logs, announcements; re-arm."""
        follow: list[Action] = []  # what the core makes of send errors (demotion, logs)
        now = self.loop.time()
        host = self.host
        for act in acts:
            if isinstance(act, Send):
                error = self._send(act)
                if host is not None:
                    follow += host.send_result(act, error, now)
        changed = force_status
        counted = False
        renew: dict[str, int] = {}  # interface key -> lease seconds
        for act in acts:
            if isinstance(act, Count):
                counted = True
            elif isinstance(act, Lease):
                renew[act.ifname] = act.seconds
            elif isinstance(act, Log):
                self._log_kernel(act)
            elif isinstance(act, StateChange):
                changed = True
                self._state_change(act)
            elif isinstance(act, Announce):
                self._job(functools.partial(self._announce, act))
        if renew:
            self._renew(renew)
        if changed and not force_status:
            self.status.write_now()
        elif counted:
            self.status.changed()
        self._rearm()
        if follow:
            self.dispatch(follow)
        if self.trace is not None:
            self.trace.flush()

    def _log_kernel(self, act: Log) -> None:
        # the core already filtered by net.inet.carp.log and chose the priority
        self.log.emit(act.priority, act.text)

    def _state_change(self, act: StateChange) -> None:
        self.vstate[(act.ifname, act.vhid)] = act.new
        if self.host is not None:  # the kernel filter first: no packet waits for netlink
            self.balancer.set_word(act.ifname, self.host.state_word(act.ifname))
        self._job(functools.partial(self._apply_state, act.ifname))
        ci = self.state.interfaces.get(act.ifname)
        ifname = ci.name if ci is not None else act.ifname.split(":", 1)[0]
        self.hooks.submit(Event(act.vhid, ifname, act.new, act.carpdev))

    def _renew(self, renew: dict[str, int]) -> None:
        """The leases of these interfaces' addresses, from now: one batch per lease length."""
        batches: dict[int, list[tuple[int, Address]]] = {}
        for key, seconds in renew.items():
            index = self.holding.get(key)
            ci = self.state.interfaces.get(key)
            if index is None or ci is None:
                continue  # not in place yet: _apply_state adds them with their lease
            batches.setdefault(seconds, []).extend((index, a) for a in ci.addresses)
        for seconds, entries in batches.items():
            self.nl.renew(entries, seconds)

    def _lease_seconds(self, key: str) -> int:
        """The longest lease any MASTER vhid of the interface asks for."""
        ci = self.state.interfaces.get(key)
        if self.host is None or ci is None:
            return 1
        vhosts = (self.host.vhosts.get((key, node.vhid)) for node in ci.nodes)  # not all
        return max((v.lease_plan().seconds for v in vhosts if v is not None and v.state == MASTER),
                   default=1)

    async def _apply_state(self, key: str) -> None:
        """The macvlan holds the addresses iff one of the interface's vhids is MASTER."""
        mv = self.macvlans.get(key)
        ci = self.state.interfaces.get(key)
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
                                             self._lease_seconds(key))
            if index is not None and self.macvlans.get(key) == mv:
                self.holding[key] = index
        else:
            await self.nl.set_backup(mv.linux_name)

    async def _announce(self, act: Announce) -> None:
        """Gratuitous ARP / unsolicited NA, after the addresses are in place."""
        if self.vstate.get((act.ifname, act.vhid)) != MASTER:
            return
        socks = self.socks.get(act.carpdev)
        if socks is None:
            return
        for addr in act.addresses:
            try:
                if ":" in addr:
                    socks.send_frame(wire.unsolicited_na(act.mac, addr), wire.ETH_P_IPV6)
                else:
                    socks.send_frame(wire.gratuitous_arp(act.mac, addr), wire.ETH_P_ARP)
            except OSError as exc:
                self.log.debug(f"{socks.name}: announce {addr}: {exc.strerror}")

    def _send(self, act: Send) -> int | None:
        """Put one advertisement on the wire; the errno of a failure (NOT_SENT: no
        source to send it from), else None."""
        socks = self.socks.get(act.carpdev)
        if socks is None:
            return None
        payload = act.payload
        try:
            if act.family == 4:
                src = self.nl.first_ipv4(socks.name) or "0.0.0.0"
                if not act.sealed:  # VRRPv3: the checksum covers this source
                    payload = wire.vrrp_seal(payload, src, act.dst)
                ident = 0 if act.zero_ip_id else self._next_id()
                dgram = wire.build_ipv4(src, act.dst, payload, act.tos, ident)
                if not wire.is_multicast(act.dst):
                    socks.send_ip4(dgram, act.dst)
                    return None
                group_mac, ethertype = wire.ipv4_multicast_mac(act.dst), wire.ETH_P_IP
            elif wire.is_multicast(act.dst) and (src6 := self.nl.linklocal6(socks.name)):
                if not act.sealed:
                    payload = wire.vrrp_seal(payload, src6, act.dst)
                dgram = wire.build_ipv6(src6, act.dst, payload, tclass=act.tos)
                group_mac, ethertype = wire.ipv6_multicast_mac(act.dst), wire.ETH_P_IPV6
            elif not act.sealed:  # VRRPv3 without a usable link-local: no valid source yet
                return NOT_SENT
            else:  # a peer6, or no usable link-local yet: the kernel picks source and MAC
                socks.send_ip6(payload, act.dst)
                return None
            src_mac = act.src_mac or wire.virtual_mac(act.vhid)
            if src_mac == PARENT_MAC:
                link = self.nl.by_name(socks.name)
                src_mac = link.mac if link is not None and link.mac else wire.virtual_mac(act.vhid)
            frame = wire.ethernet_frame(group_mac, src_mac, ethertype, dgram)
            if self.trace is not None:  # the call, not its return: the frame may be
                self.trace.send(act.vhid, time.time())  # on the bridge before it returns
            socks.send_frame(frame, ethertype)
        except OSError as exc:
            return exc.errno or errno.EIO
        return None

    def _next_id(self) -> int:
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        return self.ip_id

    # -- input -------------------------------------------------------------------------

    def _receive4(self, dev: str) -> None:
        socks, host = self.socks.get(dev), self.host
        if socks is None or host is None:
            return
        local = self.nl.first_ipv4(dev) or ""  # the source our adverts leave from
        acts: list[Action] = []
        ttl_first = host.policy.ttl_first_v4
        bad_ttls: list[int] = []
        received = socks.recv4()
        read_at = self.loop.time(), time.time()
        for dgram, stamp in received:
            if ttl_first and len(dgram) >= 20 and dgram[8] != 255:
                # The first check drops it (the kernel checked the IP header): counted
                # and logged without parsing, at two thirds of the cost, under a flood of
                # them -- all that an attacker off the link can send (bench_flood.py).
                bad_ttls.append(dgram[8])
                continue
            info = wire.parse_ipv4(dgram)
            if isinstance(info, wire.Reject):  # never reaches the host: count it here
                for stat in ("ipackets", info.stat):
                    self.extra_counters[stat] = self.extra_counters.get(stat, 0) + 1
                acts.append(Count(info.stat))
                continue
            now = self._arrival(stamp, read_at)
            acts += host.packet(dev, 4, info.src, info.dst, info.ttl, info.payload, now, local)
        if bad_ttls:
            acts += host.bad_ttl(dev, bad_ttls)
        if acts:
            self.dispatch(acts)
        if self.trace is not None:
            self._trace_rx([stamp for _dgram, stamp in received], read_at)

    def _receive6(self, dev: str) -> None:
        socks, host = self.socks.get(dev), self.host
        if socks is None or host is None:
            return
        local = self.nl.linklocal6(dev) or ""
        acts: list[Action] = []
        received = socks.recv6()
        read_at = self.loop.time(), time.time()
        for pkt in received:
            now = self._arrival(pkt.stamp, read_at)
            acts += host.packet(dev, 6, pkt.src, pkt.dst, pkt.hoplimit, pkt.payload, now, local)
        if acts:
            self.dispatch(acts)
        if self.trace is not None:
            self._trace_rx([pkt.stamp for pkt in received], read_at)

    def _arrival(self, stamp: float | None, read_at: tuple[float, float]) -> float:
        """When an advertisement arrived, on the loop's clock: the kernel's receive time,
        so a master-down timer runs from the advertisement, however late carpd got to
        read it (a busy loop, a GC pass, another process on the CPU)."""
        mono, wall = read_at
        if stamp is None or not 0.0 <= wall - stamp <= MAX_RX_AGE:
            return mono
        return mono - (wall - stamp)

    def _trace_rx(self, stamps: list[float | None], read_at: tuple[float, float]) -> None:
        assert self.trace is not None
        mono, wall = read_at
        for stamp in stamps:
            self.trace.rx(stamp, wall, wall - (mono - self._arrival(stamp, read_at)))
        self.trace.flush()

    # -- the one timer -----------------------------------------------------------------

    def _rearm(self) -> None:
        if self.host is not None and self.timer is not None:
            self.timer.arm(self.host.next_deadline())

    def _on_timer(self, deadline: float) -> None:
        if self.host is None:
            return
        # call_at may run a hair (clock resolution) early: never hand the host a time
        # before the deadline it asked for, or it would do nothing and spin.
        fired = self.loop.time()
        if fired - deadline > LATE_TIMER:
            self._receive_queued()
        now = max(fired, deadline)
        acts = self.host.timeout(now)
        core = self.loop.time()
        self.dispatch(acts)
        if self.trace is not None:
            offset = self.trace.offset(0.0)
            self.trace.timer(deadline + offset, fired + offset, core + offset)
            self.trace.flush()

    def _receive_queued(self) -> None:
        """Advertisements the kernel received while carpd was held up, read before a late
        timer runs: dated by their arrival, one that came in time moves a master-down
        deadline on, and a backup that was merely slow stays BACKUP."""
        for dev, socks in list(self.socks.items()):
            self._receive4(dev)
            if socks.rx6 is not None:
                self._receive6(dev)

    # -- netlink jobs, in order ----------------------------------------------------------

    def _job(self, job: Job) -> None:
        self._jobs.put_nowait(job)

    async def _job_worker(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.error(f"netlink: {exc}")
            finally:
                self._jobs.task_done()

    # -- status ------------------------------------------------------------------------

    def _counters(self) -> dict[str, int]:
        """The host's counters plus the rejects it never sees: status.json's, and live
        for the control socket's `counters` request."""
        counters = dict(self.host.counters) if self.host is not None else {}
        for stat, n in self.extra_counters.items():
            counters[stat] = counters.get(stat, 0) + n
        return counters

    def _status(self) -> dict[str, Any]:
        assert self.host is not None
        st: dict[str, Any] = self.host.status()
        now, wall = self.loop.time(), time.time()
        counters = self._counters()
        for per_vhid in st.get("vhosts", {}).values():
            for entry in per_vhid.values():  # the host's clock is the loop's: to wall time
                for key in ("since", "heard"):
                    at = entry.get(key)
                    if isinstance(at, int | float) and at > 0:
                        entry[f"{key}_wall"] = round(wall - (now - at), 3)
        return {
            "pid": os.getpid(),
            "applied_generation": self.applied,
            "personality": self.state.personality,
            "started": self.started,
            "updated": wall,
            **st,
            "counters": counters,
            "interfaces": {
                key: {
                    "linux_name": mv.linux_name,
                    "carpdev": mv.carpdev,
                    "mac": mv.mac,
                }
                for key, mv in self.macvlans.items()
            },
        }
