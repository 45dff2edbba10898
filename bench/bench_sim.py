"""Simulated protocol seconds per wall second: 16 hosts x 4 vhids with crashes/restarts.

The cluster is tests/sim/chaos.py (every host carries every vhid, distinct advskews,
a crash every ~30 s and a restart 5..90 s later), run for one simulated hour with the
simulator's recording off.  Target: >= 1000x real time on one core.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests/ is a package of the repository, not installed
    sys.path.insert(0, str(ROOT))

from tests.sim.chaos import cluster, schedule_chaos  # noqa: E402
from tests.sim.helpers import US  # noqa: E402

SIM_SECONDS = 3600
Figure = tuple[str, float, str, str]


def speed(personality: str, seconds: int = SIM_SECONDS, seed: int = 1) -> tuple[float, float]:
    """(simulated s per CPU s of this process, simulated s per wall s).

    CPU time is the "one core" figure: other processes on a shared machine inflate the
    wall clock but not the work done."""
    lan, _ = cluster(personality, 0, seed)
    lan.record = False
    schedule_chaos(lan, seed, (seconds - 60) * US)
    cpu, wall = time.process_time(), time.perf_counter()
    lan.run_until(seconds * US)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return seconds / cpu, seconds / wall


def run() -> list[Figure]:
    figures: list[Figure] = []
    for pers in ("openbsd", "freebsd", "netbsd"):
        per_cpu, per_wall = speed(pers)
        name = f"16 hosts x 4 vhids, 1 h with crashes ({pers})"
        figures.append((f"{name}, per CPU s", per_cpu, "x real", ">= 1000 on one core"))
        figures.append((f"{name}, per wall s", per_wall, "x real", ">= 1000 when idle"))
    return figures


if __name__ == "__main__":
    for name, value, unit, target in run():
        print(f"{name}: {value:,.0f} {unit} (target {target})")
