"""Prometheus metrics (`carpd --metrics ADDR:PORT`), off unless asked for: how carpd
starts the process that serves them (carp/daemon/metrics_server.py).

A process of its own, not a thread of carpd's: a scrape of 255 vhids holds the GIL for
about 10 ms, and with one such scrape every 200 ms a thread in carpd made its 10 ms timer
late by 13-19 ms at p99 (4-5 ms without; bench/bench_status.py, load average 4-6).  The process
reads status.json, which carpd publishes anyway, so a scrape costs the loop nothing.
This module imports nothing of prometheus_client: carpd never loads it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from carp import selfrun

TYPE_CHECKING = False
if TYPE_CHECKING:  # the metrics process imports this module: nothing of carpd's for it
    from carp.daemon.syslog import Logger

DEFAULT_HOST = "127.0.0.1"


def parse_listen(arg: str) -> tuple[str, int]:
    """`PORT`, `ADDR:PORT` or `[V6ADDR]:PORT` -> (address, port); ValueError if not."""
    host, sep, port = arg.rpartition(":")
    if not sep:
        host, port = DEFAULT_HOST, arg
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{arg}: write an IPv6 address in brackets, [::1]:PORT")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{arg}: bad port")
    return host or DEFAULT_HOST, int(port)


def spawn(listen: str, rundir: Path) -> subprocess.Popen[bytes]:
    """The metrics process for carpd; it leaves when its stdin (our pipe) closes."""
    return subprocess.Popen(
        selfrun.argv("carp.daemon.metrics_server", listen, str(rundir)),
        env=selfrun.environ(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
    )


def start(listen: str, rundir: Path, log: Logger) -> Callable[[], None] | None:
    """The metrics process, started; the function that stops it.  None if it cannot
    start: carp runs on without it."""
    try:
        proc = spawn(listen, rundir)
    except OSError as exc:
        log.error(f"metrics: cannot start: {exc.strerror}")
        return None
    # it says itself, on the standard error, if it cannot listen there
    log.info(f"metrics process {proc.pid} for http://{listen}/metrics")

    def stop() -> None:
        assert proc.stdin is not None
        proc.stdin.close()  # its signal to leave
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    return stop
