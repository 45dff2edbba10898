"""The carp(4) example on two namespace hosts, watched from the client and the switch."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from carp.lab import Capture, Lab
from carp.lab.scenario import VMAC1, master_down, vhid_states, wait_states, wait_until
from tests.netns.lab_fixtures import VIP, assert_clean, manpage_lab, port_owners

pytestmark = pytest.mark.netns

# Capture timestamps are wall-clock and carpd is a Python process sharing 2 cores with the
# other hosts: 150 ms covers scheduling noise.  Exact timing is bench_carpd's job.
TOLERANCE = 0.150


@pytest.fixture
def pair() -> Iterator[tuple[Lab, Capture]]:
    with manpage_lab() as lab_cap:
        yield lab_cap


def test_master_and_backup(pair: tuple[Lab, Capture]) -> None:
    lab, cap = pair
    a, b = lab.hosts
    assert "MASTER" in a.ifconfig("carp0").stdout
    assert "BACKUP" in b.ifconfig("carp0").stdout
    assert a.holds(VIP) == ["carp0"] and b.holds(VIP) == []

    since = time.time()
    reply = lab.client(1).arp(VIP, window=0.5)
    assert [r["mac"] for r in reply["replies"]] == [VMAC1]
    assert port_owners(lab, cap.arp_replies(VIP, since=since)) == {"A"}

    since = time.time()
    assert lab.client(1).reaches(VIP)
    assert port_owners(lab, cap.select("icmp_reply", src_ip=VIP, since=since)) == {"A"}
    assert port_owners(lab, cap.adverts(vhid=1)) == {"A"}


def test_kill9_backup_takes_over(pair: tuple[Lab, Capture]) -> None:
    lab, cap = pair
    a, b = lab.hosts
    client = lab.client(1)
    time.sleep(1.1)  # an advertisement of A's in the capture for sure
    t_kill = a.kill_carpd()
    flood = client.arp_background(VIP, count=30, interval=0.05)  # who answers, 1.5 s long

    first_b = cap.wait_for(
        lambda r: r["kind"] == "carp" and r["vhid"] == 1 and r["port"] == b.port(),
        timeout=master_down(1, 100) + 2, since=t_kill,
    )
    flood.communicate(timeout=10)
    assert first_b is not None, "B never advertised"
    last_a = max(r["t"] for r in cap.adverts(vhid=1, port=a.port()))
    late = first_b["t"] - (last_a + master_down(1, 100))
    assert -0.050 <= late <= TOLERANCE, f"B took over {late * 1000:.0f} ms after master-down"

    garp = cap.wait_for(lambda r: r["kind"] == "arp" and r["garp"] and r["port"] == b.port()
                        and r["sender_ip"] == VIP, timeout=1.0, since=t_kill)
    assert garp is not None and garp["sender_mac"] == VMAC1
    a_late = cap.arp_replies(VIP, port=a.port(), since=t_kill + 1.0)
    assert a_late == [], "A still answers ARP 1 s after kill -9"
    assert wait_until(lambda: a.holds(VIP) == [], 1.0)

    assert wait_states({b: {1: "MASTER"}}, 2)
    assert "MASTER" in b.ifconfig("carp0").stdout
    since = time.time()
    assert [r["mac"] for r in client.arp(VIP)["replies"]] == [VMAC1]
    assert client.reaches(VIP)
    assert port_owners(lab, cap.arp_replies(VIP, since=since)) == {"B"}
    assert port_owners(lab, cap.select("icmp_reply", src_ip=VIP, since=since)) == {"B"}


def test_restart_master_unchanged_config(pair: tuple[Lab, Capture]) -> None:
    lab, cap = pair
    a, b = lab.hosts

    # Graceful restart of the MASTER: its bow-out hands over to B; preempt is 0, so A
    # comes back as BACKUP and stays there.
    a.stop_carpd(signal.SIGTERM)
    a.start_carpd()
    assert wait_states({a: {1: "BACKUP"}, b: {1: "MASTER"}}, 3), (vhid_states(a), vhid_states(b))
    time.sleep(master_down(1, 0) + 0.5)  # A's master-down passes: B's ads keep it BACKUP
    assert vhid_states(a) == {1: "BACKUP"} and vhid_states(b) == {1: "MASTER"}
    assert_clean(a, {"carp0"}, vip_held=False)
    assert_clean(b, {"carp0"}, vip_held=True)

    # Crash restart of the (new) MASTER B: A's master-down (3 s) ends before restarted
    # B's own (4.17 s), so A takes over and B, with the higher skew, stays BACKUP.
    t_kill = b.kill_carpd()
    b.start_carpd()
    assert wait_states({a: {1: "MASTER"}, b: {1: "BACKUP"}}, master_down(1, 0) + 2)
    settled = time.time()
    time.sleep(1.5)
    assert vhid_states(a) == {1: "MASTER"} and vhid_states(b) == {1: "BACKUP"}
    assert_clean(a, {"carp0"}, vip_held=True)
    assert_clean(b, {"carp0"}, vip_held=False)
    since = time.time()
    assert [r["mac"] for r in lab.client(1).arp(VIP)["replies"]] == [VMAC1]
    assert port_owners(lab, cap.arp_replies(VIP, since=since)) == {"A"}
    assert port_owners(lab, cap.adverts(vhid=1, since=settled)) == {"A"}
    assert cap.adverts(vhid=1, port=a.port(), since=t_kill)  # A took over, as the rules say
