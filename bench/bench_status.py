"""What the operator's views cost with 255 vhids: one Prometheus scrape and one `carpd
status` table, both from the status document of a real CarpHost; and what a scrape in a
thread beside the protocol loop would take from its timer, which is why the metrics are
served by a process of their own (carp/daemon/metrics.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from prometheus_client import generate_latest
from prometheus_client.registry import CollectorRegistry

from carp.config import Address, CarpInterface, Node
from carp.daemon.metrics_server import CarpCollector
from carp.host import CarpHost
from carp.status_cmd import table

Figure = tuple[str, float, str, str]
VHIDS = 255


def _doc() -> dict[str, object]:
    """carpd's status document for 255 vhids, a third of them MASTER."""
    host = CarpHost("openbsd", "bench")
    ifaces = [CarpInterface(name=f"carp{v}", carpdev="em0", nodes=[Node(v, 0)], passphrase="pw",
                            addresses=[Address(f"10.{v}.0.1", 24)], up=True)
              for v in range(1, VHIDS + 1)]
    host.configure({}, ifaces, {}, 0.0)
    host.timeout(3.0)  # every vhid MASTER after master-down
    st = host.status()
    wall = time.time()
    for per_vhid in st["vhosts"].values():  # type: ignore[attr-defined]
        for e in per_vhid.values():
            e["since_wall"] = wall - 60
    return {"pid": 1, "personality": "openbsd", **st}


def _min_ms(fn: Callable[[], object], runs: int = 30) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000


def _timer_lateness_ms(scrape: Callable[[], object] | None, seconds: float = 4.0) -> float:
    """p99 lateness of an asyncio timer every 10 ms (carpd's one timer), while another
    thread scrapes every 200 ms (a Prometheus scrapes every 15 s), or not."""
    late: list[float] = []
    done = threading.Event()

    def scraper() -> None:
        while scrape is not None and not done.wait(0.2):
            scrape()

    async def ticks() -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            due = loop.time() + 0.01
            await asyncio.sleep(due - loop.time())
            late.append(loop.time() - due)

    t = threading.Thread(target=scraper)
    t.start()
    try:
        asyncio.run(ticks())
    finally:
        done.set()
        t.join()
    late.sort()
    return late[int(len(late) * 0.99)] * 1000


def run() -> list[Figure]:
    doc = _doc()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CarpCollector(lambda: doc))
    now = time.time()
    return [
        (f"metrics scrape, {VHIDS} vhids (min of 30)",
         _min_ms(lambda: generate_latest(registry)), "ms", "in the metrics process"),
        (f"carpd status table, {VHIDS} vhids (min of 30)",
         _min_ms(lambda: table(doc, now)), "ms", ""),
        ("loop timer late, p99, no scrape", _timer_lateness_ms(None), "ms", ""),
        (f"loop timer late, p99, {VHIDS}-vhid scrapes in a thread every 0.2 s",
         _timer_lateness_ms(lambda: generate_latest(registry)), "ms",
         "(why not a thread)"),
    ]
