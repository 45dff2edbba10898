"""The watchdog: EOF on the pipe (carpd died) cleans up; "bye" (clean exit) does not."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import pytest

from carp.daemon import watchdog


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
