"""Status publishing: at once on state changes, coalesced to ~1/s for counters."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from carp.daemon import status as status_mod
from carp.daemon.status import ObjectText, StatusWriter
from carp.store import Store


class CountingStore(Store):
    def __init__(self, rundir: Path) -> None:
        super().__init__(rundir)
        self.writes = 0

    def write_status(self, status: dict[str, Any],
                     encoded: Mapping[str, str] | None = None) -> None:
        self.writes += 1
        super().write_status(status, encoded)


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


def _entry(state: str, since: float) -> dict[str, Any]:
    return {"state": state, "since": since, "drops": {}, "advbase": 1}


def test_status_json_shows_each_change_and_only_the_changed_are_encoded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a reader decodes is what carpd built, after every write; an interface whose
    vhid entries did not change keeps its text from the write before."""
    encoded: list[object] = []
    real_member_text = status_mod.member_text

    def member_text(key: str, value: object) -> str:
        encoded.append({key: value})
        return real_member_text(key, value)

    monkeypatch.setattr(status_mod, "member_text", member_text)
    store = Store(tmp_path)
    vhosts = {f"carp{i}": {"1": _entry("MASTER", 1.5)} for i in range(100)}
    vhosts["carp5"]["2"] = _entry("BACKUP", 2.0)  # two vhids on one interface (carpnodes)

    def build() -> dict[str, Any]:  # new entries on every call, as CarpHost.status
        return {"pid": os.getpid(), "vhosts": {key: {vhid: dict(e) for vhid, e in per.items()}
                                               for key, per in vhosts.items()},
                "interfaces": {key: {"linux_name": key} for key in vhosts}}

    writer = StatusWriter(store, build, print)
    for change in (None, ("carp5", "2", "MASTER"), ("carp7", "1", "INIT"), "carp9 gone"):
        if isinstance(change, tuple):
            key, vhid, state = change
            vhosts[key][vhid] = _entry(state, 3.0)
        elif change is not None:
            del vhosts["carp9"]
        encoded.clear()
        writer.write_now()
        assert store.read_status() == {"pid": os.getpid(), "vhosts": vhosts, "interfaces":
                                       {key: {"linux_name": key} for key in vhosts}}
        if change is not None:  # the changed interface alone (and none for a removal)
            assert encoded == ([] if isinstance(change, str) else [{key: vhosts[key]}])


def test_object_text_encodes_again_entries_changed_in_place() -> None:
    """Entries handed twice as the same objects may have changed: never taken as equal."""
    text = ObjectText()
    vhosts = {"carp0": {"1": _entry("BACKUP", 1.0)}}
    assert '"BACKUP"' in text.encode(vhosts)
    vhosts["carp0"]["1"]["state"] = "MASTER"
    assert '"MASTER"' in text.encode(vhosts)


def test_one_stalled_write_does_not_freeze_the_counters(tmp_path: Path) -> None:
    """The counters another user's netstat and carpd --metrics read are "a few seconds old
    at most" (module docstring).  One write stalled for a second (a page-cache flush, a
    load spike on a shared host) must not put off the next counters-only rewrite for
    cost / COUNTERS_SHARE = 200 s: the delay wants a bound."""
    store = CountingStore(tmp_path)
    ticks = iter([0.0, 1.0])  # the write took one second of the clock

    async def scenario() -> float:
        writer = StatusWriter(store, lambda: {"pid": 1}, print, clock=lambda: next(ticks))
        writer.write_now()
        loop = asyncio.get_running_loop()
        writer.changed()
        assert writer._pending is not None
        delay = writer._pending.when() - loop.time()
        writer._pending.cancel()
        return delay

    assert asyncio.run(scenario()) <= 10.0
