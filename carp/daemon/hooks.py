"""State-change hooks: FreeBSD's devd "CARP" notification as executables in a directory.

On every transition carpd runs each executable of the hooks directory, in name order,
with the devd fields as arguments and in the environment:

    <hook> <vhid>@<ifname> MASTER|BACKUP|INIT
    CARP_SUBSYSTEM=<vhid>@<ifname> CARP_TYPE=<state> CARP_VHID=<vhid> CARP_INTERFACE=<ifname>

Hooks run in a background task, one transition after another, each hook with a timeout:
a failing or hanging hook is logged and killed, and never delays the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("NOTIFY_SOCKET", None)  # a hook must not speak to systemd for carpd
        env.update(
            CARP_SUBSYSTEM=self.subsystem,
            CARP_TYPE=self.state,
            CARP_VHID=str(self.vhid),
            CARP_INTERFACE=self.ifname,
        )
        if self.carpdev:
            env["CARP_CARPDEV"] = self.carpdev
        return env


def hooks_in(directory: Path) -> list[Path]:
    """Executable regular files in name order; editor backups and dotfiles are skipped."""
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except OSError:
        return []
    return [
        p
        for p in entries
        if not p.name.startswith(".")
        and not p.name.endswith(("~", ".disabled", ".dpkg-old", ".dpkg-new"))
        and p.is_file()
        and os.access(p, os.X_OK)
    ]


class HookRunner:
    def __init__(
        self,
        directory: Path | str,
        log: Callable[[str], None],
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.directory = Path(directory)
        self.log = log
        self.timeout = timeout
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def submit(self, event: Event) -> None:
        """Queue one transition; returns at once."""
        self._queue.put_nowait(event)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._worker())

    async def drain(self, timeout: float) -> None:
        """Wait (bounded) for queued hooks, e.g. the INIT hooks at shutdown."""
        if self._task is None:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _worker(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                for hook in hooks_in(self.directory):
                    await self.run_one(hook, event)
            finally:
                self._queue.task_done()

    async def run_one(self, hook: Path, event: Event) -> int | None:
        """Run one hook; returns its exit status, or None when it failed to run/timed out."""
        try:
            proc = await asyncio.create_subprocess_exec(
                str(hook), event.subsystem, event.state,
                env=event.environ(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # its own process group: a timeout kills its children
            )  # fmt: skip
        except OSError as exc:
            self.log(f"hook {hook}: cannot run: {exc.strerror}")
            return None
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(proc.wait(), 1.0)
            self.log(f"hook {hook} {event.subsystem} {event.state}: "
                     f"timed out after {self.timeout:g} s, killed")  # fmt: skip
            return None
        if proc.returncode:
            tail = out.decode(errors="replace").strip().splitlines()[-1:] if out else []
            self.log(f"hook {hook} {event.subsystem} {event.state}: exit status "
                     f"{proc.returncode}" + (f": {tail[0]}" if tail else ""))  # fmt: skip
        return proc.returncode
