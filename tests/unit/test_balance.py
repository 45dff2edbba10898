"""carp.balance: carp_hash (lookup2), ip fold, arpbalance indices (docs/protocol.md §6)."""

from __future__ import annotations

import hashlib
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carp.balance import (
    arp_index,
    carp_hash,
    freebsd_arpbalance_index,
    hashkeys,
    ip_fold,
)
from carp.wire import hmac_key
from tests.lsdrop import ip_packet_accepted

KEY = hmac_key("mekmitasdigoat")
MAC = bytes.fromhex("001122334455")


def lookup2_mix(a: int, b: int, c: int) -> int:
    """lookup2's mix() transcribed with explicit 32-bit wrapping after every step."""
    m = 0xFFFFFFFF
    for sa, sb, sc in ((13, 8, 13), (12, 16, 5), (3, 10, 15)):
        a = (a - b) & m
        a = (a - c) & m
        a ^= c >> sa
        b = (b - c) & m
        b = (b - a) & m
        b ^= (a << sb) & m
        c = (c - a) & m
        c = (c - b) & m
        c ^= b >> sc
    return c


def test_ka17_hashkeys_little_endian() -> None:
    assert hashkeys(KEY) == (0xD9281012, 0xA10B01E5)


def test_hashkeys_from_sha1_of_ipad_and_version_type() -> None:
    ipad = bytes(b ^ 0x36 for b in KEY + bytes(44))
    w = struct.unpack("<5I", hashlib.sha1(ipad + b"\x02\x01").digest())
    assert hashkeys(KEY) == (w[0] ^ w[1], w[2] ^ w[3])
    assert hashkeys(hmac_key("other")) != hashkeys(KEY)


def test_ka17_carp_hash() -> None:
    assert carp_hash(KEY, hashkeys(KEY), MAC) == 0x90793861


@given(
    st.binary(min_size=20, max_size=20),
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    st.binary(min_size=6, max_size=6),
)
def test_carp_hash_matches_transcription(key: bytes, hk: tuple[int, int], mac: bytes) -> None:
    a = (0x9E3779B9 + (mac[3] << 24) + (mac[2] << 16) + (mac[1] << 8) + mac[0]) & 0xFFFFFFFF
    b = (hk[0] + (mac[5] << 8) + mac[4]) & 0xFFFFFFFF
    c = (hk[1] + (key[3] << 24) + (key[2] << 16) + (key[1] << 8) + key[0]) & 0xFFFFFFFF
    result = carp_hash(key, hk, mac)
    assert result == lookup2_mix(a, b, c)
    assert 0 <= result < 2**32


def test_carp_hash_rejects_bad_mac() -> None:
    with pytest.raises(ValueError):
        carp_hash(KEY, hashkeys(KEY), b"\x00" * 5)


def test_arp_index() -> None:
    assert arp_index(KEY, MAC, 1) == 0
    assert arp_index(KEY, MAC, 2) == 0x90793861 % 2
    assert arp_index(KEY, MAC, 3) == 0x90793861 % 3 == 1
    with pytest.raises(ValueError):
        arp_index(KEY, MAC, 0)


def test_arp_index_spreads_senders() -> None:
    seen = {arp_index(KEY, bytes([0, 0x11, 0x22, 0x33, 0x44, i]), 4) for i in range(64)}
    assert seen == {0, 1, 2, 3}


def test_ka15_ip_fold_ipv4() -> None:
    assert ip_fold("10.0.0.1", "10.0.0.100") == 101
    assert ip_fold("192.168.1.10", "10.0.0.1") == 0xC0A8010A ^ 0x0A000001


def test_ip_fold_ipv6_xors_eight_words() -> None:
    s, d = "2001:db8::1", "2001:db8:0:1::2:3"
    words = struct.unpack("!8I", socket.inet_pton(socket.AF_INET6, s)
                          + socket.inet_pton(socket.AF_INET6, d))
    expect = 0
    for w in words:
        expect ^= w
    assert ip_fold(s, d) == expect == 0x00000001 ^ 0x00000001 ^ 0x00020003
    with pytest.raises(ValueError):
        ip_fold("10.0.0.1", "2001:db8::1")


def ip_accepts(src: str, dst: str, lsmask: int, lscount: int) -> bool:
    """carp_lsdrop on a UDP packet from src to dst: the rule by addresses alone."""
    if ":" in src:
        head = struct.pack("!IHBB16s16s", 6 << 28, 8, 17, 64,
                           socket.inet_pton(socket.AF_INET6, src),
                           socket.inet_pton(socket.AF_INET6, dst))
    else:
        head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0,
                           socket.inet_aton(src), socket.inet_aton(dst))
    return ip_packet_accepted(head + bytes(8), lsmask, lscount)


def test_ka15_ip_accepts() -> None:
    # index 1 of 2: accepted only where the second (higher) vhid is MASTER
    assert ip_accepts("10.0.0.1", "10.0.0.100", 0b10, 2)
    assert not ip_accepts("10.0.0.1", "10.0.0.100", 0b01, 2)
    assert ip_accepts("10.0.0.1", "10.0.0.100", 0b11, 2)
    assert not ip_accepts("10.0.0.1", "10.0.0.100", 0, 2)


def test_ip_accepts_multicast_and_broadcast_always() -> None:
    assert ip_accepts("10.0.0.1", "224.0.0.18", 0, 2)
    assert ip_accepts("10.0.0.1", "255.255.255.255", 0, 2)
    assert ip_accepts("fe80::1", "ff02::12", 0, 2)
    assert not ip_accepts("10.0.0.1", "10.0.0.2", 0b1, 0)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(1, 32))
def test_ip_accepts_exactly_one_node(src: int, dst: int, n: int) -> None:
    s = socket.inet_ntoa(src.to_bytes(4, "big"))
    d = socket.inet_ntoa((dst & 0xDFFFFFFF).to_bytes(4, "big"))  # keep it off multicast
    owners = [i for i in range(n) if ip_accepts(s, d, 1 << i, n)]
    assert owners == [ip_fold(s, d) % n]


def test_freebsd_arpbalance_network_order_word() -> None:
    # ntohl(ar_spa) % count: the address read big-endian (FreeBSD <= 9 ip_carp.c)
    assert freebsd_arpbalance_index("10.0.0.1", 3) == 0x0A000001 % 3 == 2
    assert freebsd_arpbalance_index("10.0.0.2", 3) == 0x0A000002 % 3 == 0
    assert freebsd_arpbalance_index("192.168.1.7", 2) == 0xC0A80107 % 2 == 1
    assert freebsd_arpbalance_index("192.168.1.8", 2) == 0
    assert freebsd_arpbalance_index("192.168.1.7", 1) == 0
    with pytest.raises(ValueError):
        freebsd_arpbalance_index("10.0.0.1", 0)
