"""State-change hooks: name order, devd arguments and environment, timeouts never block,
and no hook process group outlives carpd's shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from carp.daemon import hooks as hooks_module
from carp.daemon.hooks import Event, HookRunner, hooks_in
from tests.procs import wait_group_gone

RECORD = """#!/bin/sh
echo "$(basename "$0") $1 $2 $CARP_SUBSYSTEM $CARP_TYPE $CARP_VHID $CARP_INTERFACE" >> "{out}"
"""


def _hook(directory: Path, name: str, body: str, mode: int = 0o755) -> Path:
    path = directory / name
    path.write_text(body)
    path.chmod(mode)
    return path


def test_hooks_in_name_order_executables_only(tmp_path: Path) -> None:
    for name in ("20-b", "10-a", "30-c~", ".hidden", "50-service.example", "60-d.dpkg-dist"):
        _hook(tmp_path, name, "#!/bin/sh\n")
    _hook(tmp_path, "15-not-executable", "#!/bin/sh\n", 0o644)
    (tmp_path / "40-dir").mkdir()
    assert [p.name for p in hooks_in(tmp_path)] == ["10-a", "20-b"]
    assert hooks_in(tmp_path / "missing") == []


def test_hooks_get_devd_fields_in_order(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    hooks = tmp_path / "hooks.d"
    hooks.mkdir()
    for name in ("20-second", "10-first"):
        _hook(hooks, name, RECORD.format(out=out))
    logged: list[str] = []

    async def scenario() -> None:
        runner = HookRunner(hooks, logged.append)
        runner.submit(Event(1, "carp0", "MASTER", "eth0"))
        runner.submit(Event(3, "em0", "BACKUP", "em0"))
        await runner.drain(10)
        await runner.shutdown()

    asyncio.run(scenario())
    assert out.read_text().splitlines() == [
        "10-first 1@carp0 MASTER 1@carp0 MASTER 1 carp0",
        "20-second 1@carp0 MASTER 1@carp0 MASTER 1 carp0",
        "10-first 3@em0 BACKUP 3@em0 BACKUP 3 em0",
        "20-second 3@em0 BACKUP 3@em0 BACKUP 3 em0",
    ]
    assert logged == []


def test_hooks_run_the_bsd_front_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook ported from a BSD host runs `ifconfig carp0` unqualified and gets the BSD
    ifconfig of this carp, first on its PATH; carpd's own PATH is left as it was."""
    import io

    from carp import selfrun
    from carp.ifconfig import cli
    from carp.store import Store

    rundir = tmp_path / "run"
    err = io.StringIO()
    code = cli.run(["carp0", "create"], stdout=io.StringIO(), stderr=err, store=Store(rundir))
    assert code == 0, err.getvalue()
    monkeypatch.setenv("CARP_RUNDIR", str(rundir))
    monkeypatch.setenv("CARP_PERSONALITY", "openbsd")
    path_before = os.environ["PATH"]
    out = tmp_path / "out.txt"
    hooks = tmp_path / "hooks.d"
    hooks.mkdir()
    _hook(hooks, "10-show", f'#!/bin/sh\necho "$PATH" > "{out}"\nifconfig carp0 >> "{out}" 2>&1\n')
    logged: list[str] = []

    async def scenario() -> None:
        runner = HookRunner(hooks, logged.append, timeout=20.0)
        runner.submit(Event(1, "carp0", "MASTER", "eth0"))
        await runner.drain(30)
        await runner.shutdown()

    asyncio.run(scenario())
    path, *shown = out.read_text().splitlines()
    assert path == f"{selfrun.frontends_dir()}:{path_before}"
    assert shown[0].startswith("carp0: flags="), shown
    assert "\tgroups: carp" in shown
    assert logged == []
    assert os.environ["PATH"] == path_before


def test_environ_without_front_ends_keeps_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/sbin:/usr/bin")
    assert Event(1, "carp0", "MASTER").environ()["PATH"] == "/usr/sbin:/usr/bin"
    assert Event(1, "carp0", "MASTER").environ("/opt/bsd")["PATH"] == "/opt/bsd:/usr/sbin:/usr/bin"


