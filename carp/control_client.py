"""A front end's side of carpd's control socket (carp/daemon/control.py serves it): one
request line, one reply line.  Every call answers None at once when no carpd listens, or
when it does not answer within its timeout, so callers fall back to what is stored."""

from __future__ import annotations

import os

from carp import cjson

TYPE_CHECKING = False
if TYPE_CHECKING:  # the front ends start without typing (tests/unit/test_startup_imports.py)
    from typing import Any

    from carp.cmodules import socket as _socket


def ask(path: str, request: str, timeout: float) -> str | None:
    """`request` on the control socket at `path`; the reply line."""
    if not os.path.exists(path):
        return None
    from carp.cmodules import socket as _socket

    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            return _exchange(sock, path, request, timeout)
        finally:
            sock.close()
    except (OSError, ValueError):  # ValueError: a reply that is not UTF-8
        return None


def live_counters(path: str, timeout: float = 1.0) -> dict[str, int] | None:
    """carpd's counters as they are now (`counters NAME=N ...`, root only); None when
    no carpd answers (or one that predates the request)."""
    words = (ask(path, "counters", timeout) or "").split()
    if not words or words[0] != "counters":
        return None
    counters: dict[str, int] = {}
    for word in words[1:]:
        name, _, value = word.partition("=")
        if not value.isdigit():
            return None
        counters[name] = int(value)
    return counters


def live_status(path: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """carpd's runtime status as of now (`status {JSON}`, root only); None when no carpd
    answers it."""
    reply = ask(path, "status", timeout) or ""
    if not reply.startswith("status "):
        return None
    try:
        doc = cjson.loads(reply[len("status "):])
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _exchange(sock: _socket.socket, path: str, request: str, timeout: float) -> str | None:
    """Send one request line; the reply line once it is complete, None if cut short."""
    import time

    sock.settimeout(timeout)
    sock.connect(path)
    sock.sendall(f"{request}\n".encode())
    deadline = time.monotonic() + timeout
    buf = b""
    while not buf.endswith(b"\n"):
        sock.settimeout(max(0.0, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            return None
        buf += chunk
    return buf.decode()
