"""The control socket: front ends say "sync N" after committing generation N; carpd
reloads the store and answers "applied M" (M = the generation now applied, >= N unless
the store itself is older)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

Sync = Callable[[int], Awaitable[int]]
MAX_LINE = 256


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sync: Sync) -> None:
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
            if len(words) == 2 and words[0] == "sync" and words[1].isdigit():
                applied = await sync(int(words[1]))
                reply = f"applied {applied}\n"
            else:
                reply = "error expected: sync <generation>\n"
            writer.write(reply.encode())
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def serve(path: Path, sync: Sync) -> asyncio.AbstractServer:
    """Listen on `path` (a stale socket from a dead carpd is replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = await asyncio.start_unix_server(lambda r, w: handle(r, w, sync), path=str(path))
    os.chmod(path, 0o600)  # only root may make carpd reload
    return server
