"""State-change hooks: name order, devd arguments and environment, timeouts never block."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from carp.daemon.hooks import Event, HookRunner, hooks_in

RECORD = """#!/bin/sh
echo "$(basename "$0") $1 $2 $CARP_SUBSYSTEM $CARP_TYPE $CARP_VHID $CARP_INTERFACE" >> "{out}"
"""


def _hook(directory: Path, name: str, body: str, mode: int = 0o755) -> Path:
    path = directory / name
    path.write_text(body)
    path.chmod(mode)
    return path


def test_hooks_in_name_order_executables_only(tmp_path: Path) -> None:
    for name in ("20-b", "10-a", "30-c~", ".hidden"):
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
        runner.close()

    asyncio.run(scenario())
    assert out.read_text().splitlines() == [
        "10-first 1@carp0 MASTER 1@carp0 MASTER 1 carp0",
        "20-second 1@carp0 MASTER 1@carp0 MASTER 1 carp0",
        "10-first 3@em0 BACKUP 3@em0 BACKUP 3 em0",
        "20-second 3@em0 BACKUP 3@em0 BACKUP 3 em0",
    ]
    assert logged == []


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
        runner.close()
        return submitted

    submitted = asyncio.run(scenario())
    assert submitted < 0.05
    assert len(ticks) == 10 and ticks[-1] - ticks[0] < 0.4  # not held up by the 0.5 s hook
    assert any("10-hang" in m and "timed out" in m for m in logged)
    assert any("20-fail" in m and "exit status 3" in m and "broken" in m for m in logged)
    assert out.read_text().split()[0] == "30-record"  # later hooks still ran
