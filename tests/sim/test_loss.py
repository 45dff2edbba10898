"""30 % packet loss: the backup takes over exactly when (and only when) a whole
master-down interval passed without an advertisement getting through."""

from __future__ import annotations

import pytest

from tests.sim.helpers import PERSONALITIES, US, explain, iface, key, master_down_us
from tests.sim.lan import Lan

HOUR = 3600 * US


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_thirty_percent_loss_no_unexplained_flap(pers: str) -> None:
    lan = Lan(seed=30, loss=0.30)
    lan.add("A", pers, [iface(pers, 1, 0)])
    lan.add("B", pers, [iface(pers, 1, 100)])
    lan.run_until(HOUR)
    k = key(pers)
    md = master_down_us(pers, 1, 100)
    heard = [0] + [d.t for d in lan.deliveries if d.src == "A" and d.dst == "B"]
    gaps = [(a, b) for a, b in zip(heard, heard[1:], strict=False) if b - a > md]
    # Loss really happened, and the interesting case occurred at least once.
    sent = sum(1 for _, n, _ in lan.sends if n == "A")
    assert 0.25 < 1 - (len(heard) - 1) / sent < 0.35
    assert gaps
    ups = [t.t for t in lan.transitions_of("B", "MASTER")]
    downs = [t.t for t in lan.transitions_of("B", "BACKUP")][1:]  # skip INIT -> BACKUP
    assert ups == [a + md for a, _ in gaps]
    assert downs == [b for _, b in gaps]
    # A never flaps: it became MASTER once, 3 s after boot, and stayed.
    assert [(t.t, t.new) for t in lan.transitions_of("A")] == [(0, "BACKUP"), (3 * US, "MASTER")]
    assert lan.state("A", k) == "MASTER"
    explain(lan, pers, {("A", 1): 0, ("B", 1): 100}, preempt=False)


def test_loss_below_the_master_down_window_never_flaps() -> None:
    """If at least one advert per master-down interval arrives, B never moves.

    Seed 37 is a 10-minute run at 30 % loss where no 4 adverts in a row were lost."""
    lan = Lan(seed=37, loss=0.30)
    lan.add("A", "openbsd", [iface("openbsd", 1, 0, advbase=1)])
    lan.add("B", "openbsd", [iface("openbsd", 1, 100, advbase=1)])
    lan.run_until(600 * US)
    md = master_down_us("openbsd", 1, 100)
    heard = [d.t for d in lan.deliveries if d.src == "A" and d.dst == "B"]
    assert len(heard) < 0.75 * sum(1 for _, n, _ in lan.sends if n == "A")
    assert max(b - a for a, b in zip(heard, heard[1:], strict=False)) <= md
    assert lan.transitions_of("B", "MASTER") == []
