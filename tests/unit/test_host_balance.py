"""carpd's core with a balanced carpnodes interface: its share, state word, neighbour
answers, advertisement sources, and no takeover announcement (reference 6.2)."""

from __future__ import annotations

import pytest

from carp.actions import Announce, Send
from carp.host import MASTER, CarpHost
from carp.mac import PARENT_MAC
from tests.unit.test_carpnodes import VIP, carp0


def run_host(mode: str) -> tuple[CarpHost, list[object]]:
    """Host A of the man page: both nodes time out to MASTER (no peer heard)."""
    h = CarpHost("openbsd", "a")
    acts: list[object] = list(h.configure({}, [carp0(mode)], {}, 0.0))
    for t in range(1, 12):
        acts += h.timeout(float(t))
    return h, acts


@pytest.mark.parametrize("mode", ["ip", "ip-stealth", "ip-unicast", "arp"])
def test_host_balanced_interface(mode: str) -> None:
    h, acts = run_host(mode)
    assert h.states() == {("carp0", 1): MASTER, ("carp0", 2): MASTER}
    assert set(h.balancing.shares()) == {"carp0"} and h.balancing.masters("carp0") == [True, True]
    assert h.balancing.state_word("carp0") == 0b11 | 2 << 32 | 1 << 40
    assert h.balancing.answered() == {"em0": {VIP}}
    assert not [a for a in acts if isinstance(a, Announce)], "no gratuitous ARP (6.2)"
    sources = {a.vhid: a.src_mac for a in acts if isinstance(a, Send)}
    if mode in ("ip", "ip-stealth"):
        assert sources == {1: PARENT_MAC, 2: PARENT_MAC}
    else:
        assert sources == {1: "00:00:5e:00:01:01", 2: "00:00:5e:00:01:02"}
    found = h.balancing.neighbour_answer("em0", VIP, "02:00:00:00:01:64", "192.168.1.100")
    assert found is not None and found[0] == "carp0"
    assert h.balancing.neighbour_answer("em0", "192.168.1.11", "02:00:00:00:01:64", "x") is None


def test_host_without_balancing_answers_nothing_itself() -> None:
    h = CarpHost("openbsd", "a")
    h.configure({}, [carp0("none", ((1, 0),))], {}, 0.0)
    assert h.balancing.shares() == {} and h.balancing.answered() == {}


def test_neighbour_solicitation_round_trip() -> None:
    """carpd's NS parser and NA builder (carp/daemon/arp.py answers with them)."""
    import socket
    import struct

    from carp.wire import (
        _icmp6_checksum,
        checksum,
        ethernet_frame,
        mac_bytes,
        neighbour_advert,
        parse_neighbour_solicitation,
    )

    src, target = "2001:db8:1::6e", "2001:db8:1::10"
    body = bytearray(struct.pack("!BBHI16sBB6s", 135, 0, 0, 0,
                                 socket.inet_pton(socket.AF_INET6, target), 1, 1,
                                 mac_bytes("02:00:00:00:01:6e")))
    s6, d6 = (socket.inet_pton(socket.AF_INET6, a) for a in (src, "ff02::1:ff00:10"))
    struct.pack_into("!H", body, 2, _icmp6_checksum(s6, d6, bytes(body)))
    ip6 = struct.pack("!IHBB16s16s", 6 << 28, len(body), 58, 255, s6, d6) + bytes(body)
    frame = ethernet_frame("33:33:ff:00:00:10", "02:00:00:00:01:6e", 0x86DD, ip6)
    ns = parse_neighbour_solicitation(frame)
    assert ns is not None
    assert (ns.src_ip, ns.target, ns.slla) == (src, target, "02:00:00:00:01:6e")
    hop64 = frame[:21] + bytes([64]) + frame[22:]
    assert parse_neighbour_solicitation(hop64) is None  # RFC 4861: hop limit 255 only
    assert parse_neighbour_solicitation(frame[:-8]) is not None  # no option: slla None
    assert parse_neighbour_solicitation(frame[:-8]).slla is None  # type: ignore[union-attr]

    na = neighbour_advert("01:00:5e:00:01:01", target, "02:00:00:00:01:6e", src,
                          "02:00:00:00:01:02")
    assert na[:6] == mac_bytes("02:00:00:00:01:6e") and na[6:12] == mac_bytes("02:00:00:00:01:02")
    packet = na[14:]
    assert packet[7] == 255 and packet[40] == 136 and packet[44] == 0x60  # S and O
    assert packet[-6:] == mac_bytes("01:00:5e:00:01:01")
    pseudo = packet[8:40] + struct.pack("!I3xB", len(packet) - 40, 58)
    assert checksum(pseudo + packet[40:]) == 0
    dad = neighbour_advert("00:00:5e:00:01:01", target, "33:33:00:00:00:01", "::")
    assert dad[:6] == mac_bytes("33:33:00:00:00:01") and dad[14 + 40 + 4] == 0x20  # not S
    assert socket.inet_ntop(socket.AF_INET6, dad[14 + 24 : 14 + 40]) == "ff02::1"


def test_arp_reply_from_another_source() -> None:
    from carp.wire import arp_reply, mac_bytes

    frame = arp_reply("01:00:5e:00:01:01", "192.168.1.10", "02:00:00:00:01:64",
                      "192.168.1.100", "02:00:00:00:01:02")
    assert frame[6:12] == mac_bytes("02:00:00:00:01:02")
    assert frame[22:28] == mac_bytes("01:00:5e:00:01:01")
