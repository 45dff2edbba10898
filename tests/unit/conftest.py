"""Unit tests run the front ends in-process: none may exec procps sysctl (it would
replace pytest) or let it write the real /proc/sys.  A test that wants procps asks for
it (tests/unit/test_sysctl.py, fixture `procps_sysctl`)."""

from __future__ import annotations

import pytest

from sysctl import procps

NO_PROCPS = "/nonexistent/procps-sysctl"


@pytest.fixture(autouse=True)
def _no_procps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(procps.PATH_ENV, NO_PROCPS)
