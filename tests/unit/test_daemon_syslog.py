"""net.inet.carp.log filtering per personality (carpd's syslog side)."""

from __future__ import annotations

import pytest

from carp.actions import LOG_CRIT, LOG_DEBUG, LOG_ERR, LOG_INFO, LOG_NOTICE, LOG_WARNING, Log
from carp.daemon.syslog import Logger, filter_priority, log_level

STATE_CRIT = Log(LOG_CRIT, "state", "carp0: state transition: BACKUP -> MASTER")
STATE_WARN = Log(LOG_WARNING, "state", "carp0: state transition: INIT -> BACKUP")
DEMOTE = Log(LOG_ERR, "demote", "carp: carp0 demoted group carp by 1 to 1 (carpdev)")
BADTTL = Log(LOG_NOTICE, "packet", "carp: received ttl 64 != 255 on eth0")
LOOP = Log(LOG_WARNING, "error", "carp0: replay or network loop detected")


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
    got = [e for e in entries if filter_priority("openbsd", level, e) is not None]
    assert got == emitted
    for e in got:  # emitted at its own priority
        assert filter_priority("openbsd", level, e) == e.priority


def test_freebsd_levels_by_kind() -> None:
    info = Log(LOG_INFO, "state", "carp: 1@em0: BACKUP -> MASTER (master timed out)")
    dbg = Log(LOG_DEBUG, "packet", "carp_input_c: received ttl 64 != 255 on em0")
    demote = Log(LOG_INFO, "demote", "carp: demoted by 240 to 240 (interface down)")
    assert filter_priority("freebsd", 0, info) is None
    assert filter_priority("freebsd", 1, info) == LOG_INFO
    assert filter_priority("freebsd", 1, demote) == LOG_INFO
    assert filter_priority("freebsd", 1, dbg) is None
    assert filter_priority("freebsd", 2, dbg) == LOG_DEBUG
    assert filter_priority("freebsd", 2, LOOP) == LOG_WARNING


def test_netbsd_any_nonzero_logs_everything_at_info() -> None:
    for entry in (STATE_CRIT, DEMOTE, BADTTL, LOOP):
        assert filter_priority("netbsd", 0, entry) is None
        assert filter_priority("netbsd", 1, entry) == LOG_INFO
        assert filter_priority("netbsd", -3, entry) == LOG_INFO


def test_log_level_defaults_and_admin_value() -> None:
    assert log_level("openbsd", {}) == 2
    assert log_level("freebsd", {}) == 1
    assert log_level("netbsd", {}) == 0
    assert log_level("openbsd", {"net.inet.carp.log": 7}) == 7


def test_logger_writes_kernel_lines_to_stderr_without_syslog(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = Logger(debug=False, use_syslog=False)
    log.kernel("openbsd", 2, STATE_CRIT)
    log.kernel("openbsd", 2, BADTTL)  # filtered out
    log.debug("not shown without -d")
    err = capsys.readouterr().err
    assert "state transition: BACKUP -> MASTER" in err
    assert "ttl" not in err and "not shown" not in err
