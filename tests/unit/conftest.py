"""Unit tests run the front ends in-process: none may exec procps sysctl (it would
replace pytest) or let it write the real /proc/sys, and none may change a real
interface through netlink.  A test that wants procps asks for it
(tests/unit/test_sysctl.py, fixture `procps_sysctl`); interfaces are tests/netns's."""

from __future__ import annotations

import pytest

from carp.ifconfig import apply
from sysctl import procps
from tests.unit.ifconfig_support import FakeNetlink

NO_PROCPS = "/nonexistent/procps-sysctl"


@pytest.fixture(autouse=True)
def _no_procps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(procps.PATH_ENV, NO_PROCPS)


@pytest.fixture(autouse=True)
def _no_netlink(monkeypatch: pytest.MonkeyPatch) -> FakeNetlink:
    fake = FakeNetlink()
    monkeypatch.setattr(apply, "system_netlink", lambda: fake)
    return fake
