"""The FreeBSD 10+ style (a vhid on the physical interface) under the freebsd personality:
the same failover, with FreeBSD's master-down interval 3 x advbase + advskew/256."""

from __future__ import annotations

import time

import pytest

from carp.lab.scenario import PASS, VMAC1, master_down, vhid_states, wait_states
from tests.netns.lab_fixtures import VIP, open_lab, port_owners

pytestmark = pytest.mark.netns

TOLERANCE = 0.150  # as in test_netns_manpage: wall-clock capture, Python daemon, 2 cores


def test_freebsd_vhid_on_em0_failover() -> None:
    with open_lab(hosts=2, lans=1, personality="freebsd") as lab:
        cap = lab.capture()
        a, b = lab.hosts
        for host, skew in ((a, []), (b, ["advskew", "100"])):
            host.start_carpd()
            host.ifconfig("em0", "vhid", "1", *skew, "pass", PASS, f"{VIP}/24", "alias")
        assert wait_states({a: {1: "MASTER"}, b: {1: "BACKUP"}}, 10), (
            vhid_states(a), vhid_states(b))
        assert "carp: MASTER vhid 1" in a.ifconfig("em0").stdout
        assert "carp: BACKUP vhid 1" in b.ifconfig("em0").stdout
        since = time.time()
        assert [r["mac"] for r in lab.client().arp(VIP)["replies"]] == [VMAC1]
        assert port_owners(lab, cap.arp_replies(VIP, since=since)) == {"A"}
        assert all(r["demote"] == 0 for r in cap.adverts(vhid=1))  # FreeBSD: reserved byte

        time.sleep(1.1)
        t_kill = a.kill_carpd()
        md = master_down(1, 100, "freebsd")
        assert md == pytest.approx(3.390625)  # KA-3
        first_b = cap.wait_for(lambda r: r["kind"] == "carp" and r["port"] == b.port(),
                               timeout=md + 2, since=t_kill)
        assert first_b is not None, "B never took over"
        last_a = max(r["t"] for r in cap.adverts(vhid=1, port=a.port()))
        late = first_b["t"] - (last_a + md)
        assert -0.050 <= late <= TOLERANCE, f"B took over {late * 1000:.0f} ms after master-down"
        assert wait_states({b: {1: "MASTER"}}, 2)
        since = time.time()
        assert [r["mac"] for r in lab.client().arp(VIP)["replies"]] == [VMAC1]
        assert port_owners(lab, cap.arp_replies(VIP, since=since)) == {"B"}
