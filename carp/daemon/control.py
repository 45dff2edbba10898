"""The control socket, one reply line per request line:

* `sync N`: a front end committed generation N; carpd reloads the store and answers
  `applied M` (M = the generation now applied, >= N unless the store itself is older).
* `counters`: `counters NAME=N ...`, the carpstats counters as they are at this moment
  (netstat reads them here: status.json is rewritten at most once a second).
* `status`: `status {JSON}`, the runtime status as status.json has it, but as of this
  moment (`carpd status` reads it here; other users read status.json, which holds no key).

Only root is served: the socket file is 0600, and every connection's peer credentials
(SO_PEERCRED) are checked as well, so neither a mode loosened by hand nor a connection
made between bind() and chmod() lets another user make carpd reload or count.  Anyone
else gets one line, `error Operation not permitted`, to its first request, and the
connection is closed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

Sync = Callable[[int], Awaitable[int]]
Counters = Callable[[], Mapping[str, int]]
Status = Callable[[], Mapping[str, object]]
MAX_LINE = 256
USAGE = "error expected: sync <generation> | counters | status\n"
NOT_PERMITTED = "error Operation not permitted\n"
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def peer_uid(sock: socket.socket | None) -> int | None:
    """The user id of the process at the other end of a Unix socket (None if unknown)."""
    if sock is None:
        return None
    try:
        _pid, uid, _gid = _UCRED.unpack(
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
        )
    except OSError:
        return None
    return uid


async def _reply(
    words: list[str], sync: Sync, counters: Counters, status: Status | None
) -> str:
    if len(words) == 2 and words[0] == "sync" and words[1].isdigit():
        return f"applied {await sync(int(words[1]))}\n"
    if words == ["counters"]:
        return " ".join(["counters", *(f"{k}={v}" for k, v in counters().items())]) + "\n"
    if words == ["status"] and status is not None:  # json.dumps escapes every newline
        return f"status {json.dumps(status(), separators=(',', ':'))}\n"
    return USAGE


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sync: Sync, counters: Counters,
    status: Status | None = None,
) -> None:
    """Serve one client: any number of request lines, one reply line each."""
    root = peer_uid(writer.get_extra_info("socket")) == 0
    try:
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), 10.0)
            except (TimeoutError, ValueError):
                break
            if not line:
                break
            if not root:  # its request read (so that it gets the answer), then closed
                writer.write(NOT_PERMITTED.encode())
                await writer.drain()
                break
            words = line[:MAX_LINE].decode(errors="replace").split()
            writer.write((await _reply(words, sync, counters, status)).encode())
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def serve(
    path: Path, sync: Sync, counters: Counters, status: Status | None = None
) -> asyncio.AbstractServer:
    """Listen on `path` (a stale socket from a dead carpd is replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = await asyncio.start_unix_server(
        lambda r, w: handle(r, w, sync, counters, status), path=str(path)
    )
    os.chmod(path, 0o600)  # only root may make carpd reload or read its counters
    return server
