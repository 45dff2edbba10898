"""A split brain heals to one master, which announces the addresses again (issue 8).

The carp(4) pair: A (advskew 0) MASTER, B (advskew 100) BACKUP, a client beside B.  The
switch stops forwarding A's port (its link stays up): B times out and takes over, and the
client's switch follows B.  Healed just after one of A's advertisements, when B's next
one is due first, A hears a less preferred master: A stays MASTER and sends gratuitous
ARP, B yields to A's next advertisement, and the switch follows A again.  The order of
events on the wire is asserted, not their timing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from carp.lab import Capture, Host, Lab
from carp.lab.scenario import VMAC1, manpage_pair, master_down, wait_states
from carp.states import BACKUP, MASTER, US, skew_us
from tests.netns.lab_fixtures import VIP, open_lab

pytestmark = pytest.mark.netns

A_EVERY, B_EVERY = 1.0, (US + skew_us(100)) / US  # advertisement intervals


def carp_from(host: Host) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["kind"] == "carp" and r["port"] == host.port()


def heal_when_b_speaks_first(lab: Lab, cap: Capture, a: Host, b: Host) -> float:
    """Wait for one of A's advertisements (the capture sees them at the cut port) after
    which B's next one is due well before A's next; heal then.  The heal's time."""
    for _ in range(30):
        ad_a = cap.wait_for(carp_from(a), timeout=3, since=time.time())
        assert ad_a is not None, "A stopped advertising"
        b_next = max(r["t"] for r in cap.adverts(port=b.port())) + B_EVERY
        if ad_a["t"] + 0.15 < b_next < ad_a["t"] + A_EVERY - 0.15 and time.time() < b_next - 0.1:
            return lab.rejoin(a)
    raise AssertionError("the advertisements never fell right for the heal")


def test_split_brain_heals_to_one_master_that_reannounces() -> None:
    with open_lab(hosts=2, lans=1) as lab:
        cap = lab.capture()
        a, b = lab.hosts
        manpage_pair(lab)
        for _attempt in range(3):
            lab.cut(a)
            try:
                assert wait_states({a: {1: MASTER}, b: {1: MASTER}}, master_down(1, 100) + 3)
                assert cap.wait_for(lambda r: r.get("garp") and r["port"] == b.port(),
                                    timeout=3) is not None  # B announced the takeover
                assert lab.fdb_port(VMAC1) == b.port()  # the switch followed B
                healed = heal_when_b_speaks_first(lab, cap, a, b)
            finally:
                lab.rejoin(a)
            first_a = cap.wait_for(carp_from(a), timeout=3, since=healed)
            assert first_a is not None
            b_after = [r["t"] for r in cap.adverts(port=b.port(), since=healed)]
            if b_after and b_after[0] < first_a["t"]:
                break  # B's advertisement crossed first, as planned
            assert wait_states({a: {1: MASTER}, b: {1: BACKUP}}, 3)  # heal slipped: again
        else:
            raise AssertionError("B never spoke first after a heal")
        # A heard a less preferred master: it announced the addresses again, after B spoke
        garp = cap.wait_for(lambda r: r.get("garp") and r["sender_ip"] == VIP
                            and r["port"] == a.port(), timeout=3, since=healed)
        assert garp is not None, "A did not announce the addresses after the heal"
        assert b_after[0] <= garp["t"] < first_a["t"] + A_EVERY
        assert garp["sender_mac"] == VMAC1
        # one master within one of A's intervals: B yields to A's first advertisement
        assert wait_states({a: {1: MASTER}, b: {1: BACKUP}}, 3)
        time.sleep(B_EVERY + 0.2)
        late = [t for t in (r["t"] for r in cap.adverts(port=b.port(), since=healed))
                if t > first_a["t"]]
        assert late == [], "B kept advertising after A's first advertisement"
        assert lab.fdb_port(VMAC1) == a.port()  # the switch follows A again
        assert lab.client(1).reaches(VIP)
