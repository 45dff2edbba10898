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


@pytest.mark.parametrize("first", ["loser", "survivor"])
@pytest.mark.parametrize("pers", PERSONALITIES)
def test_heal_leaves_one_master_within_an_interval_and_it_reannounces(
    pers: str, first: str
) -> None:
    """A (advskew 0) and B (advskew 100), cut apart: both MASTER.  Healed just after one of
    A's advertisements, B speaks first: A hears a less preferred master, announces the
    addresses again (so clients and switches that followed B come back) and B yields to
    A's next advertisement.  Healed just before one, B yields to it at once."""
    lan = Lan(seed=5)
    lan.add("A", pers, [iface(pers, 1, 0)])
    lan.add("B", pers, [iface(pers, 1, 100)])
    lan.run_until(20 * US)
    assert lan.masters(1) == ["A"]
    lan.partition(["A"], ["B"])
    lan.run_until(30 * US)
    assert lan.masters(1) == ["A", "B"]
    a_ad, b_ad = ad_interval_us(1, 0), ad_interval_us(1, 100)
    for _ in range(100):  # from one advert of A to the next, until B's falls between
        t_a = max(t for t, n, _ in lan.sends if n == "A")
        b_next = max(t for t, n, _ in lan.sends if n == "B") + b_ad
        if t_a + 100_000 < b_next < t_a + a_ad - 100_000:
            break
        lan.run_until(t_a + a_ad)
    else:
        raise AssertionError("the phases never fell right")
    heal = t_a + 1 if first == "loser" else b_next + 1
    lan.at(heal, lan.heal)
    lan.run_until(heal + a_ad)
    assert lan.masters(1) == ["A"]  # within one of the survivor's intervals
    (b_down,) = [t for t in lan.transitions_of("B") if t.t >= heal]
    assert (b_down.new, b_down.reason) == ("BACKUP", "more frequent advertisement received")
    again = [t for t, host, a in lan.announces if host == "A" and t >= heal]
    heard = [d.t for d in lan.deliveries if d.dst == "A" and d.t >= heal]
    if first == "loser":
        assert heard[:1] == [b_next] and again == [b_next]  # on hearing B
    else:
        assert heard == [] and again == []  # B never spoke again: nothing to undo
    lan.run_until(heal + 30 * US)
    late = [t for t, host, _ in lan.announces if host == "A" and t > heal + a_ad]
    assert lan.masters(1) == ["A"] and late == []
