"""The control socket, one reply line per request line:

* `sync N`: a front end committed generation N; carpd reloads the store and answers
  `applied M` (M = the generation now applied, >= N unless the store itself is older).
* `counters`: `counters NAME=N ...`, the carpstats counters as they are at this moment
  (netstat reads them here: status.json is rewritten at most once a second)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

Sync = Callable[[int], Awaitable[int]]
Counters = Callable[[], Mapping[str, int]]
MAX_LINE = 256
USAGE = "error expected: sync <generation> | counters\n"


async def _reply(words: list[str], sync: Sync, counters: Counters) -> str:
    if len(words) == 2 and words[0] == "sync" and words[1].isdigit():
        return f"applied {await sync(int(words[1]))}\n"
    if words == ["counters"]:
        return " ".join(["counters", *(f"{k}={v}" for k, v in counters().items())]) + "\n"
    return USAGE


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sync: Sync, counters: Counters
) -> None:
    """Serve one client: any number of request lines, one reply line each."""
    try:
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), 10.0)
            except (TimeoutError, ValueError):
                break
            if not line:
                break
            words = line[:MAX_LINE].decode(errors="replace").split()
            writer.write((await _reply(words, sync, counters)).encode())
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def serve(path: Path, sync: Sync, counters: Counters) -> asyncio.AbstractServer:
    """Listen on `path` (a stale socket from a dead carpd is replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = await asyncio.start_unix_server(
        lambda r, w: handle(r, w, sync, counters), path=str(path)
    )
    os.chmod(path, 0o600)  # only root may make carpd reload or read its counters
    return server
