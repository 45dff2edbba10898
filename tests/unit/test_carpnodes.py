"""OpenBSD carpnodes balancing, the pure part (carp.balance; reference 6.1-6.3 and
ip_carp.c: carp_lsdrop and its callers, carp_iamatch, carp_ourether, carp_start)."""

from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carp.balance import (
    HASH,
    Answer,
    advert_source,
    arp_index,
    ip_fold,
    lsmask,
    neighbour_answer,
    share,
    state_word,
)
from carp.config import Address, CarpInterface, Node
from carp.wire import hmac_key, mac_bytes
from tests.lsdrop import ip_packet_accepted

VIP = "192.168.1.10"


def carp0(mode: str, nodes: tuple[tuple[int, int], ...] = ((1, 0), (2, 100)),
          **kw: object) -> CarpInterface:
    fields: dict[str, object] = {"carpdev": "em0", **kw}
    return CarpInterface(name="carp0", nodes=[Node(v, s) for v, s in nodes],
                         addresses=[Address(VIP, 24)], up=True, balancing=mode,
                         **fields)  # type: ignore[arg-type]


def ipv4(src: str, dst: str, proto: int, payload: bytes = bytes(20), frag: int = 0) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, frag, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst)) + payload


def ipv6(src: str, dst: str, nxt: int, payload: bytes = bytes(20)) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nxt, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def owner(src: str, dst: str, n: int = 2) -> int:
    return ip_fold(src, dst) % n


# -- the shares --------------------------------------------------------------------------


def test_ip_mode_share() -> None:
    sh = share(carp0("ip"))
    assert sh is not None
    assert (sh.mode, sh.vhids, sh.count, sh.carpdev) == ("ip", (1, 2), 2, "em0")
    assert sh.mac == "01:00:5e:00:01:01" and sh.macvlan_mac == "00:00:5e:00:01:01"
    assert sh.accepted_macs() == [("01:00:5e:00:01:01", HASH), ("00:00:5e:00:01:01", HASH)]
    assert sh.stealth and sh.announced_mac() == "01:00:5e:00:01:01"
    assert sh.passkey == hmac_key("")


@pytest.mark.parametrize("mode", ["ip-stealth", "ip-unicast"])
def test_unicast_ip_modes_share(mode: str) -> None:
    sh = share(carp0(mode))
    assert sh is not None and sh.mac == sh.macvlan_mac == "00:00:5e:00:01:01"
    assert sh.accepted_macs() == [("00:00:5e:00:01:01", HASH)]
    assert sh.stealth == (mode == "ip-stealth") and sh.announced_mac() is None


def test_arp_mode_share_owns_every_node_mac() -> None:
    sh = share(carp0("arp", ((3, 0), (4, 0), (6, 100))))
    assert sh is not None and not sh.stealth
    assert sh.accepted_macs() == [("00:00:5e:00:01:03", 0), ("00:00:5e:00:01:04", 1),
                                  ("00:00:5e:00:01:06", 2)]


def test_no_share_without_balancing() -> None:
    assert share(carp0("none", ((1, 0),))) is None
    assert share(carp0("ip", carpdev=None)) is None
    assert share(carp0("none")) is not None  # several nodes: OpenBSD makes it ip


def test_lsmask_and_state_word() -> None:
    assert lsmask([True, False, True]) == 0b101
    assert lsmask([True] * 40) == 2**32 - 1  # only 32 nodes fit
    word = state_word([False, True, True], [3, 4, 6])
    assert word & 0xFFFF_FFFF == 0b110 and word >> 32 & 0xFF == 3 and word >> 40 == 4
    assert state_word([False, False], [1, 2]) >> 40 == 0


# -- carp_lsdrop -------------------------------------------------------------------------


def test_the_fold_picks_exactly_one_host() -> None:
    for i in range(64):
        packet = ipv4(f"10.0.{i}.1", VIP, 6)
        takers = [m for m in (0b01, 0b10) if ip_packet_accepted(packet, m, 2)]
        assert takers == [1 << owner(f"10.0.{i}.1", VIP)]
    assert not ip_packet_accepted(ipv4("10.0.0.1", VIP, 6), 0b11, 0)  # "just to be safe"


def test_multicast_and_broadcast_are_never_dropped() -> None:
    for dst in ("224.0.0.18", "239.1.1.1", "255.255.255.255"):
        assert ip_packet_accepted(ipv4("10.0.0.1", dst, 17), 0, 2)
    assert ip_packet_accepted(ipv6("fe80::1", "ff02::12", 112), 0, 2)


def test_icmp_echo_is_hashed_other_replies_reach_every_node() -> None:
    src = "10.0.0.7"
    mine = 1 << owner(src, VIP)
    for kind in (8, 13, 17):  # echo, timestamp, mask request: icmp_reflect
        assert ip_packet_accepted(ipv4(src, VIP, 1, bytes([kind]) + bytes(7)), mine, 2)
        assert not ip_packet_accepted(ipv4(src, VIP, 1, bytes([kind]) + bytes(7)), 3 - mine, 2)
    for kind in (0, 9, 10, 14, 42):  # echo reply, router adverts...: rip_input, everyone
        assert ip_packet_accepted(ipv4(src, VIP, 1, bytes([kind]) + bytes(7)), 0, 2)


