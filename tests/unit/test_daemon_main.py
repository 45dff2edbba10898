"""carpd's command line: capability check, personality switch, -n, -R, -h."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from carp.daemon import caps
from carp.daemon import main as carpd
from carp.store import Store

ROOT_STATUS = "Name:\tcarpd\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n"


def test_effective_caps_parsing() -> None:
    assert caps.effective_caps(ROOT_STATUS) == 0x1FFFFFFFFFF
    assert caps.effective_caps("Name:\tx\n") == 0
    assert caps.missing_caps(0x1FFFFFFFFFF) == []
    assert caps.missing_caps(0) == ["CAP_NET_ADMIN", "CAP_NET_RAW"]
    assert caps.missing_caps(1 << 12) == ["CAP_NET_RAW"]
    assert caps.missing_caps(1 << 13) == ["CAP_NET_ADMIN"]


def test_bpf_capable_with_cap_bpf_or_cap_sys_admin() -> None:
    required = 1 << caps.CAP_NET_ADMIN | 1 << caps.CAP_NET_RAW
    assert not caps.bpf_capable(required)
    assert caps.bpf_capable(required | 1 << 39)  # CAP_BPF
    assert caps.bpf_capable(required | 1 << 21)  # CAP_SYS_ADMIN implies it
    assert caps.bpf_capable(caps.effective_caps(ROOT_STATUS))


def test_without_capabilities_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(carpd, "check_privileges", lambda: "carpd: missing capability CAP_NET_RAW")
    assert carpd.main([]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CAP_NET_RAW" in err


def test_check_privileges_names_the_missing_capability(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(caps, "own_caps", lambda: 1 << 12)
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
        def plan(root: Path = Path("/")) -> list[str]:
            assert root == Path("/")  # no -R: the host's own boot files
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


# -- -R / --root: the boot files of another root ------------------------------------------


def copied_etc(tmp_path: Path) -> Path:
    """A copy of a BSD host's /etc, as an admin would bring it over before a migration."""
    root = tmp_path / "fw1"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hostname.carp0").write_text("inet 192.168.1.1 255.255.255.0 NONE vhid 1\n")
    (root / "etc/sysctl.conf").write_text("net.inet.carp.preempt=1\nkern.maxfiles=4096\n")
    return root


@pytest.mark.parametrize("option", ["-R", "--root"])
def test_check_mode_reads_the_boot_files_under_root(
    tmp_path: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert carpd.main(["-n", option, str(copied_etc(tmp_path))]) == 0
    # paths are those of the configured host, whatever directory the copy sits in
    assert capsys.readouterr().out.splitlines() == [
        "/etc/sysctl.conf:1: sysctl net.inet.carp.preempt=1",
        "/etc/hostname.carp0:0: ifconfig carp0 create",
        "/etc/hostname.carp0:1: ifconfig carp0 inet 192.168.1.1 netmask 255.255.255.0 vhid 1",
    ]


@pytest.mark.parametrize("check", [True, False])
def test_a_bad_root_is_one_line_and_exit_1(
    tmp_path: Path, check: bool, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def not_reached(*args: object) -> None:
        raise AssertionError("a bad -R must be refused before anything else")

    monkeypatch.setattr(carpd, "check_privileges", not_reached)
    monkeypatch.setattr(carpd, "replay_boot", not_reached)
    flag = ["-n"] if check else []
    missing = tmp_path / "nope"
    assert carpd.main([*flag, "-R", str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"carpd: -R {missing}: no such directory\n"

    # the copied etc itself instead of the directory above it would plan nothing, silently
    etc = copied_etc(tmp_path) / "etc"
    assert carpd.main([*flag, "--root", str(etc)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"carpd: -R {etc}: no etc directory")
    assert err.count("\n") == 1

    a_file = tmp_path / "file"
    a_file.write_text("")
    assert carpd.main([*flag, "-R", str(a_file)]) == 1
    assert "no such directory" in capsys.readouterr().err


class Stop(Exception):
    """Ends a start-up test once the step under test has run."""


def test_start_replays_from_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copied_etc(tmp_path)
    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path / "run"))
    monkeypatch.setattr(carpd, "check_privileges", lambda: None)
    monkeypatch.setattr(carpd, "lock_pidfile", lambda rundir: -1)
    seen: list[Path] = []

    def replay_boot(store_path: Path, log: object, root: Path = Path("/")) -> None:
        seen.append(root)
        raise Stop

    monkeypatch.setattr(carpd, "replay_boot", replay_boot)
    with pytest.raises(Stop):
        carpd.main(["-R", str(root)])
    with pytest.raises(Stop):
        carpd.main([])
    assert seen == [root, Path("/")]


class FakeLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, text: str) -> None:
        self.lines.append(f"info: {text}")

    def error(self, text: str) -> None:
        self.lines.append(f"error: {text}")


def test_replay_boot_plans_from_root_only_for_a_new_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned: list[Path] = []

    class FakeBoot:
        @staticmethod
        def plan(root: Path = Path("/")) -> list[str]:
            planned.append(root)
            return ["step"]

        @staticmethod
        def replay(steps: list[str], *, stdout: io.StringIO, stderr: io.StringIO) -> int:
            stdout.write("replayed\n")
            return 0

    monkeypatch.setattr(carpd, "_bootconf", lambda: FakeBoot)
    root, store = tmp_path / "fw1", tmp_path / "store.json"
    log = FakeLog()
    carpd.replay_boot(store, log, root)  # type: ignore[arg-type]
    assert planned == [root] and log.lines == ["info: boot: replayed"]

    # a store that exists is kept (a restarted carpd); with -R the log says why nothing ran
    store.write_text("{}")
    log = FakeLog()
    carpd.replay_boot(store, log, root)  # type: ignore[arg-type]
    assert planned == [root]
    assert log.lines == [f"info: boot configuration under {root} not replayed: {store} exists"]
    log = FakeLog()
    carpd.replay_boot(store, log)  # type: ignore[arg-type]
    assert planned == [root] and log.lines == []


def test_help_exits_0_and_lists_root(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        carpd.main(["-h"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: carpd [-h]") and "-R DIR, --root DIR" in out


def test_an_unwritable_trace_file_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path))
    monkeypatch.setattr(carpd, "check_privileges", lambda: None)
    assert carpd.main(["--trace", str(tmp_path / "no" / "such" / "file")]) == 1
    assert capsys.readouterr().err == (
        f"carpd: --trace {tmp_path}/no/such/file: No such file or directory\n")
    assert not (tmp_path / "carpd.pid").exists()  # stopped before taking the lock
