"""carpd --trace: one JSON line per event, written after the sends of a turn; the kernel
receive time is read from the SO_TIMESTAMPNS ancillary data."""

from __future__ import annotations

import socket
from pathlib import Path

from carp.daemon.sockets import SO_TIMESTAMPNS, TIMESPEC, kernel_stamp
from carp.daemon.trace import Trace, read_trace


def test_events_reach_the_file_only_when_flushed(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    trace = Trace(str(path))
    trace.rx(10.5, 10.75, 10.5)
    trace.send(7, 11.0)
    assert read_trace(str(path)) == []  # nothing written in the middle of a turn
    trace.flush()
    trace.timer(12.0, 12.25, 12.5)
    trace.close()
    assert read_trace(str(path)) == [
        {"ev": "rx", "kernel": 10.5, "read": 10.75, "used": 10.5},
        {"ev": "send", "vhid": 7, "at": 11.0},
        {"ev": "timer", "deadline": 12.0, "fired": 12.25, "core": 12.5},
    ]


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text('{"ev": "send", "vhid": 1, "at": 1.0}\n{"ev": "ti')
    assert read_trace(str(path)) == [{"ev": "send", "vhid": 1, "at": 1.0}]
    assert read_trace(str(tmp_path / "missing")) == []


def test_offset_maps_the_loop_clock_to_the_wall_clock(tmp_path: Path) -> None:
    import time

    trace = Trace(str(tmp_path / "t"))
    assert abs(trace.offset(time.monotonic()) - time.time()) < 0.01
    trace.close()


def test_kernel_stamp_reads_the_timespec() -> None:
    stamp = TIMESPEC.pack(1_796_000_000, 250_000_000)
    other = (socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, (255).to_bytes(4, "little"))
    assert kernel_stamp([other, (socket.SOL_SOCKET, SO_TIMESTAMPNS, stamp)]) == 1_796_000_000.25
    assert kernel_stamp([other]) is None


def test_a_received_datagram_carries_its_kernel_time() -> None:
    """What the receive sockets ask of the kernel: a stamp with every datagram."""
    import time

    from carp.daemon.sockets import STAMP_SPACE

    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with a, b:
        b.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        before = time.time()
        a.send(b"advert")
        _data, anc, _flags, _addr = b.recvmsg(64, STAMP_SPACE)
    stamp = kernel_stamp(anc)
    assert stamp is not None and before - 0.001 <= stamp <= time.time()
