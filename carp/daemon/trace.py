"""carpd --trace FILE: where the milliseconds of a takeover go (bench/bench_takeover.py).

One JSON line per event, times in seconds of the wall clock (CLOCK_REALTIME), which every
network namespace shares with the lab's switch capture, so the benchmark can line them
up with the frames on the wire:

    {"ev": "rx", "kernel": T, "read": T, "used": T}   an IPv4/IPv6 advertisement: when the
        kernel received it (SO_TIMESTAMPNS), when carpd read it, and the time carpd gave
        the protocol core as its arrival
    {"ev": "timer", "deadline": T, "fired": T, "core": T}  the one timer: due, run, and
        the protocol core done with it (the sends follow)
    {"ev": "send", "vhid": N, "at": T}                sendto() of an advertisement called

Events are written after the sends of the same turn, so tracing never delays an
advertisement; the file is opened O_APPEND and written with one write(2) per turn.
"""

from __future__ import annotations

import json
import os
import time


class Trace:
    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._pending: list[str] = []

    def offset(self, mono: float) -> float:
        """A time of the loop's monotonic clock on the wall clock."""
        return mono + (time.time() - time.monotonic())

    def rx(self, kernel: float | None, read: float, used: float) -> None:
        self._pending.append(json.dumps({"ev": "rx", "kernel": kernel, "read": read,
                                         "used": used}))

    def timer(self, deadline: float, fired: float, core: float) -> None:
        self._pending.append(json.dumps({"ev": "timer", "deadline": deadline, "fired": fired,
                                         "core": core}))

    def send(self, vhid: int, at: float) -> None:
        self._pending.append(json.dumps({"ev": "send", "vhid": vhid, "at": at}))

    def flush(self) -> None:
        if self._pending:
            data, self._pending = "".join(line + "\n" for line in self._pending), []
            os.write(self.fd, data.encode())

    def close(self) -> None:
        self.flush()
        os.close(self.fd)


def read_trace(path: str) -> list[dict[str, float]]:
    """The events of a trace file (a line torn by a kill -9 is skipped)."""
    out = []
    try:
        with open(path) as fh:
            for line in fh:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return out
