"""Status publishing: at once on state changes, coalesced to ~1/s for counters."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from carp.daemon import status as status_mod
from carp.daemon.status import StatusWriter
from carp.store import Store


class CountingStore(Store):
    def __init__(self, rundir: Path) -> None:
        super().__init__(rundir)
        self.writes = 0

    def write_status(self, status: dict[str, object]) -> None:
        self.writes += 1
        super().write_status(status)


def test_counter_changes_coalesce(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_mod, "MIN_INTERVAL", 0.1)
    store = CountingStore(tmp_path)
    n = {"packets": 0}

    async def scenario() -> None:
        writer = StatusWriter(store, lambda: {"pid": 1, "counters": dict(n)}, print)
        for _ in range(50):  # 50 packets within one interval
            n["packets"] += 1
            writer.changed()
        assert store.writes == 0
        await asyncio.sleep(0.25)
        assert store.writes == 1
        writer.write_now()  # a state change: immediately
        assert store.writes == 2
        writer.remove()
        assert not store.status_path.exists()

    asyncio.run(scenario())


def test_costly_writes_refresh_counters_less_often(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that takes 3 ms of the (fake) clock: counters-only rewrites wait until it is
    at most COUNTERS_SHARE of the time since; a state change still writes at once."""
    monkeypatch.setattr(status_mod, "MIN_INTERVAL", 0.1)
    store = CountingStore(tmp_path)
    ticks = iter(range(0, 1000, 3))  # each clock read 3 ms on

    async def scenario() -> None:
        writer = StatusWriter(store, lambda: {"pid": 1}, print,
                              clock=lambda: next(ticks) / 1000)
        writer.write_now()
        assert writer.cost == 0.003
        writer.changed()
        await asyncio.sleep(0.2)  # MIN_INTERVAL is past, 0.003 / COUNTERS_SHARE not yet
        assert store.writes == 1
        await asyncio.sleep(0.2)
        assert store.writes == 2
        writer.changed()
        writer.write_now()
        assert store.writes == 3

    monkeypatch.setattr(status_mod, "COUNTERS_SHARE", 0.01)
    asyncio.run(scenario())
