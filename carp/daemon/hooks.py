"""State-change hooks: FreeBSD's devd "CARP" notification as executables in a directory.

On every transition carpd runs each executable of the hooks directory, in name order,
with the devd fields as arguments and in the environment:

    <hook> <vhid>@<ifname> MASTER|BACKUP|INIT
    CARP_SUBSYSTEM=<vhid>@<ifname> CARP_TYPE=<state> CARP_VHID=<vhid> CARP_INTERFACE=<ifname>

A hook ported from a BSD host runs `ifconfig carp0` or `sysctl net.inet.carp.demotion`
and means the BSD programs: its PATH starts with the directory of this carp's front ends
(selfrun.frontends_dir), which the package keeps off everyone else's PATH.

Hooks run in a background task, one transition after another, each hook with a timeout:
a failing or hanging hook is logged and killed, and never delays the protocol.

No hook outlives carpd.  Each runs in its own process group (a session), so a kill takes
its children too; the watchdog is told of every group while it runs, and kills those
groups if carpd dies (carp/daemon/watchdog.py).  At a clean shutdown `shutdown` gives the
hooks one timeout in all: a transition that a newer one for the same virtual host has
overtaken (MASTER, then the INIT of the shutdown) is skipped and its running hook killed,
so the INIT hooks get the time; at the deadline whatever still runs is killed and every
transition not reached is logged as skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from carp import selfrun

DEFAULT_DIR = "/etc/carp/hooks.d"
ENV_DIR = "CARP_HOOKS_DIR"
DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Event:
    vhid: int
    ifname: str  # the carp interface (OpenBSD/NetBSD) or the physical one (FreeBSD vhid)
    state: str
    carpdev: str | None = None

    @property
    def subsystem(self) -> str:
        return f"{self.vhid}@{self.ifname}"

    def environ(self, frontends: str | None = None) -> dict[str, str]:
        """carpd's environment with the devd fields, and `frontends` first on PATH."""
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)  # a hook must not speak to systemd for carpd
        if frontends:
            env["PATH"] = os.pathsep.join([frontends, env.get("PATH", os.defpath)])
        env.update(
            CARP_SUBSYSTEM=self.subsystem,
            CARP_TYPE=self.state,
            CARP_VHID=str(self.vhid),
            CARP_INTERFACE=self.ifname,
        )
        if self.carpdev:
            env["CARP_CARPDEV"] = self.carpdev
        return env


# Never run, executable or not: editor backups, dpkg's leftovers, and the shipped examples
# (examples/hooks.d, installed as NAME.example: a copy without the suffix enables one, so
# a package upgrade that resets the example's mode cannot switch a hook on or off).
SKIPPED_SUFFIXES = ("~", ".disabled", ".example", ".dpkg-old", ".dpkg-new", ".dpkg-dist")


def hooks_in(directory: Path) -> list[Path]:
    """Executable regular files in name order; dotfiles and SKIPPED_SUFFIXES are skipped."""
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError:
        return []
    return [
        p
        for p in entries
        if not p.name.startswith(".")
        and not p.name.endswith(SKIPPED_SUFFIXES)
        and p.is_file()
        and os.access(p, os.X_OK)
    ]


class GroupWatch(Protocol):
    """Who is told of each hook process group while it runs: the watchdog (watchdog.Link)."""

    def started(self, pgid: int, what: str) -> None: ...

    def ended(self, pgid: int) -> None: ...


class _Unwatched:
    def started(self, pgid: int, what: str) -> None:
        pass

    def ended(self, pgid: int) -> None:
        pass


def overtaken(event: Event, later: list[Event]) -> bool:
    """A newer transition of the same virtual host is queued: this one's news is stale."""
    return any(e.subsystem == event.subsystem for e in later)


