"""The control socket: "sync N" -> "applied M", against a fake host that applies stores;
"counters" -> the counters at the moment of the request."""

from __future__ import annotations

import asyncio
import functools
import socket
from pathlib import Path

from carp import control_client
from carp.daemon import control
from carp.store import Store


class FakeDaemon:
    """Applies whatever generation the store holds when asked (like carpd's reload)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.applied = 0
        self.reloads = 0

    async def sync(self, generation: int) -> int:
        if generation > self.applied:
            self.reloads += 1
            self.applied = self.store.load().generation
        return self.applied


def test_sync_replies_applied_generation(tmp_path: Path) -> None:
    store = Store(tmp_path)
    fake = FakeDaemon(store)

    async def scenario() -> list[bool]:
        server = await control.serve(store.socket_path, fake.sync, dict)
        results = []
        loop = asyncio.get_running_loop()
        for _ in range(2):
            with store.transaction() as state:
                state.sysctl["net.inet.carp.preempt"] = 1 - state.sysctl.get(
                    "net.inet.carp.preempt", 0
                )
            gen = store.load().generation
            # the front end's blocking client, as ifconfig/sysctl call it
            results.append(await loop.run_in_executor(None, store.wait_applied, gen))
        server.close()
        await server.wait_closed()
        return results

    assert asyncio.run(scenario()) == [True, True]
    assert fake.applied == 2 and fake.reloads == 2


def test_protocol_lines(tmp_path: Path) -> None:
    path = tmp_path / "carpd.sock"

    async def sync(generation: int) -> int:
        return 7

    async def scenario() -> list[bytes]:
        server = await control.serve(path, sync, lambda: {"badttl": 2})
        loop = asyncio.get_running_loop()

        def client() -> list[bytes]:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(5)
                sock.connect(str(path))
                f = sock.makefile("rwb")
                replies = []
                for line in (b"sync 5\n", b"hello\n", b"sync 9\n", b"counters\n"):
                    f.write(line)
                    f.flush()
                    replies.append(f.readline())
                return replies

        replies = await loop.run_in_executor(None, client)
        server.close()
        await server.wait_closed()
        return replies

    replies = asyncio.run(scenario())
    assert replies[0] == b"applied 7\n"
    assert replies[1].startswith(b"error")
    assert replies[2] == b"applied 7\n"  # the client sees 7 < 9 and knows it is not applied
    assert replies[3] == b"counters badttl=2\n"


def test_stale_socket_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "carpd.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # a dead carpd's socket file

    async def scenario() -> None:
        server = await control.serve(path, lambda n: asyncio.sleep(0, result=n), dict)
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_counters_are_read_at_the_request(tmp_path: Path) -> None:
    """What the front end's client gets is the daemon's counters now, not a snapshot."""
    store = Store(tmp_path)
    counters = {"ipackets": 3, "badttl": 0, "opackets": 12}

    async def sync(generation: int) -> int:
        return generation

    async def scenario() -> list[dict[str, int] | None]:
        server = await control.serve(store.socket_path, sync, lambda: counters)
        loop = asyncio.get_running_loop()
        ask = functools.partial(control_client.live_counters, store.socket_file)
        seen = [await loop.run_in_executor(None, ask)]
        counters["badttl"] += 1  # a bad packet arrives
        seen.append(await loop.run_in_executor(None, ask))
        server.close()
        await server.wait_closed()
        return seen

    first, second = asyncio.run(scenario())
    assert first == {"ipackets": 3, "badttl": 0, "opackets": 12}
    assert second == {"ipackets": 3, "badttl": 1, "opackets": 12}


def test_status_is_built_at_the_request(tmp_path: Path) -> None:
    """`status` answers carpd's status as of the request, in one line of JSON, which
    control_client.live_status (carpd status) reads; a carpd without it answers the usage."""
    store = Store(tmp_path)
    status: dict[str, object] = {"pid": 1, "vhosts": {}, "reason": "two\nlines"}

    async def sync(generation: int) -> int:
        return generation

    async def scenario(with_status: bool) -> list[dict[str, object] | None]:
        server = await control.serve(store.socket_path, sync, dict,
                                     (lambda: status) if with_status else None)
        loop = asyncio.get_running_loop()
        ask = functools.partial(control_client.live_status, store.socket_file)
        seen = [await loop.run_in_executor(None, ask)]
        status["vhosts"] = {"carp0": {"1": {"state": "MASTER"}}}
        seen.append(await loop.run_in_executor(None, ask))
        server.close()
        await server.wait_closed()
        return seen

    first, second = asyncio.run(scenario(True))
    assert first == {"pid": 1, "vhosts": {}, "reason": "two\nlines"}
    assert second == {"pid": 1, "vhosts": {"carp0": {"1": {"state": "MASTER"}}},
                      "reason": "two\nlines"}
    assert asyncio.run(scenario(False)) == [None, None]