def test_hanging_and_failing_hooks_are_logged_and_never_block(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    _hook(tmp_path, "10-hang", "#!/bin/sh\nsleep 60\n")
    _hook(tmp_path, "20-fail", "#!/bin/sh\necho broken >&2\nexit 3\n")
    _hook(tmp_path, "30-record", RECORD.format(out=out))
    logged: list[str] = []
    ticks: list[float] = []

    async def scenario() -> float:
        runner = HookRunner(tmp_path, logged.append, timeout=0.5)
        start = time.monotonic()
        runner.submit(Event(1, "carp0", "MASTER"))
        submitted = time.monotonic() - start
        for _ in range(10):  # the "protocol" keeps running while the hook hangs
            await asyncio.sleep(0.02)
            ticks.append(time.monotonic())
        await runner.drain(10)
        await runner.shutdown()
        return submitted

    submitted = asyncio.run(scenario())
    assert submitted < 0.05
    assert len(ticks) == 10 and ticks[-1] - ticks[0] < 0.4  # not held up by the 0.5 s hook
    assert any("10-hang" in m and "timed out" in m for m in logged)
    assert any("20-fail" in m and "exit status 3" in m and "broken" in m for m in logged)
    assert out.read_text().split()[0] == "30-record"  # later hooks still ran


# A hook that records "<subsystem> <state> <pid>"; for "<subsystem>/<state>" matching
# `slow` it takes a moment, for `hang` it hangs with a child in its process group.
HANG = """#!/bin/sh
echo "$1 $2 $$" >> "{out}"
case "$1/$2" in {slow}) sleep 0.4 ;; {hang}) sleep 60 & wait ;; esac
"""


def _hang_hook(directory: Path, out: Path, hang: str, slow: str = "-") -> None:
    _hook(directory, "10-hang", HANG.format(out=out, hang=hang, slow=slow))


def _records(out: Path) -> list[tuple[str, str, int]]:
    if not out.exists():
        return []
    return [(s, st, int(pid)) for s, st, pid in (ln.split() for ln in out.read_text().splitlines())]


async def _until_recorded(out: Path, count: int) -> None:
    """Until `count` hooks have started (bounded: a stuck test fails, it does not hang)."""
    for _ in range(500):
        if len(_records(out)) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} hooks did not start: {_records(out)}")


def test_shutdown_deadline_kills_the_running_group_and_skips_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    hooks = tmp_path / "hooks.d"
    hooks.mkdir()
    # the hang starts after the slow hook: the shutdown's deadline comes before its timeout
    _hang_hook(hooks, out, hang="2@carp1/INIT", slow="1@carp0/INIT")
    logged: list[str] = []

    async def scenario() -> None:
        runner = HookRunner(hooks, logged.append, timeout=2.0)
        for vhid in (1, 2, 3):  # three vhosts, none overtaken: each keeps its turn
            runner.submit(Event(vhid, f"carp{vhid - 1}", "INIT"))
        await runner.shutdown()
        runner.submit(Event(4, "carp3", "BACKUP"))  # too late: logged, never run

    asyncio.run(scenario())
    records = _records(out)
    assert [(s, st) for s, st, _ in records] == [("1@carp0", "INIT"), ("2@carp1", "INIT")]
    assert wait_group_gone(records[1][2]) == []  # the hook and its child (SIGKILLed)
    assert logged == [
        f"hook {hooks}/10-hang 2@carp1 INIT: killed, carpd is stopping",
        "hooks 3@carp2 INIT: skipped, carpd is stopping",
        "hooks 4@carp3 BACKUP: skipped, carpd is stopping",
    ]


def test_shutdown_init_hooks_run_after_overtaken_transitions(tmp_path: Path) -> None:
    """A hanging MASTER hook must not eat the INIT hooks' time at shutdown."""
    out = tmp_path / "out.txt"
    hooks = tmp_path / "hooks.d"
    hooks.mkdir()
    _hang_hook(hooks, out, hang="*/MASTER")
    logged: list[str] = []

    async def scenario() -> None:
        runner = HookRunner(hooks, logged.append, timeout=3.0)
        runner.submit(Event(1, "carp0", "MASTER"))
        runner.submit(Event(2, "carp1", "MASTER"))
        await _until_recorded(out, 1)
        runner.submit(Event(1, "carp0", "INIT"))  # what host.shutdown() gives carpd
        runner.submit(Event(2, "carp1", "INIT"))
        await runner.shutdown()

    asyncio.run(scenario())
    records = _records(out)
    assert [(s, st) for s, st, _ in records] == [
        ("1@carp0", "MASTER"), ("1@carp0", "INIT"), ("2@carp1", "INIT"),
    ]
    assert wait_group_gone(records[0][2]) == []
    assert logged == [
        f"hook {hooks}/10-hang 1@carp0 MASTER: killed, carpd is stopping",
        "hooks 2@carp1 MASTER: skipped, carpd is stopping",
    ]