def test_icmp_errors_go_to_the_node_of_the_quoted_flow() -> None:
    client, router = "172.16.5.9", "10.0.0.1"
    quoted = ipv4(VIP, client, 6, bytes(8))  # a packet we sent, as the router quotes it
    mine = 1 << owner(VIP, client)
    assert owner(VIP, client) == owner(client, VIP)  # XOR: the flow's own node
    for kind, code in ((3, 4), (3, 15), (4, 0), (5, 1), (11, 0), (12, 1)):
        packet = ipv4(router, VIP, 1, bytes([kind, code]) + bytes(6) + quoted)
        assert ip_packet_accepted(packet, mine, 2), (kind, code)
        assert not ip_packet_accepted(packet, 3 - mine, 2), (kind, code)
    for kind, code in ((3, 16), (4, 1), (5, 4), (11, 2), (12, 2)):  # badcode: everyone
        packet = ipv4(router, VIP, 1, bytes([kind, code]) + bytes(6) + quoted)
        assert ip_packet_accepted(packet, 0, 2), (kind, code)
    mcast = ipv4(router, VIP, 1, bytes([3, 1]) + bytes(6) + ipv4(VIP, "224.1.1.1", 17, bytes(8)))
    assert ip_packet_accepted(mcast, 0, 2)  # IN_MULTICAST(quoted dst): badcode
    redirect = ipv4(router, VIP, 1, bytes([5, 1]) + bytes(6)
                    + ipv4(VIP, "224.1.1.1", 17, bytes(8)))
    assert ip_packet_accepted(redirect, 1 << owner("224.1.1.1", VIP), 2)
    short = ipv4(router, VIP, 1, bytes([3, 1]) + bytes(6) + b"\x45" + bytes(9))
    assert ip_packet_accepted(short, 0, 2)


def test_icmp_later_fragments_hash_like_any_packet() -> None:
    packet = ipv4("10.0.0.7", VIP, 1, bytes(20), frag=0x00B9)  # offset 185 * 8
    mine = 1 << owner("10.0.0.7", VIP)
    assert ip_packet_accepted(packet, mine, 2) and not ip_packet_accepted(packet, 3 - mine, 2)


def test_ipv6_only_echo_requests_of_icmpv6_are_hashed() -> None:
    src, dst = "2001:db8::7", "2001:db8::10"
    mine = 1 << owner(src, dst)
    assert not ip_packet_accepted(ipv6(src, dst, 58, bytes([128]) + bytes(7)), 3 - mine, 2)
    assert ip_packet_accepted(ipv6(src, dst, 58, bytes([128]) + bytes(7)), mine, 2)
    for kind in (1, 2, 129, 135, 136):
        assert ip_packet_accepted(ipv6(src, dst, 58, bytes([kind]) + bytes(7)), 0, 2)
    assert not ip_packet_accepted(ipv6(src, dst, 6), 3 - mine, 2)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(1, 32))
def test_exactly_one_of_n_nodes_takes_a_packet(src: int, dst: int, n: int) -> None:
    s = socket.inet_ntoa(src.to_bytes(4, "big"))
    d = socket.inet_ntoa((dst & 0xDFFFFFFF).to_bytes(4, "big"))
    packet = ipv4(s, d, 17)
    assert [i for i in range(n) if ip_packet_accepted(packet, 1 << i, n)] == [owner(s, d, n)]


# -- carp_iamatch, carp_start ------------------------------------------------------------


def test_ip_modes_the_leaders_master_answers() -> None:
    sh = share(carp0("ip"))
    assert sh is not None
    assert neighbour_answer(sh, [True, False], "02:00:00:00:01:64") == Answer(
        "01:00:5e:00:01:01", None, 0)  # from the parent's MAC
    assert neighbour_answer(sh, [False, True], "02:00:00:00:01:64") is None
    uni = share(carp0("ip-unicast"))
    assert uni is not None
    assert neighbour_answer(uni, [True, True], None) == Answer(
        "00:00:5e:00:01:01", "00:00:5e:00:01:01", 0)


def test_arp_mode_the_hash_of_the_asker_picks_the_node() -> None:
    sh = share(carp0("arp", ((1, 0), (2, 100)), passphrase="mekmitasdigoat"))
    assert sh is not None
    seen = set()
    for i in range(32):
        mac = f"02:00:00:00:01:{0x10 + i:02x}"
        i_node = arp_index(hmac_key("mekmitasdigoat"), mac_bytes(mac), 2)
        want = f"00:00:5e:00:01:0{i_node + 1}"
        assert neighbour_answer(sh, [True, True], mac) == Answer(want, want, i_node)
        masters = [i_node == 0, i_node == 1]
        assert neighbour_answer(sh, masters, mac) is not None
        assert neighbour_answer(sh, [not m for m in masters], mac) is None
        seen.add(i_node)
    assert seen == {0, 1}
    assert neighbour_answer(sh, [True, True], None) is None  # NS without source option


def test_advert_sources() -> None:
    assert advert_source("ip", True, 1, "00:00:5e:00:01:01") is None
    assert advert_source("ip-stealth", False, 2, "00:00:5e:00:01:01") is None
    assert advert_source("ip-unicast", False, 2, "00:00:5e:00:01:01") == "00:00:5e:00:01:02"
    assert advert_source("arp", True, 1, "00:00:5e:00:01:01") == "00:00:5e:00:01:01"
