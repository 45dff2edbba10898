"""carpd's command line: capability check, personality switch, -n."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from carp.daemon import main as carpd
from sysctl.store import Store

ROOT_STATUS = "Name:\tcarpd\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n"


def test_effective_caps_parsing() -> None:
    assert carpd.effective_caps(ROOT_STATUS) == 0x1FFFFFFFFFF
    assert carpd.effective_caps("Name:\tx\n") == 0
    assert carpd.missing_caps(0x1FFFFFFFFFF) == []
    assert carpd.missing_caps(0) == ["CAP_NET_ADMIN", "CAP_NET_RAW"]
    assert carpd.missing_caps(1 << 12) == ["CAP_NET_RAW"]
    assert carpd.missing_caps(1 << 13) == ["CAP_NET_ADMIN"]


def test_without_capabilities_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(carpd, "check_privileges", lambda: "carpd: missing capability CAP_NET_RAW")
    assert carpd.main([]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CAP_NET_RAW" in err


def test_check_privileges_names_the_missing_capability(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(carpd, "effective_caps", lambda text: 1 << 12)
    problem = carpd.check_privileges()
    assert problem is not None and "CAP_NET_RAW" in problem and "CAP_NET_ADMIN" not in problem


def test_personality_is_validated_and_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path))
    assert carpd.main(["--personality", "solaris"]) == 1
    assert "openbsd, freebsd, netbsd" in capsys.readouterr().err
    assert not (tmp_path / "store.json").exists()
    assert carpd.main(["--personality", "FreeBSD"]) == 0
    assert Store(tmp_path).load().personality == "freebsd"


def test_check_mode_prints_the_boot_plan(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class FakeBoot:
        @staticmethod
        def plan() -> list[str]:
            return ["/etc/hostname.carp0:1: ifconfig carp0 vhid 1 192.168.1.1/24"]

    monkeypatch.setattr(carpd, "_bootconf", lambda: FakeBoot)
    assert carpd.main(["-n"]) == 0
    assert "ifconfig carp0 vhid 1" in capsys.readouterr().out


def test_pidfile_lock_is_exclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(carpd, "LOCK_WAIT", 0.1)
    first = carpd.lock_pidfile(tmp_path)
    assert first is not None
    try:
        assert carpd.lock_pidfile(tmp_path) is None  # a second carpd for the same store
    finally:
        os.close(first)
    second = carpd.lock_pidfile(tmp_path)
    assert second is not None
    os.close(second)
