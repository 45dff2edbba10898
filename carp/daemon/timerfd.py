"""The loop's one protocol timer as a timerfd (timerfd_create(2)) on CLOCK_MONOTONIC.

asyncio's call_at sleeps in epoll_wait, whose timeout is whole milliseconds rounded up:
a master-down deadline would run up to a millisecond late (bench_takeover measured 1.0 ms
median).  A timerfd armed at the absolute deadline wakes the same epoll_wait within
the scheduler's latency instead.  CLOCK_MONOTONIC is the clock of loop.time()
(time.monotonic on Linux).  Python 3.11 has no os.timerfd_*: libc through ctypes.
"""

from __future__ import annotations

import ctypes
import os

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
