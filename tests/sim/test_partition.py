"""A partition makes two masters; healing leaves exactly the one the rules pick."""

from __future__ import annotations

import pytest

from tests.sim.helpers import (
    PERSONALITIES,
    US,
    ad_interval_us,
    explain,
    iface,
    master_down_us,
)
from tests.sim.lan import Lan

SKEWS = {"A": 0, "B": 50, "C": 100, "D": 150}


@pytest.mark.parametrize("preempt", [0, 1])
@pytest.mark.parametrize("pers", PERSONALITIES)
def test_partition_then_heal(pers: str, preempt: int) -> None:
    lan = Lan(seed=11)
    for name, skew in SKEWS.items():
        lan.add(name, pers, [iface(pers, 1, skew)], sysctl={"net.inet.carp.preempt": preempt})
    lan.run_until(30 * US)
    assert lan.masters(1) == ["A"]
    cut = 30 * US + 100_000
    lan.at(cut, lambda: lan.partition(["A", "B"], ["C", "D"]))
    heal = 60 * US + 300_000
    lan.at(heal, lan.heal)
    lan.run_until(heal - 1)
    # C (fastest on its side) timed out: two masters during the partition
    assert lan.masters(1) == ["A", "C"]
    (c_up,) = lan.transitions_of("C", "MASTER")
    assert c_up.t == 30 * US + master_down_us(pers, 1, 100)
    # healed: the first advert of A (advskew 0) that crosses the old cut ends it
    lan.run_until(heal + ad_interval_us(1, 0))
    assert lan.masters(1) == ["A"]
    a_first = min(t for t, n, _ in lan.sends if n == "A" and t >= heal)
    assert a_first < heal + ad_interval_us(1, 0)
    last = lan.transitions[-1]
    assert (last.t, last.new, last.reason) == (
        a_first,
        "BACKUP",
        "more frequent advertisement received",
    )
    if not preempt:  # C simply yields; with preempt B may briefly preempt C first
        assert last.host == "C"
    lan.run_until(heal + 120 * US)
    assert lan.masters(1) == ["A"]
    assert all(t.t <= a_first for t in lan.transitions)
    explain(lan, pers, {(n, 1): s for n, s in SKEWS.items()}, bool(preempt))
