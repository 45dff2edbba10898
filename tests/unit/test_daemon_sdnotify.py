"""READY=1 to $NOTIFY_SOCKET without libsystemd."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from carp.daemon.sdnotify import notify


def test_notify_sends_one_datagram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        assert notify("READY=1")
        sock.settimeout(2)
        assert sock.recv(100) == b"READY=1"


def test_notify_without_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "@carpd-test-nobody-listens")
    assert notify("READY=1") is False
