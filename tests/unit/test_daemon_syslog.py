"""carpd's log delivery: stderr when there is no syslog, debug lines only with -d."""

from __future__ import annotations

import pytest

from carp.actions import LOG_CRIT
from carp.daemon.syslog import Logger


def test_logger_writes_to_stderr_without_syslog(capsys: pytest.CaptureFixture[str]) -> None:
    log = Logger(debug=False, use_syslog=False)
    log.emit(LOG_CRIT, "carp0: state transition: BACKUP -> MASTER")
    log.debug("not shown without -d")
    err = capsys.readouterr().err
    assert "crit: carp0: state transition: BACKUP -> MASTER" in err
    assert "not shown" not in err


def test_debug_lines_with_dash_d(capsys: pytest.CaptureFixture[str]) -> None:
    Logger(debug=True, use_syslog=False).debug("socket opened on em0")
    assert "debug: socket opened on em0" in capsys.readouterr().err
