"""A 16-host cluster with random crashes and restarts (shared by the test and the benchmark)."""

from __future__ import annotations

import random

from tests.sim.helpers import US, iface, key
from tests.sim.lan import Lan

HOSTS = 16
VHIDS = 4


def skew(host: int, vhid: int) -> int:
    """Distinct advskews per vhid, rotated so each vhid has a different natural master."""
    return ((host + 4 * (vhid - 1)) % HOSTS) * 10


def cluster(pers: str, preempt: int, seed: int) -> tuple[Lan, dict[tuple[str, int], int]]:
    lan = Lan(seed=seed)
    skews: dict[tuple[str, int], int] = {}
    for h in range(HOSTS):
        name = f"h{h:02d}"
        ifs = [iface(pers, v, skew(h, v), address=f"192.168.{v}.1") for v in range(1, VHIDS + 1)]
        lan.add(name, pers, ifs, sysctl={"net.inet.carp.preempt": preempt})
        skews.update({(name, v): skew(h, v) for v in range(1, VHIDS + 1)})
    return lan, skews


def schedule_chaos(lan: Lan, seed: int, until_us: int, mean_gap_us: int = 30 * US) -> None:
    """Crash a random live host every ~mean_gap, restart it 5..90 s later (seeded)."""
    rng = random.Random(seed)
    t = 10 * US
    names = sorted(lan.hosts)
    while True:
        t += int(rng.expovariate(1 / mean_gap_us))
        if t >= until_us:
            return
        victim = rng.choice(names)
        back = t + rng.randrange(5 * US, 90 * US)

        def crash(n: str = victim) -> None:
            if lan.hosts[n].alive:
                lan.crash(n)

        def boot(n: str = victim) -> None:
            if not lan.hosts[n].alive:
                lan.boot(n)

        lan.at(t, crash)
        lan.at(back, boot)


__all__ = ["HOSTS", "VHIDS", "cluster", "key", "schedule_chaos", "skew"]
