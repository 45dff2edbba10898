"""The watchdog: EOF on the pipe (carpd died) cleans up and kills the running hooks'
process groups; "bye" (clean exit) does neither."""

from __future__ import annotations

import os
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from carp.daemon import watchdog
from tests.procs import wait_group_gone


def _wait_exit(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    raise AssertionError("watchdog did not exit")


@pytest.fixture
def marker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Replace the netlink clean-up (inherited by the forked child) with a marker file."""
    path = tmp_path / "cleaned"
    monkeypatch.setattr(watchdog, "delete_tagged", lambda tag=watchdog.TAG: path.touch() or [])
    return path


def test_eof_means_carpd_died_and_triggers_cleanup(marker: Path) -> None:
    pid, fd = watchdog.start()
    time.sleep(0.05)
    assert not marker.exists()  # carpd alive: nothing happens
    start = time.monotonic()
    os.close(fd)  # what the kernel does when carpd is killed
    _wait_exit(pid)
    assert marker.exists()
    assert time.monotonic() - start < 1.0


def test_bye_means_clean_exit_without_cleanup(marker: Path) -> None:
    pid, fd = watchdog.start()
    watchdog.stop(pid, fd)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped by stop()
    assert not marker.exists()


def test_netlink_attribute_parsing() -> None:
    def attr(kind: int, value: bytes) -> bytes:
        raw = struct.pack("=HH", 4 + len(value), kind) + value
        return raw + b"\0" * (-len(raw) % 4)

    data = attr(watchdog.IFLA_IFNAME, b"carp0\0") + attr(watchdog.IFLA_IFALIAS, b"carpd\0")
    attrs = watchdog._attrs(data, 0, len(data))
    assert watchdog._cstr(attrs[watchdog.IFLA_IFNAME]) == "carp0"
    assert watchdog._cstr(attrs[watchdog.IFLA_IFALIAS]) == "carpd"
    assert watchdog._attrs(b"\x02\x00", 0, 2) == {}  # truncated: no crash


def _file_log(path: Path) -> Callable[[str], None]:
    """A log the forked watchdog can write and the test can read."""

    def log(text: str) -> None:
        with open(path, "a") as fh:
            fh.write(text + "\n")

    return log


@pytest.fixture
def hook_group() -> Iterator[subprocess.Popen[bytes]]:
    """A stand-in for a running hook: a session of its own with a child in its group."""
    proc = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], start_new_session=True)
    yield proc
    if proc.poll() is None:
        os.killpg(proc.pid, 9)
        proc.wait()


def test_eof_kills_the_running_hook_groups_and_logs_them(
    marker: Path, tmp_path: Path, hook_group: subprocess.Popen[bytes]
) -> None:
    logfile = tmp_path / "watchdog.log"
    finished = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        pid, fd = watchdog.start(_file_log(logfile))
        link = watchdog.Link(fd)
        link.started(hook_group.pid, "hook /h.d/10-up 1@carp0 MASTER")
        link.started(finished.pid, "hook /h.d/20-done 1@carp0 MASTER")
        link.ended(finished.pid)  # carpd saw it end: no longer the watchdog's business
        os.close(fd)  # carpd died
        _wait_exit(pid)
        assert hook_group.wait(5) == -9
        assert wait_group_gone(hook_group.pid) == []  # its child too
        assert finished.poll() is None
    finally:
        finished.kill()
        finished.wait()
    assert marker.exists()
    assert logfile.read_text() == (
        f"hook /h.d/10-up 1@carp0 MASTER: killed (process group {hook_group.pid}), carpd died\n"
    )


def test_bye_leaves_running_hooks_alone(
    marker: Path, tmp_path: Path, hook_group: subprocess.Popen[bytes]
) -> None:
    """A clean carpd has ended its hooks itself; whatever else is in a group is not ours."""
    logfile = tmp_path / "watchdog.log"
    pid, fd = watchdog.start(_file_log(logfile))
    watchdog.Link(fd).started(hook_group.pid, "hook /h.d/10-up 1@carp0 MASTER")
    watchdog.stop(pid, fd)
    assert hook_group.poll() is None
    assert not marker.exists() and not logfile.exists()


def test_a_hook_name_cannot_forge_a_message() -> None:
    read_fd, write_fd = os.pipe()
    try:
        watchdog.Link(write_fd).started(1234, "hook /h.d/x\nbye\n" + "y" * 5000)
        data = os.read(read_fd, 8192)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert data.count(b"\n") == 1 and len(data) == watchdog.MAX_LINE
    assert data.startswith(b"hook 1234 hook /h.d/x bye ")


def test_note_tracks_running_groups_only() -> None:
    groups: dict[int, str] = {}
    for line in (b"hook 100 hook /a 1@carp0 MASTER", b"hook 200 hook /b 1@carp0 MASTER",
                 b"done 100", b"hook 0 own group", b"hook 1 init", b"hook x y", b"junk"):
        watchdog.note(groups, line)
    assert groups == {200: "hook /b 1@carp0 MASTER"}
