"""Equal advskew: hosts started together settle on one MASTER (carp.vhost, carp.4).

Userland timers make "simultaneous" milliseconds wide, so the LAN here delays each
packet by 0.1-0.5 ms and hosts boot less than that apart: with the plain BSD rule
(both MASTERs yield on a tie) such hosts time out in lockstep forever.
"""

from __future__ import annotations

import pytest

from carp.states import R_MORE_FREQUENT
from tests.sim.helpers import PERSONALITIES, US, iface, key, master_down_us
from tests.sim.lan import Lan, SimHost

SETTLE_AFTER_US = 60 * US


def together(pers: str, names: list[str], seed: int) -> Lan:
    """Identical configuration on every host, booted closer together than a packet takes,
    so their first advertisements cross on the wire (packets are 0.1-0.5 ms late)."""
    lan = Lan(seed=seed, delay_us=100, jitter_us=400)
    for i, name in enumerate(names):
        lan.at(i * (20 + seed * 13 % 40), lambda n=name: lan.add(n, pers, [iface(pers, 1, 0)]))
    return lan


def bsd_tie_rule(sh: SimHost) -> None:
    """Make one simulated host a BSD kernel on ties: yield, and no extra wait."""
    assert sh.host is not None
    for v in sh.host.vhosts.values():
        v._yield_tie = (  # type: ignore[method-assign]
            lambda now_us, src, local, v=v: v._become_backup(R_MORE_FREQUENT, now_us)
        )


def settled(lan: Lan, pers: str, since: int) -> None:
    """Exactly one MASTER now, and no transition at all from `since` on."""
    k = key(pers)
    states = [lan.state(n, k) for n in lan.hosts]
    assert states.count("MASTER") == 1, states
    assert states.count("BACKUP") == len(states) - 1, states
    late = [t for t in lan.transitions if t.t >= since]
    assert late == []


@pytest.mark.parametrize("pers", PERSONALITIES)
@pytest.mark.parametrize("names", [["A", "B"], ["A", "B", "C"]])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equal_hosts_started_together_settle_within_two_master_down(
    pers: str, names: list[str], seed: int
) -> None:
    lan = together(pers, names, seed)
    lan.run_until(SETTLE_AFTER_US)
    md = master_down_us(pers, 1, 0)
    settled(lan, pers, since=2 * md)
    # the tie went to the highest address, as in VRRP (the sim numbers hosts 10.0.0.N)
    assert lan.state(names[-1], key(pers)) == "MASTER"


@pytest.mark.parametrize("pers", PERSONALITIES)
@pytest.mark.parametrize("plain", ["A", "B"])
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_host_with_the_plain_bsd_tie_rule_converges_too(
    pers: str, plain: str, seed: int
) -> None:
    """B has the higher address: with the BSD host as A, our B wins the tie outright;
    with the BSD host as B, both yield, and our jitter lets the BSD host time out first."""
    lan = Lan(seed=seed, delay_us=100, jitter_us=400)
    lan.add("A", pers, [iface(pers, 1, 0)])
    lan.add("B", pers, [iface(pers, 1, 0)])
    bsd_tie_rule(lan.hosts[plain])
    lan.run_until(SETTLE_AFTER_US)
    md = master_down_us(pers, 1, 0)
    settled(lan, pers, since=3 * md)


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_without_the_tie_break_equal_hosts_livelock(pers: str) -> None:
    """The defect itself, kept visible: two hosts with only the BSD rule never settle."""
    lan = together(pers, ["A", "B"], seed=1)
    lan.run_until(3000)  # every host has booted
    for sh in lan.hosts.values():
        bsd_tie_rule(sh)
    lan.run_until(SETTLE_AFTER_US)
    late = [t for t in lan.transitions if t.t >= SETTLE_AFTER_US // 2]
    assert len(late) > 10
