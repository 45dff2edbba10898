"""The loop's one protocol timer as a timerfd (timerfd_create(2)) on CLOCK_MONOTONIC.

asyncio's call_at sleeps in epoll_wait, whose timeout is whole milliseconds rounded up:
a master-down deadline would run up to a millisecond late (bench_takeover measured 1.0 ms
median).  A timerfd armed at the absolute deadline wakes the same epoll_wait within
the scheduler's latency instead.  CLOCK_MONOTONIC is the clock of loop.time()
(time.monotonic on Linux).  Python 3.11 has no os.timerfd_*: libc through ctypes.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
from collections.abc import Callable

CLOCK_MONOTONIC = 1
TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


class TimerFd:
    """Raises OSError if the kernel or libc has no timerfd."""

    def __init__(self) -> None:
        self._libc = _libc()
        self.fd = _check(self._libc.timerfd_create(CLOCK_MONOTONIC,
                                                   os.O_NONBLOCK | os.O_CLOEXEC))
        self._spec = _Itimerspec()

    def fileno(self) -> int:
        return self.fd

    def arm(self, deadline: float | None) -> None:
        """Expire once at `deadline` (monotonic seconds; at once if past), or never."""
        value = self._spec.it_value
        if deadline is None:
            value.tv_sec = value.tv_nsec = 0  # an all-zero value disarms
        else:
            ns = max(1, round(deadline * 1e9))
            value.tv_sec, value.tv_nsec = divmod(ns, 1_000_000_000)
        _check(self._libc.timerfd_settime(self.fd, TFD_TIMER_ABSTIME,
                                          ctypes.byref(self._spec), None))

    def drain(self) -> int:
        """Expirations since the last drain (0: woken by an expiry since re-armed)."""
        try:
            return int.from_bytes(os.read(self.fd, 8), "little")
        except BlockingIOError:
            return 0

    def close(self) -> None:
        os.close(self.fd)


class LoopTimer:
    """carpd's one protocol timer on `loop`: `fire(deadline)` runs once the loop's clock
    has reached the deadline last armed.  A timerfd where there is one, else call_at."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fire: Callable[[float], None],
                 warn: Callable[[str], None], use_timerfd: bool = True) -> None:
        self.loop = loop
        self.fire = fire
        self.at: float | None = None  # the deadline armed
        self._handle: asyncio.TimerHandle | None = None  # call_at, without a timerfd
        self._fd: TimerFd | None = None
        if not use_timerfd:
            return
        try:
            self._fd = TimerFd()
        except (OSError, AttributeError) as exc:  # AttributeError: a libc without it
            warn(f"no timerfd ({exc}): timers run up to 1 ms late")
            return
        loop.add_reader(self._fd.fileno(), self._expired)

    def arm(self, deadline: float | None) -> None:
        """Fire at `deadline` instead (None: never)."""
        if deadline == self.at and (self._handle is not None or self._fd is not None):
            return
        self.at = deadline
        if self._fd is not None:
            self._fd.arm(deadline)
            return
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if deadline is not None:
            self._handle = self.loop.call_at(deadline, self._run, deadline)

    def _expired(self) -> None:
        assert self._fd is not None
        self._fd.drain()
        deadline = self.at
        if deadline is None:
            return
        if self.loop.time() < deadline:  # re-armed later since this expiry: still armed,
            self._fd.arm(deadline)  # but never let a one-shot timer be lost
            return
        self._run(deadline)

    def _run(self, deadline: float) -> None:
        self._handle = None
        self.at = None
        self.fire(deadline)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        if self._fd is not None:
            self.loop.remove_reader(self._fd.fileno())
            self._fd.close()
