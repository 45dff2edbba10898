"""The protocol timer's timerfd: absolute deadlines on the loop's clock, disarmed by None."""

from __future__ import annotations

import select
import time

from carp.daemon.timerfd import TimerFd


def _readable(t: TimerFd, wait: float) -> bool:
    return bool(select.select([t], [], [], wait)[0])


def test_expires_at_an_absolute_monotonic_deadline() -> None:
    t = TimerFd()
    try:
        deadline = time.monotonic() + 0.05
        t.arm(deadline)
        assert not _readable(t, 0.01)
        assert _readable(t, 1.0)
        assert time.monotonic() >= deadline
        assert t.drain() == 1
        assert t.drain() == 0  # one shot
    finally:
        t.close()


def test_a_past_deadline_expires_at_once_and_none_disarms() -> None:
    t = TimerFd()
    try:
        t.arm(time.monotonic() - 5)
        assert _readable(t, 0.5)
        t.drain()
        t.arm(time.monotonic() + 0.02)
        t.arm(None)
        assert not _readable(t, 0.1)
    finally:
        t.close()
