"""Netlink.leases_written: a takeover waits for the lease thread only while a renewal
handed to it is still unwritten (carp.daemon.netlink)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from carp.config import Address
from carp.daemon.netlink import Netlink


def test_leases_written_waits_for_the_last_renewal_only_while_it_is_pending() -> None:
    gate = threading.Event()

    def hold(entries: Any, seconds: int, ack: bool = False) -> list[Any]:
        gate.wait(5)
        return []

    async def scenario() -> tuple[bool, bool, bool]:
        nl = Netlink(lambda: None, lambda text: None)
        nl.leases.hold = hold  # type: ignore[method-assign]
        try:
            idle = nl.leases_written().send(None)  # type: ignore[func-returns-value]
        except StopIteration:
            idle = None  # returned without suspending: no trip through the thread
        nl.renew([(1, Address("192.168.1.1", 24))], 1)
        waiting = asyncio.ensure_future(nl.leases_written())
        await asyncio.sleep(0.05)
        pending = not waiting.done()
        gate.set()
        await asyncio.wait_for(waiting, 5)
        nl.close()
        return idle is None, pending, waiting.done()

    assert asyncio.run(scenario()) == (True, True, True)
