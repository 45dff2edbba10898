"""A vhid's states, the reasons it changes state, and the core's time unit.

The reasons are FreeBSD's log texts (carp_set_state callers in FreeBSD's ip_carp.c)
where FreeBSD has one, and this project's own where no BSD does."""

from __future__ import annotations

INIT, BACKUP, MASTER = "INIT", "BACKUP", "MASTER"

R_INIT_DONE = "initialization complete"
R_MASTER_TIMEOUT = "master timed out"
R_PREEMPT = "preempting a slower master"
R_DEMOTED_MASTER = "preempting a more demoted master"  # OpenBSD's second rule, no BSD text
R_WILL_TIMEOUT = "master will time out"
R_MORE_FREQUENT = "more frequent advertisement received"
R_USER = "user requested via ifconfig"
R_IF_DOWN = "hardware interface down"
R_IF_UP = "hardware interface up"
R_SHUTDOWN = "shutdown"
R_REMOVED = "vhid removed"

# Time inside the core is integer microseconds, as the kernels compute advskew*1000000/256.
US = 1_000_000
SKEW_US = US // 256  # 3906: OpenBSD's floor for a zero interval (1/256 s)


def to_us(now: float) -> int:
    """Seconds -> integer microseconds (exact for any us/1e6 the simulator passes)."""
    return round(now * US)


def skew_us(advskew: int) -> int:
    return advskew * US // 256
