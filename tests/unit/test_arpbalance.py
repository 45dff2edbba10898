"""net.inet.carp.arpbalance: which carp interface, on which host, answers a who-has
(docs/protocol.md §6.3 NetBSD, 6.4 FreeBSD <= 9; the carp(4) EXAMPLES of those eras)."""

from __future__ import annotations

import pytest

from carp.balance import ArpMember, arp_index, arp_responder, freebsd_arpbalance_index
from carp.config import Address, CarpInterface, Node
from carp.host import BACKUP, MASTER, CarpHost
from carp.personality import policy
from carp.wire import Advert, Signer, encode, hmac_key, int_to_counter, mac_bytes

PASS = "mekmitasdigoat"
VIP = "192.168.1.10"
ON = {"net.inet.carp.arpbalance": 1}
MACS = [f"02:00:00:00:00:{i:02x}" for i in range(16)]
IPS = [f"192.168.1.{100 + i}" for i in range(16)]


def carp(vhid: int, advskew: int = 0, addr: str = VIP) -> CarpInterface:
    """The carp(4) example: carp<vhid-1> with the shared address on em0."""
    return CarpInterface(name=f"carp{vhid - 1}", carpdev="em0", nodes=[Node(vhid, advskew)],
                         passphrase=PASS, addresses=[Address(addr, 24)], up=True)


def host_a(pers: str, sysctl: dict[str, int] | None = None) -> CarpHost:
    """Host A of the example: MASTER of vhid 1, BACKUP of vhid 2 (it heard B's ads)."""
    h = CarpHost(pers, "a")
    h.configure(ON if sysctl is None else sysctl, [carp(1), carp(2, 100)], {}, 0.0)
    for t in range(1, 12):
        h.timeout(float(t))
    c = int_to_counter(1)
    ad = encode(Advert(2, 0, 1, c, Signer(hmac_key(PASS), 2, [VIP], []).sign(c)))
    h.packet("em0", 4, "192.168.1.3", "224.0.0.18", 255, ad, 12.0)
    assert h.states() == {("carp0", 1): MASTER, ("carp1", 2): BACKUP}
    return h


@pytest.mark.parametrize("pers", ["netbsd", "freebsd", "openbsd"])
def test_balanced_addresses_need_the_sysctl_and_two_interfaces(pers: str) -> None:
    assert host_a(pers).balancing.arp_balanced() == {"em0": {VIP}}
    assert host_a(pers, sysctl={}).balancing.arp_balanced() == {}
    lone = CarpHost(pers, "a")
    lone.configure(ON, [carp(1), carp(2, addr="192.168.1.11")], {}, 0.0)
    assert lone.balancing.arp_balanced() == {}


def test_netbsd_answers_by_sender_mac_for_its_master_share() -> None:
    h = host_a("netbsd")
    key = hmac_key(PASS)
    for mac in MACS:
        want = "00:00:5e:00:01:01" if arp_index(key, mac_bytes(mac), 2) == 0 else None
        assert h.balancing.arp_answer("em0", VIP, mac, IPS[0]) == want, mac
    # the sender IP does not matter to NetBSD
    assert len({h.balancing.arp_answer("em0", VIP, MACS[0], ip) for ip in IPS}) == 1


@pytest.mark.parametrize("pers", ["freebsd", "openbsd"])
def test_freebsd_answers_by_sender_ip_for_its_master_share(pers: str) -> None:
    h = host_a(pers)
    for ip in IPS:
        want = "00:00:5e:00:01:01" if freebsd_arpbalance_index(ip, 2) == 0 else None
        assert h.balancing.arp_answer("em0", VIP, MACS[0], ip) == want, ip
    assert {h.balancing.arp_answer("em0", VIP, m, IPS[0]) for m in MACS} == {
        h.balancing.arp_answer("em0", VIP, MACS[1], IPS[0])}


def test_both_hosts_answer_every_request_exactly_once() -> None:
    """A is MASTER of vhid 1 and B of vhid 2: each request gets one answer, and both
    hosts get some of them."""
    members = [ArpMember(1, hmac_key(PASS), "00:00:5e:00:01:01", True),
               ArpMember(2, hmac_key(PASS), "00:00:5e:00:01:02", False)]
    b_view = [ArpMember(m.vhid, m.key, m.mac, not m.master) for m in members]
    for pers in ("netbsd", "freebsd"):
        owners = []
        for mac, ip in zip(MACS, IPS, strict=True):
            a = arp_responder(policy(pers), members, mac_bytes(mac), ip)
            b = arp_responder(policy(pers), b_view, mac_bytes(mac), ip)
            assert (a is None) != (b is None), (pers, mac, ip)
            owners.append("A" if a else "B")
        assert set(owners) == {"A", "B"}, pers


def test_a_host_master_of_both_answers_everything_with_the_chosen_mac() -> None:
    members = [ArpMember(2, hmac_key(PASS), "00:00:5e:00:01:02", True),
               ArpMember(1, hmac_key(PASS), "00:00:5e:00:01:01", True)]
    for ip in IPS:
        chosen = arp_responder(policy("freebsd"), members, mac_bytes(MACS[0]), ip)
        assert chosen is not None
        assert chosen.vhid == 1 + freebsd_arpbalance_index(ip, 2)  # vhid order, not given
    assert arp_responder(policy("netbsd"), [], mac_bytes(MACS[0]), IPS[0]) is None
