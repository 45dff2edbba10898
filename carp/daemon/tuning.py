"""carpd --rtprio / --mlock: keep the protocol's wake-ups on time on a busy host.

Both are off by default (carpd.8, TIMING).  They apply to carpd's main thread, the one
that runs the protocol, after the watchdog was forked: the watchdog, the lease thread,
pyroute2's threads and the hooks start at normal priority (SCHED_RESET_ON_FORK).
"""

from __future__ import annotations

import ctypes
import os

MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
RTPRIO_RANGE = range(1, 100)


def realtime(prio: int) -> None:
    """SCHED_FIFO at `prio` (1-99): a runnable carpd preempts every normal process."""
    os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(prio))


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
