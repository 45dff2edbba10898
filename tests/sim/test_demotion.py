"""Demotion hands every vhid of the demoted host's group to the peer (docs/protocol.md §5)."""

from __future__ import annotations

import pytest

from tests.sim.helpers import PERSONALITIES, US, iface, key, master_down_us
from tests.sim.lan import Lan

PREEMPT = "net.inet.carp.preempt"


def two_groups(pers: str, seed: int = 7) -> Lan:
    """A and B share vhid 1 on em0 and vhid 2 on em1; A (advskew 0) masters both.

    OpenBSD needs no preempt (a higher demote count is taken over regardless);
    FreeBSD and NetBSD fold demotion into advskew, so the peers need preempt."""
    preempt = {PREEMPT: 0 if pers == "openbsd" else 1}
    lan = Lan(seed=seed)
    for name, skew in (("A", 0), ("B", 100)):
        ifs = [iface(pers, 1, skew, carpdev="em0"), iface(pers, 2, skew, carpdev="em1")]
        lan.add(name, pers, ifs, sysctl=preempt)
    lan.run_until(20 * US + 500_000)
    assert lan.masters(1) == lan.masters(2) == ["A"]
    return lan


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_carpdev_down_hands_the_whole_group_to_b(pers: str) -> None:
    lan = two_groups(pers)
    k0, k1 = key(pers, 1, "em0"), key(pers, 2, "em1")
    t0 = lan.now
    lan.link("A", "em0", up=False)
    lan.run_until(t0)
    # vhid 2 (healthy em1) moves at once: A advertised its demotion immediately.
    assert lan.state("B", k1, 2) == "MASTER"
    assert lan.state("A", k1, 2) == "BACKUP"
    b2 = lan.transitions_of("B", "MASTER")[-1]
    expected = (
        "preempting a more demoted master" if pers == "openbsd" else ("preempting a slower master")
    )
    assert (b2.t, b2.vhid, b2.reason) == (t0, 2, expected)
    a_init = [t for t in lan.transitions_of("A") if t.vhid == 1][-1]
    assert (a_init.t, a_init.new, a_init.reason) == (t0, "INIT", "hardware interface down")
    # vhid 1 (dead em0): B times out at last advert + its master-down interval.
    lan.run_until(t0 + 10 * US)
    b1 = [t for t in lan.transitions_of("B", "MASTER") if t.vhid == 1][-1]
    assert b1.t == 20 * US + master_down_us(pers, 1, 100)
    assert lan.masters(1) == lan.masters(2) == ["B"]
    assert lan.state("A", k0, 1) == "INIT"
    # link back: A's vhid 1 restarts as BACKUP and the demotion is undone.
    lan.link("A", "em0", up=True)
    lan.run_until(lan.now + 30 * US)
    assert lan.state("A", k0, 1) in ("BACKUP", "MASTER")
    status = lan.hosts["A"].host.status()  # type: ignore[union-attr]
    assert status["demotion"] == 0 and status["suppress_preempt"] == 0
    assert all(v == 0 for v in status["groups"].values())  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("pers", "change"),
    [
        ("openbsd", {"groups": {"carp": {"carpdemote": 1}}}),
        ("freebsd", {"sysctl": {PREEMPT: 1, "net.inet.carp.demotion": 240}}),
    ],
)
def test_demotion_counter_hands_every_vhid_to_b(pers: str, change: dict[str, object]) -> None:
    lan = two_groups(pers)
    t0 = lan.now
    lan.reconfigure("A", **change)
    lan.run_until(t0)
    assert lan.masters(1) == lan.masters(2) == ["B"]
    ups = [(t.t, t.vhid) for t in lan.transitions_of("B", "MASTER")]
    assert ups == [(t0, 1), (t0, 2)]
    downs = [(t.t, t.vhid, t.reason) for t in lan.transitions_of("A", "BACKUP")[-2:]]
    assert downs == [(t0, v, "more frequent advertisement received") for v in (1, 2)]
    lan.run_until(t0 + 60 * US)
    assert lan.masters(1) == lan.masters(2) == ["B"]
