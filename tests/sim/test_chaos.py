"""16 hosts, random crashes and restarts for an hour: one master per vhid, all explained."""

from __future__ import annotations

import pytest

from tests.sim.chaos import VHIDS, cluster, schedule_chaos
from tests.sim.helpers import US, explain, master_down_us
from tests.sim.lan import Lan

HOUR = 3600 * US
CONVERGED = 10 * US


def check_one_master(lan: Lan, pers: str, skews: dict[tuple[str, int], int]) -> int:
    """Replay transitions and crashes; at the end of every instant after convergence each
    vhid has at most one master, and none only while a crash's master-down runs."""
    changes: list[tuple[int, int, str, str]] = [
        (t.t, t.vhid, t.host, t.new) for t in lan.transitions
    ]
    for t, host, what in lan.events:
        if what == "crash":
            changes += [(t, v, host, "DOWN") for v in range(1, VHIDS + 1)]
    changes.sort(key=lambda c: c[0])  # stable: same-instant order is kept
    worst = max(master_down_us(pers, 1, s) for s in skews.values())
    masters: dict[int, set[str]] = {v: set() for v in range(1, VHIDS + 1)}
    lost: dict[int, int] = {}
    checked = 0
    i = 0
    while i < len(changes):
        t = changes[i][0]
        while i < len(changes) and changes[i][0] == t:
            _, v, host, new = changes[i]
            if new == "MASTER":
                masters[v].add(host)
            elif host in masters[v]:
                masters[v].discard(host)
                lost[v] = t
            i += 1
        if t < CONVERGED:
            continue
        for v, ms in masters.items():
            assert len(ms) <= 1, (t, v, ms)
            if not ms:
                assert t - lost[v] <= worst, (t, v)
            checked += 1
    for v, ms in masters.items():
        assert len(ms) == 1, (v, ms)
    return checked


@pytest.mark.parametrize(("pers", "preempt", "seed"), [
    ("openbsd", 0, 1), ("openbsd", 1, 2), ("freebsd", 1, 3), ("netbsd", 0, 4),
])
def test_sixteen_hosts_an_hour_of_crashes(pers: str, preempt: int, seed: int) -> None:
    lan, skews = cluster(pers, preempt, seed)
    schedule_chaos(lan, seed, HOUR - 120 * US)
    lan.run_until(HOUR)
    crashes = sum(1 for _, _, what in lan.events if what == "crash")
    assert crashes > 50
    assert check_one_master(lan, pers, skews) > 100
    explain(lan, pers, skews, bool(preempt))
    if preempt:  # everyone is back: each vhid is held by its best (advskew 0) host
        assert all(lan.masters(v) == [f"h{(16 - 4 * (v - 1)) % 16:02d}"] for v in (1, 2, 3, 4))
