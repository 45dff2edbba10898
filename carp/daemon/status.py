"""Runtime status for the front ends (status.json beside the store).

Rewritten at once on a state change, and at most once a second while only counters
change: never once per packet."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from carp.store import Store

MIN_INTERVAL = 1.0


class StatusWriter:
    def __init__(
        self,
        store: Store,
        build: Callable[[], dict[str, Any]],
        on_error: Callable[[str], None],
    ) -> None:
        self.store = store
        self.build = build
        self.on_error = on_error
        self._pending: asyncio.TimerHandle | None = None

    def write_now(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        try:
            self.store.write_status(self.build())
        except OSError as exc:
            self.on_error(f"cannot write {self.store.status_path}: {exc.strerror}")

    def changed(self) -> None:
        """Counters moved: publish within MIN_INTERVAL, coalescing everything until then."""
        if self._pending is None:
            self._pending = asyncio.get_running_loop().call_later(MIN_INTERVAL, self.write_now)

    def remove(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        try:
            self.store.status_path.unlink()
        except OSError:
            pass


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
