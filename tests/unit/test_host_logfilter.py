"""net.inet.carp.log filtering per personality (the core's one filter)."""

from __future__ import annotations

import pytest

from carp.actions import LOG_CRIT, LOG_DEBUG, LOG_ERR, LOG_INFO, LOG_NOTICE, LOG_WARNING, Log
from carp.personality import policy

STATE_CRIT = Log(LOG_CRIT, "state", "carp0: state transition: BACKUP -> MASTER")
STATE_WARN = Log(LOG_WARNING, "state", "carp0: state transition: INIT -> BACKUP")
DEMOTE = Log(LOG_ERR, "demote", "carp: carp0 demoted group carp by 1 to 1 (carpdev)")
BADTTL = Log(LOG_NOTICE, "packet", "carp: received ttl 64 != 255 on eth0")
LOOP = Log(LOG_WARNING, "error", "carp0: replay or network loop detected")


def log_filter(personality: str, level: int, entry: Log) -> Log | None:
    prio = policy(personality).log_priority(level, entry.priority, entry.kind)
    return None if prio is None else Log(prio, entry.kind, entry.text)


@pytest.mark.parametrize(
    ("level", "emitted"),
    [
        (0, []),
        (2, [STATE_CRIT]),  # the default: only BACKUP<->MASTER
        (3, [STATE_CRIT, DEMOTE]),
        (4, [STATE_CRIT, STATE_WARN, DEMOTE, LOOP]),
        (7, [STATE_CRIT, STATE_WARN, DEMOTE, BADTTL, LOOP]),
    ],
)
def test_openbsd_is_a_priority_threshold(level: int, emitted: list[Log]) -> None:
    entries = [STATE_CRIT, STATE_WARN, DEMOTE, BADTTL, LOOP]
    got = [shown for e in entries if (shown := log_filter("openbsd", level, e)) is not None]
    assert got == emitted  # each at its own priority


def test_freebsd_levels_by_kind() -> None:
    info = Log(LOG_INFO, "state", "carp: 1@em0: BACKUP -> MASTER (master timed out)")
    dbg = Log(LOG_DEBUG, "packet", "carp_input_c: received ttl 64 != 255 on em0")
    demote = Log(LOG_INFO, "demote", "carp: demoted by 240 to 240 (interface down)")
    assert log_filter("freebsd", 0, info) is None
    assert log_filter("freebsd", 1, info) == info
    assert log_filter("freebsd", 1, demote) == demote
    assert log_filter("freebsd", 1, dbg) is None
    assert log_filter("freebsd", 2, dbg) == dbg
    assert log_filter("freebsd", 2, LOOP) == LOOP


def test_netbsd_any_nonzero_logs_everything_at_info() -> None:
    for entry in (STATE_CRIT, DEMOTE, BADTTL, LOOP):
        assert log_filter("netbsd", 0, entry) is None
        for level in (1, -3):
            shown = log_filter("netbsd", level, entry)
            assert shown is not None
            assert (shown.priority, shown.text) == (LOG_INFO, entry.text)
