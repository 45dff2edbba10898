"""carpd --rtprio / --mlock: keep the protocol's wake-ups on time on a busy host.

Both are off by default (carpd.8, TIMING).  The priority applies to carpd's main thread,
the one that runs the protocol, and to the lease thread, which puts a new master's
addresses in place (`takeover_thread`); the watchdog, other threads and the hooks start
at normal priority (SCHED_RESET_ON_FORK).
"""

from __future__ import annotations

import ctypes
import os

MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
RTPRIO_RANGE = range(1, 100)
_rtprio: int | None = None  # what realtime() set, for takeover_thread()


def realtime(prio: int) -> None:
    """SCHED_FIFO at `prio` (1-99) for the calling thread: when runnable it preempts
    every normal process."""
    global _rtprio
    os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(prio))
    _rtprio = prio


def takeover_thread() -> None:
    """A thread on a takeover's path gets the protocol's priority (thread initializer)."""
    if _rtprio is not None:
        try:
            realtime(_rtprio)
        except OSError:
            pass  # the main thread got it: the same rights hold; normal priority else


def lock_memory() -> None:
    """mlockall: no page of carpd is ever paged out.  MCL_ONFAULT locks pages as they
    are touched, so the 8 MB stack reserved for each thread does not become resident."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def apply(rtprio: int | None, mlock: bool) -> str | None:
    """Both settings asked for; one line naming what failed, or None."""
    try:
        if mlock:
            lock_memory()
    except OSError as exc:
        return f"carpd: --mlock: {exc.strerror}"
    try:
        if rtprio is not None:
            realtime(rtprio)
    except OSError as exc:
        return f"carpd: --rtprio {rtprio}: {exc.strerror}"
    return None
