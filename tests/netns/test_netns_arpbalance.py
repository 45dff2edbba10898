"""The ARP-balanced virtual host of the NetBSD and FreeBSD <= 9 carp(4) EXAMPLES: two
hosts, carp0 (vhid 1) and carp1 (vhid 2) both holding 192.168.1.10, each host MASTER of
one vhid, net.inet.carp.arpbalance=1.  Every who-has gets exactly one answer, from the
MASTER of the vhid the requester hashes to, with that vhid's virtual MAC."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest

from carp.balance import arp_index, freebsd_arpbalance_index
from carp.lab import Capture, Client, Host, Lab
from carp.lab.scenario import PASS, vhid_states, virtual_mac, wait_states, wait_until
from carp.wire import hmac_key, mac_bytes
from tests.netns.lab_fixtures import open_lab, port_owners

pytestmark = pytest.mark.netns

VIP = "192.168.1.10"
# stations the client poses as: (MAC, IP)
STATIONS = [(f"02:00:00:00:00:{i:02x}", f"192.168.1.{100 + i}") for i in range(1, 7)]


def _configure(host: Host, skews: tuple[int, int]) -> None:
    """The man page's commands, advskew 100 on the vhid this host should back up.  With
    preempt (the page's first example) the split holds whichever host starts first."""
    host.sysctl("-w", "net.inet.carp.preempt=1")
    for n, skew in enumerate(skews):
        host.ifconfig(f"carp{n}", "create")
        host.ifconfig(f"carp{n}", "vhid", str(n + 1), *(["advskew", str(skew)] if skew else []),
                      "pass", PASS, VIP, "netmask", "255.255.255.0")
    host.sysctl("-w", "net.inet.carp.arpbalance=1")


def _expected_vhid(pers: str, mac: str, ip: str) -> int:
    if pers == "netbsd":  # NetBSD hashes the sender MAC (docs/protocol.md §6.3)
        return 1 + arp_index(hmac_key(PASS), mac_bytes(mac), 2)
    return 1 + freebsd_arpbalance_index(ip, 2)  # FreeBSD <= 9: the sender IP


def _ask(client: Client, cap: Capture, lab: Lab, mac: str, ip: str) -> tuple[list[str], set[str]]:
    """(MACs in the replies, hosts whose ports they came from) for one who-has."""
    since = time.time()
    replies = client.arp(VIP, window=0.3, src_ip=ip, src_mac=mac)["replies"]
    time.sleep(0.05)  # the capture has seen them too
    answered = [r for r in cap.arp_replies(VIP, since=since) if r["target_mac"] == mac]
    return [r["mac"] for r in replies], port_owners(lab, answered)


@contextlib.contextmanager
def example_lab(pers: str) -> Iterator[tuple[Lab, Capture]]:
    """Both hosts configured as the page says; A MASTER of vhid 1, B of vhid 2."""
    with open_lab(hosts=2, lans=1, personality=pers) as lab:
        cap = lab.capture()
        a, b = lab.hosts
        for host in (a, b):
            host.start_carpd()
        _configure(a, (0, 100))
        _configure(b, (100, 0))
        assert wait_states({a: {1: "MASTER", 2: "BACKUP"}, b: {1: "BACKUP", 2: "MASTER"}},
                           10), f"A {vhid_states(a)} B {vhid_states(b)}"
        yield lab, cap


@pytest.mark.parametrize("pers", ["netbsd", "freebsd"])
def test_arpbalance_splits_requesters_between_the_masters(pers: str) -> None:
    with example_lab(pers) as (lab, cap):
        a, b = lab.hosts
        client = lab.client(1)
        first_mac, first_ip = STATIONS[0]
        assert wait_until(lambda: len(_ask(client, cap, lab, first_mac, first_ip)[0]) == 1, 5)

        owners = set()
        for mac, ip in STATIONS:
            vhid = _expected_vhid(pers, mac, ip)
            macs, hosts = _ask(client, cap, lab, mac, ip)
            assert macs == [virtual_mac(vhid)], (mac, ip)
            assert hosts == {"A" if vhid == 1 else "B"}, (mac, ip)
            owners |= hosts
        assert owners == {"A", "B"}, "the requesters all hashed to one host"

        # Without balancing each MASTER answers for its own vhid: two answers.
        for host in (a, b):
            host.sysctl("-w", "net.inet.carp.arpbalance=0")
        mac, ip = STATIONS[0]
        assert wait_until(lambda: len(_ask(client, cap, lab, mac, ip)[0]) == 2, 5)
        macs, hosts = _ask(client, cap, lab, mac, ip)
        assert sorted(macs) == [virtual_mac(1), virtual_mac(2)] and hosts == {"A", "B"}


def test_arpbalance_survivor_answers_every_requester() -> None:
    """The failover half of the example: B dies, A is MASTER of both vhids and answers
    every requester, still with the virtual MAC of the vhid it hashes to."""
    with example_lab("freebsd") as (lab, cap):
        a, b = lab.hosts
        b.kill_carpd()
        assert wait_states({a: {1: "MASTER", 2: "MASTER"}}, 10), vhid_states(a)
        client = lab.client(1)
        for mac, ip in STATIONS:
            vhid = _expected_vhid("freebsd", mac, ip)
            macs, hosts = _ask(client, cap, lab, mac, ip)
            assert macs == [virtual_mac(vhid)] and hosts == {"A"}, (mac, ip)
