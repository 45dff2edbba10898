"""Link loss with net.inet.carp.preempt=1 moves every carp interface of a host as a group."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from carp.lab import Capture, Lab
from carp.lab.scenario import (
    configure_carp,
    master_down,
    vhid_states,
    virtual_mac,
    wait_states,
)
from tests.netns.lab_fixtures import open_lab, port_owners

pytestmark = pytest.mark.netns

VIP1, VIP2 = "192.168.1.1", "192.168.2.1"


@pytest.fixture
def two_lans() -> Iterator[tuple[Lab, Capture]]:
    """A and B each with carp0 (em0, vhid 1) and carp1 (em1, vhid 2); A MASTER of both."""
    with open_lab(hosts=2, lans=2) as lab:
        cap = lab.capture()
        a, b = lab.hosts
        for host, skew in ((a, 0), (b, 100)):
            host.start_carpd()
            host.sysctl("-w", "net.inet.carp.preempt=1")
            configure_carp(host, "carp0", 1, f"{VIP1}/24", "em0", advskew=skew)
            configure_carp(host, "carp1", 2, f"{VIP2}/24", "em1", advskew=skew)
        ok = wait_states({a: {1: "MASTER", 2: "MASTER"}, b: {1: "BACKUP", 2: "BACKUP"}}, 10)
        assert ok, (vhid_states(a), vhid_states(b))
        yield lab, cap


def test_link_down_moves_the_group(two_lans: tuple[Lab, Capture]) -> None:
    lab, cap = two_lans
    a, b = lab.hosts
    assert "net.inet.carp.preempt" in a.sysctl("net.inet.carp.preempt").stdout
    t_down = a.set_link("em0", False)

    assert wait_states({b: {1: "MASTER", 2: "MASTER"}}, master_down(1, 100) + 2), (
        vhid_states(a), vhid_states(b))
    # vhid 2 does not wait for a timeout: A's demoted advertisement hands it over at once.
    first2 = cap.wait_for(lambda r: r["kind"] == "carp" and r["vhid"] == 2
                          and r["port"] == b.port(2), timeout=1, since=t_down)
    assert first2 is not None and first2["t"] - t_down < 1.0
    assert wait_states({a: {2: "BACKUP"}}, 2), vhid_states(a)
    assert vhid_states(a).get(1) in ("INIT", "BACKUP")

    for lan, vip, vhid in ((1, VIP1, 1), (2, VIP2, 2)):
        since = time.time()
        replies = lab.client(lan).arp(vip)["replies"]
        assert [r["mac"] for r in replies] == [virtual_mac(vhid)]
        assert port_owners(lab, cap.arp_replies(vip, since=since)) == {"B"}
    assert a.holds(VIP1) == [] and a.holds(VIP2) == []
    assert b.holds(VIP1) == ["carp0"] and b.holds(VIP2) == ["carp1"]