def test_shutdown_lets_a_transition_not_overtaken_finish(tmp_path: Path) -> None:
    """An INIT queued before the shutdown (its interface went down) is the last word on
    its vhost: its running hook is not cut short."""
    out = tmp_path / "out.txt"
    _hook(tmp_path, "10-slow", f'#!/bin/sh\necho "$1 $2 $$" >> "{out}"\nsleep 0.3\n'
                               f'echo "$1 done $$" >> "{out}"\n')
    logged: list[str] = []

    async def scenario() -> None:
        runner = HookRunner(tmp_path, logged.append, timeout=5.0)
        runner.submit(Event(1, "carp0", "INIT"))
        await _until_recorded(out, 1)
        await runner.shutdown()

    asyncio.run(scenario())
    assert [st for _, st, _ in _records(out)] == ["INIT", "done"]
    assert logged == []


class Watch:
    def __init__(self) -> None:
        self.told: list[tuple[str, int, str]] = []

    def started(self, pgid: int, what: str) -> None:
        self.told.append(("started", pgid, what))

    def ended(self, pgid: int) -> None:
        self.told.append(("ended", pgid, ""))


def test_the_watch_is_told_of_each_hook_group(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    _hook(tmp_path, "10-group", f'#!/bin/sh\nread -r _ _ _ _ pgid _ < /proc/$$/stat\n'
                                f'echo "$$ $pgid" >> "{out}"\n')
    watch = Watch()
    logged: list[str] = []

    async def scenario() -> None:
        runner = HookRunner(tmp_path, logged.append, watch=watch)
        runner.submit(Event(1, "carp0", "MASTER"))
        await runner.drain(10)
        await runner.shutdown()

    asyncio.run(scenario())
    pid, pgid = map(int, out.read_text().split())
    assert pid == pgid  # a group of its own: the watchdog's kill takes the hook's children
    assert watch.told == [
        ("started", pgid, f"hook {tmp_path}/10-group 1@carp0 MASTER"),
        ("ended", pgid, ""),
    ]
    assert logged == []


def test_a_hook_running_when_carpd_crashes_is_killed(tmp_path: Path) -> None:
    """An exception out of carpd's loop ends asyncio.run, which cancels the runner."""
    out = tmp_path / "out.txt"
    _hang_hook(tmp_path, out, hang="*/MASTER")
    logged: list[str] = []

    watch = Watch()

    async def scenario() -> None:
        runner = HookRunner(tmp_path, logged.append, timeout=30.0, watch=watch)
        runner.submit(Event(1, "carp0", "MASTER"))
        await _until_recorded(out, 1)
        # running as carpd knows it: asyncio has handed the Process back (asyncio.run's
        # cancel of every task, the spawn's too, would kill the hook's PID alone before)
        while not watch.told:
            await asyncio.sleep(0.01)
        raise RuntimeError("carpd bug")

    with pytest.raises(RuntimeError):
        asyncio.run(scenario())
    [(_, _, pid)] = _records(out)
    assert wait_group_gone(pid) == []
    assert logged == [f"hook {tmp_path}/10-hang 1@carp0 MASTER: killed, carpd is stopping"]


# A helper that moves to a process group of its own in the hook's session, so the kill of
# the hook's group spares it: on a trigger it forks a child into the hook's group -- as a
# fork that was under way when the kill came ends up there -- and says which.
SPAWNER = """import os, sys, time
os.setpgid(0, 0)
pgid, trigger, done = int(sys.argv[1]), sys.argv[2], sys.argv[3]
while not os.path.exists(trigger):
    time.sleep(0.005)
pid = os.fork()
if pid == 0:
    os.setpgid(0, pgid)
    os.execvp("sleep", ["sleep", "60"])
open(done, "w").write(str(pid))
"""


def test_a_child_forked_as_the_kill_came_is_killed_too(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The race seen under load, made certain: a process joins the hook's group just after
    the first SIGKILL; it must not outlive the hook."""
    spawner, trigger, done = tmp_path / "spawner.py", tmp_path / "go", tmp_path / "done"
    spawner.write_text(SPAWNER)
    hooks = tmp_path / "hooks.d"
    hooks.mkdir()
    _hook(hooks, "10-hang", f"""#!/bin/sh
{sys.executable} {spawner} $$ {trigger} {done} </dev/null >/dev/null 2>&1 &
echo $! > {tmp_path / "spawner.pid"}
echo "$1 $2 $$" >> {tmp_path / "out"}
sleep 60 & wait
""")
    real_killpg = os.killpg

    def killpg_then_fork(pgid: int, sig: int) -> None:
        real_killpg(pgid, sig)
        if not trigger.exists():
            trigger.touch()
            for _ in range(500):
                if done.exists() and done.read_text():
                    return
                time.sleep(0.01)

    monkeypatch.setattr(hooks_module.os, "killpg", killpg_then_fork)

    async def scenario() -> None:
        runner = HookRunner(hooks, [].append, timeout=0.5)
        runner.submit(Event(1, "carp0", "MASTER"))
        await _until_recorded(tmp_path / "out", 1)
        await runner.drain(10)
        await runner.shutdown()

    try:
        asyncio.run(scenario())
        pgid = _records(tmp_path / "out")[0][2]
        assert done.read_text()  # the late child was made, in the hook's group
        assert wait_group_gone(pgid) == []
    finally:
        for pid_file in (tmp_path / "spawner.pid", done):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_hook_cancelled_while_asyncio_still_connects_its_pipes_is_killed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """carpd stops while the hook runs but asyncio has not yet handed its Process back
    (a loaded host): the hook's whole group is killed all the same, not left behind."""
    out = tmp_path / "out.txt"
    _hang_hook(tmp_path, out, hang="*/MASTER")
    real_spawn = asyncio.create_subprocess_exec

    async def slow_spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        proc = await real_spawn(*args, **kwargs)
        await asyncio.sleep(1.0)  # the pipes' connection, slow under load
        return proc

    monkeypatch.setattr(hooks_module.asyncio, "create_subprocess_exec", slow_spawn)
    logged: list[str] = []

    async def scenario() -> None:
        runner = HookRunner(tmp_path, logged.append, timeout=5.0)
        runner.submit(Event(1, "carp0", "MASTER"))
        await _until_recorded(out, 1)  # running, and the spawn not returned yet
        runner.submit(Event(1, "carp0", "INIT"))
        await runner.shutdown()

    asyncio.run(scenario())
    records = _records(out)
    assert records[0][:2] == ("1@carp0", "MASTER")
    assert wait_group_gone(records[0][2], timeout=2.0) == []
    assert f"hook {tmp_path}/10-hang 1@carp0 MASTER: killed, carpd is stopping" in logged


def test_a_cancellation_as_the_hook_ends_is_not_lost(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """carpd stops in the instant a hook ends: the worker is cancelled all the same.
    Python 3.11's wait_for returned the hook's result and dropped the cancellation; the
    worker went back to its queue and carpd's stop waited on it for ever."""
    _hook(tmp_path, "10-quick", "#!/bin/sh\nexit 0\n")
    ended: asyncio.Future[tuple[bytes, None]] | None = None
    real_spawn = asyncio.create_subprocess_exec

    async def spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        nonlocal ended
        proc = await real_spawn(*args, **kwargs)
        ended = asyncio.get_running_loop().create_future()
        proc.communicate = lambda *a, **k: ended  # type: ignore[method-assign]
        return proc

    monkeypatch.setattr(hooks_module.asyncio, "create_subprocess_exec", spawn)

    async def scenario() -> bool:
        runner = HookRunner(tmp_path, lambda _line: None, timeout=5.0)
        runner.submit(Event(1, "carp0", "MASTER"))
        while ended is None:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # the worker awaits the hook's end
        task = runner._task
        assert task is not None
        ended.set_result((b"", None))  # the hook ends ...
        task.cancel()  # ... as carpd stops
        await asyncio.wait({task}, timeout=3.0)
        return task.done()

    assert asyncio.run(scenario())


def test_shutdown_ends_a_worker_that_swallowed_its_cancellation(tmp_path: Path) -> None:
    """Whatever swallows one cancellation (a library, a race), shutdown cancels the
    worker again until it has ended: carpd's stop never waits on it for ever."""
    swallowed: list[str] = []

    async def scenario() -> None:
        runner = HookRunner(tmp_path, lambda _line: None, timeout=1.0)

        async def run_one(hook: Path, event: Event) -> int | None:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                swallowed.append(event.state)  # and carries on, as if not cancelled
            return 0

        _hook(tmp_path, "10-any", "#!/bin/sh\nexit 0\n")
        runner.run_one = run_one  # type: ignore[method-assign]
        runner.submit(Event(1, "carp0", "MASTER"))
        await asyncio.sleep(0.05)
        runner.submit(Event(1, "carp0", "INIT"))
        await asyncio.wait_for(runner.shutdown(), 10.0)

    asyncio.run(scenario())
    assert swallowed


def test_the_second_group_kill_survives_a_cancelled_reap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hook slow to be reaped (a loaded host) and a second cancellation meanwhile: the
    group is still killed twice, so a child forked as the first signal came is not left."""
    kills: list[int] = []
    monkeypatch.setattr(hooks_module.os, "killpg", lambda pgid, sig: kills.append(pgid))

    class Unreaped:
        pid = 424242

        async def wait(self) -> int:
            await asyncio.sleep(30)
            return 0

    async def scenario() -> None:
        runner = HookRunner(tmp_path, lambda _line: None)
        kill = asyncio.ensure_future(runner._kill(Unreaped(), "killed"))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        kill.cancel()
        await asyncio.wait({kill})

    asyncio.run(scenario())
    assert kills == [424242, 424242]
