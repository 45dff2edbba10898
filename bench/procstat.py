"""A process's CPU and memory as /proc shows them (the idle-cost figures of the benches)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of pid: schedstat (ns) where the kernel has it, else the
    utime+stime ticks of /proc/PID/stat (10 ms resolution)."""
    try:
        total = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_pct(pid: int, seconds: float) -> float:
    """Percent of one core pid used over the next `seconds`."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def kernel_share(pid: int, seconds: float) -> float:
    """Percent of pid's CPU time over the next `seconds` spent in the kernel (stime of
    utime+stime in /proc/PID/stat, 10 ms ticks): sends, and what the kernel does with
    each frame on the sender's time."""
    def ticks() -> tuple[int, int]:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]), int(fields[12])

    (u0, s0) = ticks()
    time.sleep(seconds)
    (u1, s1) = ticks()
    total = (u1 - u0) + (s1 - s0)
    return 100 * (s1 - s0) / total if total else 0.0
