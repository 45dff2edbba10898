"""The control socket, one reply line per request line:

* `sync N`: a front end committed generation N; carpd reloads the store and answers
  `applied M` (M = the generation now applied, >= N unless the store itself is older).
* `counters`: `counters NAME=N ...`, the carpstats counters as they are at this moment
  (netstat reads them here: status.json is rewritten at most once a second).
* `status`: `status {JSON}`, the runtime status as status.json has it, but as of this
  moment (`carpd status` reads it here; other users read status.json, which holds no key).

The counters are public, as BSD's carp stats sysctl is: any local user may ask `counters`,
so an unprivileged `netstat -s -p carp` is live too.  Such a user gets one answer per
connection, and all of them together at most PUBLIC_RATE answers a second, so a busy reader
cannot starve the protocol.  Everything else is root's: `sync` (a reload) and `status` (its
cost grows with the vhids; other users read status.json, which holds no key) from anyone
else get one line, `error Operation not permitted`, and the connection is closed.  The
check is on every connection's peer credentials (SO_PEERCRED), not on the file's mode."""

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
PUBLIC = (["counters"],)  # the requests any user may make
PUBLIC_RATE = 100  # answers a second to users other than root, all together
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


class Pace:
    """Spaces answers at least 1/rate seconds apart (the other users' share of carpd)."""

    def __init__(self, rate: float) -> None:
        self.gap = 1.0 / rate
        self.next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self.next)
        self.next = slot + self.gap
        if slot > now:
            await asyncio.sleep(slot - now)


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sync: Sync, counters: Counters,
    status: Status | None = None, pace: Pace | None = None,
) -> None:
    """Serve one client: any number of request lines from root, one reply line each; one
    public request from anyone else."""
    root = peer_uid(writer.get_extra_info("socket")) == 0
    try:
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), 10.0)
            except (TimeoutError, ValueError):
                break
            if not line:
                break
            words = line[:MAX_LINE].decode(errors="replace").split()
            if not root:  # one answer, then closed
                if words in PUBLIC:
                    if pace is not None:
                        await pace.wait()
                    reply = await _reply(words, sync, counters, status)
                else:
                    reply = NOT_PERMITTED
                writer.write(reply.encode())
                await writer.drain()
                break
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
    pace = Pace(PUBLIC_RATE)
    server = await asyncio.start_unix_server(
        lambda r, w: handle(r, w, sync, counters, status, pace), path=str(path)
    )
    os.chmod(path, 0o666)  # anyone may read; handle() checks who may write
    return server
