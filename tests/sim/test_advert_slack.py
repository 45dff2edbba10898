"""Advert slack (carp.deadlines): 1,000 vhids configured one by one on one host, the way
bench_scale writes them, run on the core's own timers.  Their MASTER timers fall into
shared wake-ups; no advertisement goes more than the slack early or at all late, and no
master-down timer runs a microsecond early."""

from __future__ import annotations

import itertools
import random

import pytest

from carp import deadlines, host
from carp.actions import Send, StateChange
from carp.config import Address, CarpInterface, Node
from carp.host import CarpHost
from carp.states import BACKUP, MASTER, R_MASTER_TIMEOUT
from tests.sim.helpers import US, ad_interval_us, master_down_us

DEVS, PER_DEV = 4, 250
STEADY_S = 10  # seconds watched once every vhid is MASTER


def _iface(i: int) -> CarpInterface:
    dev, vhid = divmod(i, PER_DEV)
    return CarpInterface(
        name=f"carp{i}", carpdev=f"em{dev}", nodes=[Node(vhid + 1, 0)], advbase=1,
        passphrase="pw", addresses=[Address(f"10.{dev + 1}.0.{vhid + 1}", 16)], up=True,
    )


class Run:
    """One host's timeline: when it woke, and per vhid its configure, takeover and adverts."""

    def __init__(self) -> None:
        self.h = CarpHost("openbsd", "h", rng=random.Random(11))
        self.wakes: list[int] = []
        self.started: dict[int, int] = {}  # vhid key -> configured at (us)
        self.masters: dict[int, int] = {}  # -> BACKUP -> MASTER at (us)
        self.adverts: dict[int, list[int]] = {}

    def _key(self, carpdev: str, vhid: int) -> int:
        return int(carpdev[2:]) * PER_DEV + vhid - 1

    def run_until(self, t_us: int) -> None:
        while (d := self.h.next_deadline()) is not None and round(d * US) <= t_us:
            now = round(d * US)
            self.wakes.append(now)
            for a in self.h.timeout(now / US):
                if isinstance(a, Send):
                    self.adverts.setdefault(self._key(a.carpdev, a.vhid), []).append(now)
                elif isinstance(a, StateChange) and (a.old, a.new) == (BACKUP, MASTER):
                    assert a.reason == R_MASTER_TIMEOUT
                    self.masters[self._key(a.carpdev, a.vhid)] = now

    def configure_one_by_one(self) -> int:
        """Every vhid written 50-150 ms after the previous one; the time the last is MASTER."""
        rng = random.Random(5)
        ifs = [_iface(i) for i in range(DEVS * PER_DEV)]
        t = US
        for i in range(len(ifs)):
            t += rng.randrange(50_000, 150_000)
            self.run_until(t)
            self.h.configure({}, ifs[: i + 1], {}, t / US)
            self.started[i] = t
        return t + master_down_us("openbsd", 1, 0)

    def wakes_per_second(self, start: int) -> float:
        return sum(w >= start for w in self.wakes) / ((self.wakes[-1] - start) / US)


@pytest.fixture(scope="module")
def slack_run() -> tuple[Run, int]:
    run = Run()
    steady = run.configure_one_by_one() + 2 * US
    run.run_until(steady + STEADY_S * US)
    return run, steady


def test_masters_share_wake_ups(slack_run: tuple[Run, int], monkeypatch: pytest.MonkeyPatch,
                                ) -> None:
    run, steady = slack_run
    assert len(run.masters) == DEVS * PER_DEV
    # one wake-up runs every MASTER timer due within the slack after it
    assert run.wakes_per_second(steady) <= US / deadlines.ADVERT_SLACK_US + 1
    monkeypatch.setattr(host, "ADVERT_SLACK_US", 0)  # each vhid at its own phase again
    monkeypatch.setattr(deadlines, "ADVERT_SLACK_US", 0)
    exact = Run()
    end = exact.configure_one_by_one() + 2 * US
    exact.run_until(end + 3 * US)
    assert run.wakes_per_second(steady) * 3 < exact.wakes_per_second(end)


def test_no_advert_late_or_more_than_the_slack_early(slack_run: tuple[Run, int]) -> None:
    run, _ = slack_run
    interval = ad_interval_us(1, 0)
    slack = deadlines.advert_slack_us(interval)
    gaps = [b - a for sent in run.adverts.values() for a, b in itertools.pairwise(sent)]
    assert len(gaps) > DEVS * PER_DEV * STEADY_S
    assert min(gaps) >= interval - slack and max(gaps) == interval
    assert min(gaps) < interval  # some did go early: the slack is in use


def test_master_down_is_never_early(slack_run: tuple[Run, int]) -> None:
    run, _ = slack_run
    md = master_down_us("openbsd", 1, 0)
    assert all(run.masters[k] == run.started[k] + md for k in run.started)
