"""Runtime status for the front ends (status.json beside the store).

Rewritten at once on a state change, and at most once a second while only counters
change: never once per packet.  A counters-only rewrite also waits until the last one's
cost is at most COUNTERS_SHARE of the time since: at a thousand vhids a write cost
~25 ms, and once a second it was a third of an idle carpd's CPU; it costs ~10 ms now,
so every ~2 s there, and never later than MAX_INTERVAL.  (netstat asks carpd for live
counters on its control socket; status.json's are its fallback, and what other users and
carpd --metrics read: a few seconds old at most at that scale.)

Each write re-encodes only the interfaces whose entries ("vhosts", "interfaces") changed
since the last one (ObjectText): at a thousand vhids a configuration change touches one,
a state change a few, and their encoding was most of the write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from carp import cjson
from carp.store import Store

MIN_INTERVAL = 1.0
CACHED = ("vhosts", "interfaces")  # per interface: a write re-encodes the changed ones
COUNTERS_SHARE = 0.005  # of a core, at most, for counters-only rewrites
MAX_INTERVAL = 5.0  # ... but never staler than this: one stalled write must not freeze them


class StatusWriter:
    def __init__(
        self,
        store: Store,
        build: Callable[[], dict[str, Any]],
        on_error: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.build = build
        self.on_error = on_error
        self.clock = clock
        self.cost = 0.0  # seconds the last write took (building and writing)
        self._pending: asyncio.TimerHandle | None = None
        self.texts = {name: ObjectText() for name in CACHED}

    def write_now(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        start = self.clock()
        doc = self.build()
        encoded = {name: text.encode(doc.pop(name))
                   for name, text in self.texts.items() if name in doc}
        try:
            self.store.write_status(doc, encoded)
        except OSError as exc:
            self.on_error(f"cannot write {self.store.status_path}: {exc.strerror}")
        self.cost = self.clock() - start

    def changed(self) -> None:
        """Counters moved: publish within MIN_INTERVAL (longer where a write is costly),
        coalescing everything until then."""
        if self._pending is None:
            delay = min(MAX_INTERVAL, max(MIN_INTERVAL, self.cost / COUNTERS_SHARE))
            self._pending = asyncio.get_running_loop().call_later(delay, self.write_now)

    def remove(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        try:
            self.store.status_path.unlink()
        except OSError:
            pass


class ObjectText:
    """One of status.json's per-interface objects ({iface_key: value}) as JSON text; a
    key whose value equals the one of the last call keeps the text it had then.  The
    values are kept to compare: the caller builds new ones for every call."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[object, str]] = {}  # key -> value, text

    def encode(self, obj: Mapping[str, object]) -> str:
        done: dict[str, tuple[object, str]] = {}
        for key, value in obj.items():
            last = self._last.get(key)
            if last is None or last[0] is value or last[0] != value:  # `is`: changed in place
                last = value, member_text(key, value)
            done[key] = last
        self._last = done
        return "{" + ",".join(text for _value, text in done.values()) + "}"


def member_text(key: str, value: object) -> str:
    """'"key":value', as the whole document's encoder writes a member."""
    return cjson.dumps({key: value}, separators=(",", ":"))[1:-1]


def add_counts(base: Mapping[str, int], more: Mapping[str, int]) -> dict[str, int]:
    """The host's counters plus the rejects it never sees (carpdev_io.CarpdevIO.rejects)."""
    out = dict(base)
    for stat, n in more.items():
        out[stat] = out.get(stat, 0) + n
    return out


def add_wall_times(host_status: dict[str, Any], now: float, wall: float) -> None:
    """The host's times are on the loop's clock: each "since" and "heard" of a vhost gets
    its wall-clock twin ("since_wall", "heard_wall") for the front ends."""
    for per_vhid in host_status.get("vhosts", {}).values():
        for entry in per_vhid.values():
            for key in ("since", "heard"):
                at = entry.get(key)
                if isinstance(at, int | float) and at > 0:
                    entry[f"{key}_wall"] = round(wall - (now - at), 3)
