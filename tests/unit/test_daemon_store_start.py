"""What carpd's start does with the store it finds: a stale one (an earlier boot, a
namespace made again) is set aside and the log says where; the boot replay logs no key;
the pid file is root's alone."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from carp import bootconf
from carp import store as store_mod
from carp.daemon import main as carpd
from carp.store import Store


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, text: str) -> None:
        self.lines.append(f"info: {text}")

    def warning(self, text: str) -> None:
        self.lines.append(f"warning: {text}")

    def error(self, text: str) -> None:
        self.lines.append(f"error: {text}")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARP_RUNDIR", raising=False)
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)


def test_start_sets_a_stale_store_aside_and_logs_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_mod, "boot_id", lambda: "boot-1")
    with Store(tmp_path).transaction() as state:
        state.sysctl["net.inet.carp.preempt"] = 1
    log = Log()
    carpd.set_aside_stale(Store(tmp_path), log)  # type: ignore[arg-type]
    assert log.lines == [] and (tmp_path / "store.json").exists()  # still this host's

    monkeypatch.setattr(store_mod, "boot_id", lambda: "boot-2")  # a reboot, /run kept
    carpd.set_aside_stale(Store(tmp_path), log)  # type: ignore[arg-type]
    [aside] = tmp_path.glob("stale-*")
    assert log.lines == [
        f"warning: {tmp_path}/store.json: written in another boot (boot-1; this is boot-2): "
        f"an earlier host's store, set aside in {aside}"
    ]
    assert not (tmp_path / "store.json").exists()
    kept = store_mod._decode((aside / "store.json").read_bytes(), "kept")
    assert kept["sysctl"] == {"net.inet.carp.preempt": 1}  # kept, not deleted


def test_boot_replay_logs_no_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path / "run"))
    etc = tmp_path / "root" / "etc"
    etc.mkdir(parents=True)
    # alias1 without alias0: rc.d/netif never reaches it, and carpd logs it as skipped
    (etc / "rc.conf").write_text(
        'ifconfig_em0_alias1="inet vhid 1 pass sesame-alias alias 192.168.1.50/32"\n')
    (etc / "hostname.carp0").write_text("vhid 1 pass sesame-carp0 carpdev nosuchdev\n")
    log = Log()
    carpd.replay_boot(tmp_path / "run" / "store.json", log, tmp_path / "root")  # type: ignore[arg-type]
    text = "\n".join(log.lines)
    assert "ifconfig_em0_alias0 is missing" in text and "hostname.carp0:1" in text
    assert "sesame" not in text
    # carpd -n still shows the admin the files' own words
    plan = "\n".join(str(step) for step in bootconf.plan(tmp_path / "root"))
    assert "pass sesame-alias" in plan and "pass sesame-carp0" in plan


def test_a_failed_step_without_messages_is_logged_without_its_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    step = bootconf.Step("ifconfig", ["carp0", "vhid", "1", "pass", "se same"], "/etc/x:1")
    assert step.logged == "ifconfig carp0 vhid 1 pass ********"
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(bootconf, "_run_step", lambda step, stdout, stderr, store: 1)
    bootconf.replay([step], stdout=out, stderr=err, store=Store(tmp_path))
    assert "same" not in err.getvalue() and "exit status 1" in err.getvalue()


def test_pid_file_is_root_only(tmp_path: Path) -> None:
    (tmp_path / carpd.PID_FILE).write_text("")
    (tmp_path / carpd.PID_FILE).chmod(0o644)  # an older carpd's
    fd = carpd.lock_pidfile(tmp_path)
    assert fd is not None
    try:
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o600
    finally:
        os.close(fd)
