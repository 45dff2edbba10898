"""A master whose whole carpd service dies holds its addresses as leases: with Linux's
worst lifetime check (carp.lease.CHECK_US) they are gone before any backup takes over."""

from __future__ import annotations

import random

import pytest

from carp.lease import CHECK_US, SEND_SLACK_US
from tests.sim.helpers import PERSONALITIES, US, iface
from tests.sim.lan import Lan

CASES = [  # (advbase, master advskew, backup advskews)
    (1, 0, (0, 100, 254)),
    (1, 100, (0, 100, 254)),
    (1, 117, (0, 200)),
    (1, 200, (200, 254)),  # beyond ~1.46 s intervals: backups at our advskew or above
    (2, 240, (0, 240)),
    (10, 0, (0, 50)),
]


@pytest.mark.parametrize("pers", PERSONALITIES)
@pytest.mark.parametrize(("advbase", "m_skew", "b_skews"), CASES)
def test_a_dead_masters_leases_end_before_the_takeover(
    pers: str, advbase: int, m_skew: int, b_skews: tuple[int, ...]
) -> None:
    rng = random.Random(f"{pers}/{advbase}/{m_skew}")
    for b_skew in b_skews:
        for _ in range(8):
            lan = Lan(seed=rng.randrange(1 << 30))
            lan.add("M", pers, [iface(pers, 1, m_skew, advbase=advbase)])
            lan.run_until(3 * (advbase + 1) * US + US)
            assert lan.masters(1) == ["M"]
            lan.add("B", pers, [iface(pers, 1, b_skew, advbase=advbase)])
            crash = lan.now + 3 * advbase * US + rng.randrange(2 * advbase * US + US)
            lan.at(crash, lambda lan=lan: lan.crash("M"))
            lan.run_until(crash + 4 * advbase * US + 2 * US)
            (took_over,) = [t.t for t in lan.transitions_of("B", "MASTER")]
            renewed = [(t, lease) for t, host, lease in lan.leases if host == "M" and t <= crash]
            last_t, last = renewed[-1]
            gone_by = last_t + last.seconds * US + CHECK_US  # the kernel's latest deletion
            assert gone_by + SEND_SLACK_US <= took_over, (b_skew, crash, last_t, last)
