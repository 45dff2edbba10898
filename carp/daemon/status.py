"""Runtime status for the front ends (status.json beside the store).

Rewritten at once on a state change, and at most once a second while only counters
change: never once per packet."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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
