"""carpd's event loop: the pure CarpHost wired to sockets, netlink, timers and the store.

Every input (a received datagram, a timer, a link change, a store reload) becomes one call
into the host; its actions are carried out in two passes -- sends first, so an
advertisement is never delayed by netlink work -- and then the single timer is re-armed to
host.next_deadline() (loop.call_at on the loop's monotonic clock, which is also `now`).

Netlink work (macvlans, addresses) runs in one background task, in order: a takeover's
addresses are in place before its gratuitous ARP goes out.  Lease renewals (carp.lease)
are the exception: they are handed at once, after the sends of the same pass, all of one
pass in one sendmsg, to the lease thread (carp.daemon.netlink), for the macvlans whose
addresses are in place (Macvlans.holding); a job that changes a macvlan's addresses first waits
until the renewals handed over before it are written.

Balanced carpnodes interfaces (carp/daemon/lbfilter.py) get their kernel filter's state
word stored in the very turn that changes a node's state, before any netlink work.

The work itself is done by the parts the daemon wires together: the carpdevs' sockets
(carp/daemon/carpdev_io.py), the macvlans with their addresses, leases, ARP answers and
kernel filters (carp/daemon/macvlans.py), netlink (carp/daemon/netlink.py), the timer
(carp/daemon/timerfd.py), hooks and status.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carp.actions import Action, Announce, Count, Lease, Log, Send, StateChange
from carp.daemon import control, sdnotify
from carp.daemon.carpdev_io import CarpdevIO
from carp.daemon.hooks import Event, GroupWatch, HookRunner
from carp.daemon.macvlans import Job, Macvlans
from carp.daemon.netlink import Netlink
from carp.daemon.status import StatusWriter, add_counts, add_wall_times
from carp.daemon.syslog import Logger
from carp.daemon.timerfd import LoopTimer
from carp.daemon.trace import Trace
from carp.host import CarpHost
from carp.interface_table import carry_over
from carp.store import State, Store, StoreError, netns_name

STORE_POLL = 1.0  # seconds between checks of the store file (edits without "sync")
SHUTDOWN_JOBS_TIMEOUT = 3.0
SYNC_JOBS_TIMEOUT = 1.0
LATE_TIMER = 0.001  # a timer this late may have advertisements queued behind it


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
        self.io = CarpdevIO(self.loop, self.nl, lambda: self.host, self.dispatch, self.log,
                            self.trace)
        self.macvlans = Macvlans(self.loop, self.nl, self.io, lambda: self.host,
                                 lambda: self.state.interfaces, self._job,
                                 lambda: self.closing, self.log)
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
        if self.metrics_listen is None:
            return None
        from carp.daemon import metrics  # carpd without --metrics never loads it

        return metrics.start(self.metrics_listen, self.store.rundir, self.log)

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
        await self.macvlans.remove_all()
        await self.hooks.shutdown()  # the INIT hooks, within one hook timeout in all
        for task in self._tasks:
            task.cancel()
        if self.timer is not None:
            self.timer.close()
        self.io.close_all()
        self.macvlans.close()
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
            self.io.reported_up.clear()
        if self.host is None:
            self.host = CarpHost(
                personality=state.personality, name=netns_name() or socket.gethostname()
            )
        carry_over(state.interfaces, self.state.interfaces)  # unchanged: no conversion
        self.state = state
        sc = {**self.host.sysctl, **state.sysctl}
        self.io.set_tclass6(self.host.policy.tos(6, sc))
        acts = self.io.sync(state, now)
        acts += self.host.configure(state.sysctl, state.interfaces, state.groups, now)
        self.macvlans.sync()
        self.dispatch(acts, force_status=True)
        self.applied = state.generation
        self.status.write_now()
        self.log.debug(f"applied generation {state.generation}")

    # -- links -------------------------------------------------------------------------

    def _links_changed(self) -> None:
        """Netlink saw a link appear, vanish or go up/down: coalesce into one pass."""
        if not self._links_pending:
            self._links_pending = True
            self.loop.call_soon(self._on_links)

    def _on_links(self) -> None:
        self._links_pending = False
        if self.host is None or self.closing:
            return
        acts = self.io.sync(self.state, self.loop.time())
        self.macvlans.forget_vanished()
        self.macvlans.sync()
        self.dispatch(acts)

    # -- actions -----------------------------------------------------------------------

    def dispatch(self, acts: list[Action], force_status: bool = False) -> None:
        """Carry out actions: sends first, then state, logs, announcements; re-arm."""
        follow: list[Action] = []  # what the core makes of send errors (demotion, logs)
        now = self.loop.time()
        host = self.host
        for act in acts:
            if isinstance(act, Send):
                error = self.io.send(act)
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
                self._job(functools.partial(self.macvlans.announce, act))
        if renew:
            self.macvlans.renew(renew)
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
        self.macvlans.state_changed(act)  # the kernel filter's word at once, then netlink
        ci = self.state.interfaces.get(act.ifname)
        ifname = ci.name if ci is not None else act.ifname.split(":", 1)[0]
        self.hooks.submit(Event(act.vhid, ifname, act.new, act.carpdev))

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
            self.io.receive_queued()
        now = max(fired, deadline)
        acts = self.host.timeout(now)
        core = self.loop.time()
        self.dispatch(acts)
        if self.trace is not None:
            offset = self.trace.offset(0.0)
            self.trace.timer(deadline + offset, fired + offset, core + offset)
            self.trace.flush()

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
        """status.json's counters, and live for the control socket's `counters` request."""
        return add_counts(self.host.counters if self.host is not None else {},
                          self.io.rejects)

    def _status(self) -> dict[str, Any]:
        assert self.host is not None
        st: dict[str, Any] = self.host.status()
        wall = time.time()
        add_wall_times(st, self.loop.time(), wall)
        return {
            "pid": os.getpid(),
            "applied_generation": self.applied,
            "personality": self.state.personality,
            "started": self.started,
            "updated": wall,
            **st,
            "counters": self._counters(),
            "interfaces": self.macvlans.status(),
        }
