"""Two-host scenarios: election, master death, preemption (exact microseconds)."""

from __future__ import annotations

import pytest

from tests.sim.helpers import PERSONALITIES, US, ad_interval_us, iface, key, master_down_us
from tests.sim.lan import Lan

PREEMPT = "net.inet.carp.preempt"


def pair(pers: str, preempt: int = 0, seed: int = 1) -> Lan:
    """The man-page example: A advskew 0, B advskew 100, same vhid, same passphrase."""
    lan = Lan(seed=seed)
    lan.add("A", pers, [iface(pers, 1, 0)], sysctl={PREEMPT: preempt})
    lan.add("B", pers, [iface(pers, 1, 100)], sysctl={PREEMPT: preempt})
    return lan


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_man_page_example_a_master_b_backup(pers: str) -> None:
    lan = pair(pers)
    k = key(pers)
    lan.run_until(60 * US)
    assert lan.state("A", k) == "MASTER"
    assert lan.state("B", k) == "BACKUP"
    # A (advskew 0) times out first, at exactly its master-down interval: 3 s.
    (a_up,) = lan.transitions_of("A", "MASTER")
    assert (a_up.t, a_up.reason) == (3 * US, "master timed out")
    assert lan.transitions_of("B", "MASTER") == []
    # and then advertises every advbase + advskew/256 = 1 s
    times = [t for t, n, _ in lan.sends if n == "A"]
    assert times[:3] == [3 * US, 4 * US, 5 * US]


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_master_dies_backup_takes_over_at_exact_master_down(pers: str) -> None:
    lan = pair(pers)
    k = key(pers)
    crash_at = 20 * US + 123_457  # between two adverts
    lan.at(crash_at, lambda: lan.crash("A"))
    lan.run_until(40 * US)
    last = max(d.t for d in lan.deliveries if d.src == "A" and d.dst == "B")
    assert last == 20 * US  # A's last advert before the crash
    (b_up,) = lan.transitions_of("B", "MASTER")
    expected = last + master_down_us(pers, 1, 100)
    assert b_up.t == expected
    assert b_up.reason == "master timed out"
    # KA-3 literally: OpenBSD 4 171 875 us, FreeBSD/NetBSD 3 390 625 us
    assert b_up.t - last == (4_171_875 if pers == "openbsd" else 3_390_625)
    assert lan.state("B", k) == "MASTER"


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_preempt_off_returning_master_stays_backup(pers: str) -> None:
    lan = pair(pers, preempt=0)
    k = key(pers)
    lan.at(20 * US + 500_000, lambda: lan.crash("A"))
    lan.at(40 * US + 250_000, lambda: lan.boot("A"))
    lan.run_until(120 * US)
    assert lan.state("A", k) == "BACKUP"
    assert lan.state("B", k) == "MASTER"
    assert [t.new for t in lan.transitions_of("A")] == ["BACKUP", "MASTER", "BACKUP"]


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_preempt_on_returning_master_takes_over(pers: str) -> None:
    lan = pair(pers, preempt=1)
    k = key(pers)
    lan.at(20 * US + 500_000, lambda: lan.crash("A"))
    boot = 40 * US + 250_000
    lan.at(boot, lambda: lan.boot("A"))
    lan.run_until(120 * US)
    assert lan.state("A", k) == "MASTER"
    assert lan.state("B", k) == "BACKUP"
    # A preempts on the first advert it hears from B after booting ...
    first_heard = min(d.t for d in lan.deliveries if d.dst == "A" and d.t >= boot)
    a_up = lan.transitions_of("A", "MASTER")[-1]
    assert (a_up.t, a_up.reason) == (first_heard, "preempting a slower master")
    # ... and B yields at that same instant to A's takeover advert.
    b_down = lan.transitions_of("B", "BACKUP")[-1]
    assert (b_down.t, b_down.reason) == (first_heard, "more frequent advertisement received")


@pytest.mark.parametrize("pers", ["openbsd", "netbsd"])
def test_bow_out_gives_immediate_takeover(pers: str) -> None:
    lan = pair(pers)
    k = key(pers)
    stop = 30 * US + 10
    lan.at(stop, lambda: lan.shutdown("A"))
    lan.run_until(60 * US)
    b_up = lan.transitions_of("B", "MASTER")[-1]
    assert (b_up.t, b_up.reason) == (stop, "master will time out")
    assert lan.state("B", k) == "MASTER"


def test_freebsd_has_no_bow_out() -> None:
    lan = pair("freebsd")
    stop = 30 * US + 10
    lan.at(stop, lambda: lan.shutdown("A"))
    lan.run_until(60 * US)
    b_up = lan.transitions_of("B", "MASTER")[-1]
    expected = 30 * US + master_down_us("freebsd", 1, 100)
    assert (b_up.t, b_up.reason) == (expected, "master timed out")


def test_ad_interval_includes_skew() -> None:
    lan = Lan(seed=3)
    lan.add("B", "openbsd", [iface("openbsd", 1, 100)])
    lan.run_until(20 * US)
    times = [t for t, n, _ in lan.sends if n == "B"]
    start = master_down_us("openbsd", 1, 100)
    assert times[:3] == [start + i * ad_interval_us(1, 100) for i in range(3)]


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_takeover_timing_with_delay_and_jitter(pers: str) -> None:
    """The master-down timer runs from when the last advert *arrived*."""
    lan = Lan(seed=9, delay_us=1_500, jitter_us=700)
    lan.add("A", pers, [iface(pers, 1, 0)])
    lan.add("B", pers, [iface(pers, 1, 100)])
    lan.at(50 * US + 1, lambda: lan.crash("A"))
    lan.run_until(70 * US)
    arrivals = [d.t for d in lan.deliveries if d.src == "A" and d.dst == "B"]
    assert all(1_500 <= t % US <= 2_200 for t in arrivals)
    (b_up,) = lan.transitions_of("B", "MASTER")
    assert b_up.t == arrivals[-1] + master_down_us(pers, 1, 100)
