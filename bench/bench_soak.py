"""No false failover while every core is busy and the store is being written (issue 11 §2).

The pair of bench_takeover (VRRPv3 at CARP_BENCH_VRRPINTERVAL, default 10; CARP at
advbase 1 if 0; carpd options from CARP_BENCH_CARPD_ARGS) runs for CARP_BENCH_SOAK_SECONDS (600)
while `stress-ng --cpu 0` loads every core and each host's store is committed over and
over (`sysctl net.inet.carp.log` toggled, which carpd reloads).  From the capture on the
bridge:

false failovers  the backup's advertisement bursts: a backup that hears its master never
                 sends one, so each burst is one takeover from a live master
largest gap      between two advertisements of the master, against the backup's
                 master-down interval (the margin left before a false failover)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time

from bench.bench_carpd import _pct
from bench.bench_takeover import Figure, Protocol, carp_advbase1, pair, rank, roles, vrrp
from carp.lab import Capture, Host, Lab
from carp.lab.netns import stop


def bursts(times: list[float], quiet: float) -> int:
    """Runs of `times` (sorted) separated by more than `quiet` seconds."""
    return sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] > quiet)


def writer(hosts: list[Host], done: threading.Event, writes: list[int]) -> None:
    """Commit each host's store in turn until `done`; counts the commits acknowledged."""
    level = 1
    while not done.is_set():
        level = 3 - level
        for host in hosts:
            done_ok = host.sysctl(f"net.inet.carp.log={level}", check=False).returncode == 0
            writes[0] += done_ok


def soak(lab: Lab, cap: Capture, seconds: float) -> tuple[list[float], list[float], int]:
    """(the master's advertisement times, the backup's, store commits) over `seconds`."""
    master, backup = roles(lab)
    done, writes = threading.Event(), [0]
    load = subprocess.Popen(["stress-ng", "--cpu", "0", "--timeout", f"{seconds + 5:.0f}s",
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    thread = threading.Thread(target=writer, args=(lab.hosts, done, writes), daemon=True)
    try:
        thread.start()
        t0 = time.time()
        time.sleep(seconds)
        t1 = time.time()
    finally:
        done.set()
        stop(load, timeout=5)
        thread.join(timeout=30)
    ads = cap.adverts(since=t0, until=t1)
    return ([r["t"] for r in ads if r["port"] == master.port()],
            [r["t"] for r in ads if r["port"] == backup.port()], writes[0])


def protocol() -> Protocol:
    interval = int(os.environ.get("CARP_BENCH_VRRPINTERVAL", "10"))
    return vrrp(interval) if interval else carp_advbase1()


def run() -> list[Figure]:
    if shutil.which("stress-ng") is None:
        raise RuntimeError("stress-ng is not installed (make test installs SYSDEPS)")
    proto = protocol()
    seconds = float(os.environ.get("CARP_BENCH_SOAK_SECONDS", "600"))
    with Lab(hosts=2, lans=1, personality=proto.personality) as lab:
        cap = pair(lab, proto)
        time.sleep(1.0)
        _master, backup = roles(lab)
        md = proto.master_down(rank(backup))
        mine, theirs, writes = soak(lab, cap, seconds)
    gaps = [b - a for a, b in zip(mine, mine[1:], strict=False)]
    extra = os.environ.get("CARP_BENCH_CARPD_ARGS", "").strip()
    label = f"{proto.label}{f' [{extra}]' if extra else ''}, {seconds:.0f} s"
    return [
        (f"false failovers, all cores busy + store writes, {label}",
         bursts(theirs, md), "takeovers", "0"),
        (f"  largest gap between the master's adverts ({len(mine)} adverts)",
         1000 * max(gaps, default=float("nan")), "ms", f"< master-down {1000 * md:.0f} ms"),
        ("  gap between the master's adverts, p99", 1000 * _pct(gaps, 99) if gaps else
         float("nan"), "ms", f"interval {1000 * proto.interval:.0f} ms"),
        ("  store commits during the soak", writes, "commits", ""),
        ("  load average (1 min) at the end", os.getloadavg()[0], "", ""),
    ]


if __name__ == "__main__":
    for name, value, unit, target in run():
        print(f"{name:<66} {value:>10.3f} {unit:<9} {target}")