class HookRunner:
    def __init__(
        self,
        directory: Path | str,
        log: Callable[[str], None],
        timeout: float = DEFAULT_TIMEOUT,
        watch: GroupWatch | None = None,
        frontends: str | None = None,
    ) -> None:
        """`frontends`: the directory put first on the hooks' PATH; None: the BSD front
        ends of the running carp (selfrun.frontends_dir), if it finds them."""
        self.directory = Path(directory)
        self.frontends = frontends if frontends is not None else selfrun.frontends_dir()
        self.log = log
        self.timeout = timeout
        self.watch: GroupWatch = watch or _Unwatched()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._current: Event | None = None  # the transition whose hooks run now
        self._closed = False

    def submit(self, event: Event) -> None:
        """Queue one transition; returns at once."""
        if self._closed:
            self._skipped(event)
            return
        self._queue.put_nowait(event)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._worker())

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) until every queued transition has had its hooks run."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)

    async def shutdown(self) -> None:
        """carpd is stopping: the queued hooks get one timeout in all, then none is left.

        Called after the INIT transitions of the shutdown were submitted."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        queued = self._take_queued()
        if self._current is not None and overtaken(self._current, queued):
            await self._stop_worker()  # kills (and logs) its running hook
        for i, event in enumerate(queued):
            if overtaken(event, queued[i + 1 :]):
                self._skipped(event)
            else:
                self.submit(event)
        await self.drain(deadline - loop.time())
        self._closed = True
        await self._stop_worker()  # at the deadline: whatever still runs is killed
        for event in self._take_queued():
            self._skipped(event)

    def _take_queued(self) -> list[Event]:
        """Empty the queue: the transitions whose hooks have not started, in order."""
        events: list[Event] = []
        while not self._queue.empty():
            events.append(self._queue.get_nowait())
            self._queue.task_done()
        return events

    async def _stop_worker(self) -> None:
        task, self._task = self._task, None
        # Until it is done: a cancellation that something swallowed is sent again, so
        # shutdown never waits on a worker that went back to its queue.
        while task is not None and not task.done():
            task.cancel()
            # not `await task` (our own cancellation stays ours); longer than _kill's wait
            await asyncio.wait({task}, timeout=2.0)

    def _skipped(self, event: Event) -> None:
        self.log(f"hooks {event.subsystem} {event.state}: skipped, carpd is stopping")

    async def _worker(self) -> None:
        while True:
            event = await self._queue.get()
            self._current = event
            try:
                for hook in hooks_in(self.directory):
                    await self.run_one(hook, event)
            finally:
                self._current = None
                self._queue.task_done()

    async def run_one(self, hook: Path, event: Event) -> int | None:
        """Run one hook; returns its exit status, or None when it failed to run/timed out."""
        what = f"hook {hook} {event.subsystem} {event.state}"
        # The spawn is shielded: asyncio would answer a cancellation that comes while it
        # connects the pipes (the hook already running) by killing the hook's PID alone,
        # and the children it had forked would live on.  Ours kills the whole group.
        spawn = asyncio.ensure_future(asyncio.create_subprocess_exec(
            str(hook), event.subsystem, event.state,
            env=event.environ(self.frontends),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # its own process group: a kill takes its children
        ))
        try:
            proc = await asyncio.shield(spawn)
        except OSError as exc:
            self.log(f"hook {hook}: cannot run: {exc.strerror}")
            return None
        except asyncio.CancelledError:
            with contextlib.suppress(OSError):
                await self._kill(await spawn, f"{what}: killed, carpd is stopping")
            raise
        self.watch.started(proc.pid, what)
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for returns the result and drops a
            # cancellation that comes as the hook ends, and carpd's stop would wait forever
            async with asyncio.timeout(self.timeout):
                out, _ = await proc.communicate()
        except TimeoutError:
            await self._kill(proc, f"{what}: timed out after {self.timeout:g} s, killed")
            return None
        except asyncio.CancelledError:  # carpd is stopping (or crashing): no orphan
            await self._kill(proc, f"{what}: killed, carpd is stopping")
            raise
        finally:
            self.watch.ended(proc.pid)
        if proc.returncode:
            tail = out.decode(errors="replace").strip().splitlines()[-1:] if out else []
            self.log(f"{what}: exit status {proc.returncode}"
                     + (f": {tail[0]}" if tail else ""))
        return proc.returncode

    async def _kill(self, proc: asyncio.subprocess.Process, message: str) -> None:
        """SIGKILL the hook's whole process group, log it, and reap the hook (bounded)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        self.log(message)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await proc.wait()
        finally:  # also when a second cancellation ends the wait (a slow reap)
            # Once more, the hook reaped: a child it was forking as the first signal came
            # (`sleep 60 &` under load) can miss it and live on, reparented to init.  The
            # group number stays taken while any member lives, so this finds only ours.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
