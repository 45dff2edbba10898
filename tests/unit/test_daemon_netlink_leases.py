"""Netlink.leases_written: a takeover waits for the lease thread only while a renewal
handed to it is still unwritten (carp.daemon.netlink); LeaseSocket.hold batches renewals."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from carp.config import Address
from carp.daemon.leases import BATCH_BYTES, LeaseSocket
from carp.daemon.netlink import Netlink
from carp.daemon.rtnl import IFADDRMSG, RTM_NEWADDR, messages


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



class _Wire:
    """Stands in for the lease socket's netlink socket: records each send, answers none."""

    def __init__(self) -> None:
        self.sends: list[bytes] = []

    def send(self, data: bytes) -> int:
        self.sends.append(bytes(data))
        return len(data)

    def recv_into(self, buf: bytearray) -> int:
        raise BlockingIOError

    def close(self) -> None:
        pass


def _links(data: bytes) -> list[int]:
    """The link index of every RTM_NEWADDR in one send."""
    out = []
    for kind, _seq, start, _end in messages(data):
        assert kind == RTM_NEWADDR
        out.append(IFADDRMSG.unpack_from(data, start)[4])
    return out


@pytest.mark.parametrize("ack", [False, True])
def test_leases_of_255_vhids_go_in_one_sendmsg(ack: bool) -> None:
    """Issue 8: renewing 255 vhids' leases is one netlink batch, not a round trip per
    address; a thousand go in as few sends as BATCH_BYTES allows, each address once."""
    leases = LeaseSocket()
    leases.sock.close()
    wire = _Wire()
    leases.sock = wire  # type: ignore[assignment]
    v4 = [(10 + i, Address(f"10.0.{i}.1", 24)) for i in range(255)]
    assert leases.hold(v4, 2, ack=ack) == []
    assert [_links(s) for s in wire.sends] == [[index for index, _ in v4]]

    wire.sends.clear()
    v6 = [(300 + i, Address(f"2001:db8::{i:x}", 64)) for i in range(745)]
    assert leases.hold(v4 + v6, 2, ack=ack) == []
    assert [i for s in wire.sends for i in _links(s)] == [index for index, _ in v4 + v6]
    assert 1 < len(wire.sends) and all(len(s) >= BATCH_BYTES for s in wire.sends[:-1])
