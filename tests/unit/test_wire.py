"""carp.wire: known answers (docs/protocol.md §11), HMAC variants, decode robustness."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import random
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carp import wire
from carp.personality import policy
from carp.wire import (
    STAT_FIELDS,
    Advert,
    IPInfo,
    Reject,
    Signer,
    VrrpAdvert,
    checksum,
    decode,
    encode,
    hmac_key,
    make_advert,
)
from tests import wirekit

PASS = "mekmitasdigoat"
KEY = hmac_key(PASS)
ZERO = bytes(8)
KA6_DIGEST = "9bef078bfb9f4762e9b7c70774a56b6a4ad4efbc"


def ref_checksum(data: bytes) -> int:
    """Textbook RFC 1071 loop, to check the fast big-integer version against."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def sign(vhid: int, v4: list[str], v6: list[str], counter: bytes = ZERO, key: bytes = KEY) -> str:
    return Signer(key, vhid, v4, v6).sign(counter).hex()


def hmac_message(
    vhid: int, v4: list[str], v6: list[str], counter: bytes, mac: bytes | None = None,
    flavour: str = "openbsd", include_linklocal: bool = False,
) -> bytes:
    """M as tests/wirekit.py defines it from §2.2, once the Signer is seen to use exactly
    it: signing with it, or (OpenBSD's ORIG context, §2.3) accepting its digest."""
    m = wirekit.hmac_message(vhid, v4, v6, counter, mac, flavour, include_linklocal)
    signer = Signer(KEY, vhid, v4, v6, mac=mac, flavour=flavour)
    digest = hmac.new(KEY, m, hashlib.sha1).digest()
    if include_linklocal:
        assert signer.verify(Advert(vhid, 0, 1, counter, digest))
    else:
        assert signer.sign(counter) == digest
    return m


# --- KA-1 .. KA-17 -----------------------------------------------------------


def test_ka1_virtual_mac() -> None:
    assert wire.virtual_mac(1) == "00:00:5e:00:01:01"
    assert wire.virtual_mac(200) == "00:00:5e:00:01:c8"
    assert wire.virtual_mac(1, multicast=True) == "01:00:5e:00:01:01"


def test_ka2_header_constants_and_ipv4_length() -> None:
    pkt = make_advert(Signer(KEY, 1, ["192.168.1.1"], []), 1, 1, 0, ZERO)
    assert pkt[0] == 0x21 and pkt[3] == 0x07
    assert len(pkt) == wire.HEADER_LEN == 36
    datagram = wire.build_ipv4("192.168.1.2", "224.0.0.18", pkt, 0x10, 0)
    assert struct.unpack_from("!H", datagram, 2)[0] == 56 == len(datagram)


def test_ka3_timers_advbase1_advskew100() -> None:
    assert policy("openbsd").master_down_us(1, 100) == 4_171_875
    assert policy("freebsd").master_down_us(1, 100) == 3_390_625
    assert policy("netbsd").master_down_us(1, 100) == 3_390_625


def test_ka4_timers_advbase0() -> None:
    assert policy("openbsd").master_down_us(1, 0) == 3_000_000
    assert policy("openbsd").master_down_us(0, 0) == 11_718


def test_ka5_key_from_passphrase() -> None:
    assert KEY.hex() == "6d656b6d697461736469676f6174000000000000"


def test_ka5_key_truncated_to_19_bytes() -> None:
    long = "abcdefghijklmnopqrstuvwxy"  # 25 characters
    assert hmac_key(long) == b"abcdefghijklmnopqrs\0"
    assert hmac_key(long) == hmac_key(long[:19]) != hmac_key(long[:18])
    assert hmac_key(b"") == bytes(20)


def test_ka6_message_and_digest() -> None:
    m = hmac_message(1, ["192.168.1.1"], [], ZERO)
    assert m.hex() == "020101c0a80101" + "00" * 8
    assert sign(1, ["192.168.1.1"], []) == KA6_DIGEST
    # cross-check: stdlib HMAC with the zero-padded key and with the bare passphrase
    assert hmac.new(KEY, m, hashlib.sha1).hexdigest() == KA6_DIGEST
    assert hmac.new(PASS.encode(), m, hashlib.sha1).hexdigest() == KA6_DIGEST


def test_ka7_scapy_helper_is_not_kernel_compatible() -> None:
    scapy_style = hmac.new(PASS.encode(), bytes.fromhex("2101c0a80101"), hashlib.sha1)
    assert scapy_style.hexdigest() == "bed8814ded269d90e35a4b4de1ca8cadf9491a50"
    assert sign(1, ["192.168.1.1"], []) != scapy_style.hexdigest()


def test_ka8_incrementing_counter() -> None:
    one = wire.int_to_counter(1)
    assert one.hex() == "0000000000000001"
    assert hmac_message(1, ["192.168.1.1"], [], one).endswith(bytes(7) + b"\x01")
    assert sign(1, ["192.168.1.1"], [], one) == "13a5ef538db8d66c3ba1c054805521829870622c"


def test_ka9_addresses_sorted() -> None:
    m = hmac_message(1, ["192.168.1.20", "10.0.0.1"], [], ZERO)
    assert m.hex() == "0201010a000001c0a80114" + "00" * 8
    assert sign(1, ["192.168.1.20", "10.0.0.1"], []) == "66ec0284ed95764130c29e666b932078c33132e3"


def test_ka10_empty_passphrase() -> None:
    assert sign(1, ["192.168.1.1"], [], key=hmac_key("")) == (
        "fe1753e68365c0865534c16d30353129720ad803"
    )


def test_ka11_ipv6_only() -> None:
    m = hmac_message(1, [], ["2001:db8::1"], ZERO)
    assert m.hex() == "020101" + "20010db8000000000000000000000001" + "00" * 8
    assert sign(1, [], ["2001:db8::1"]) == "63f7312d8af0413e421549b5161b8455954d26c0"


def test_ka12_dual_stack() -> None:
    digest = sign(1, ["192.168.1.1"], ["2001:db8::1"])
    assert digest == "5e04ff36a4a770f1e566377bd62f0cb967470290"
    # IPv4 precedes IPv6 whatever order the caller gives (one digest for both ads)
    assert hmac_message(1, ["192.168.1.1"], ["2001:db8::1"], ZERO).hex().startswith(
        "020101c0a8010120010db8"
    )


def test_ka13_full_header_advskew100() -> None:
    adv = Advert(vhid=1, advskew=100, advbase=1, counter=ZERO, digest=bytes.fromhex(KA6_DIGEST))
    pkt = encode(adv)
    assert pkt.hex() == "21016407000" + "1c918" + "00" * 8 + KA6_DIGEST
    assert struct.unpack_from("!H", pkt, 6)[0] == 0xC918
    assert checksum(pkt) == 0
    assert make_advert(Signer(KEY, 1, ["192.168.1.1"], []), 1, 1, 100, ZERO) == pkt


def test_ka14_full_header_advskew0() -> None:
    pkt = make_advert(Signer(KEY, 1, ["192.168.1.1"], []), 1, 1, 0, ZERO)
    assert struct.unpack_from("!H", pkt, 6)[0] == 0x2D19


def test_ka16_vrrpv3_defaults() -> None:
    assert policy("freebsd").vrrp_master_down_us(100, 100) == 3_600_000  # 360 cs
    src, dst = "192.168.1.2", "224.0.0.18"
    msg = wirekit.encode_vrrp(VrrpAdvert(1, 100, 100, ("192.168.1.1",)), src, dst)
    assert msg[:6].hex() == "310164010064"
    assert msg[8:].hex() == "c0a80101" and len(msg) == 12
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 112, 12)
    assert ref_checksum(pseudo + msg) == 0
    zeroed = msg[:6] + b"\0\0" + msg[8:]
    assert struct.unpack_from("!H", msg, 6)[0] == ref_checksum(pseudo + zeroed)


def test_vrrp_master_down_formula() -> None:
    """The one home of the formula is the policy (carp.vrrp asks it)."""
    rules = policy("freebsd")
    assert rules.vrrp_master_down_us(200, 4095) == (12285 + (56 * 4095) // 256) * 10_000
    assert rules.vrrp_master_down_us(200, 4095) == 13180 * 10_000
    assert rules.vrrp_master_down_us(255, 100) == 300 * 10_000  # skew 100/256 truncates to 0


def test_ka17_carp_hash_hashkeys() -> None:
    from carp.balance import carp_hash, hashkeys

    hk = hashkeys(KEY)
    assert hk == (0xD9281012, 0xA10B01E5)
    assert carp_hash(KEY, hk, bytes.fromhex("001122334455")) == 0x90793861


# --- checksum ----------------------------------------------------------------


@given(st.binary(max_size=200))
def test_checksum_matches_rfc1071_loop(data: bytes) -> None:
    assert checksum(data) == ref_checksum(data)


def test_checksum_edge_cases() -> None:
    assert checksum(b"") == 0xFFFF
    assert checksum(bytes(36)) == 0xFFFF  # an all-zero header must not pass
    assert checksum(b"\xff\xff") == 0
    assert checksum(b"\x01") == ~0x0100 & 0xFFFF


# --- HMAC variants -----------------------------------------------------------

LL = "fe80::200:5eff:fe00:101"
LL_SCOPED = "fe80:7::200:5eff:fe00:101"  # kernel-embedded scope id in bytes 2-3


def test_v6_link_local_scope_bytes_zeroed() -> None:
    for flavour in ("freebsd", "netbsd"):
        plain = hmac_message(1, [], [LL], ZERO, flavour=flavour)
        assert plain == hmac_message(1, [], [LL_SCOPED], ZERO, flavour=flavour)
        assert plain[3:19] == socket.inet_pton(socket.AF_INET6, LL)
    orig = hmac_message(1, [], [LL_SCOPED], ZERO, include_linklocal=True)
    assert orig[3:5] == b"\xfe\x80" and orig[5:7] == b"\0\0"


def test_v6_scoped_multicast_zeroing_differs_by_flavour() -> None:
    group = "ff02:5::1"  # link-local multicast with embedded scope
    freebsd = hmac_message(1, [], [group], ZERO, flavour="freebsd")
    netbsd = hmac_message(1, [], [group], ZERO, flavour="netbsd")
    assert freebsd[3:7] == b"\xff\x02\0\0"  # FreeBSD zeroes any scope-embedded address
    assert netbsd[3:7] == b"\xff\x02\0\x05"  # NetBSD only link-local unicast


def test_v6_sorted_and_deduplicated_after_zeroing() -> None:
    m = hmac_message(1, [], ["2001:db8::2", LL, "2001:db8::1", LL_SCOPED], ZERO, flavour="freebsd")
    body = m[3:-8]
    assert len(body) == 48
    words = [body[i : i + 16] for i in range(0, 48, 16)]
    assert words == sorted(words) and words[0][:2] == b"\x20\x01" and words[2][:2] == b"\xfe\x80"


def test_v4_deduplicated() -> None:
    assert hmac_message(1, ["10.0.0.1", "10.0.0.1/24"], [], ZERO) == hmac_message(
        1, ["10.0.0.1"], [], ZERO
    )


def test_openbsd_nov6ll_skips_link_locals_orig_keeps_them() -> None:
    nov6ll = hmac_message(1, ["192.168.1.1"], ["2001:db8::1", LL], ZERO)
    assert nov6ll == hmac_message(1, ["192.168.1.1"], ["2001:db8::1"], ZERO)
    orig = hmac_message(1, ["192.168.1.1"], ["2001:db8::1", LL], ZERO, include_linklocal=True)
    assert len(orig) == len(nov6ll) + 16


def test_openbsd_signs_nov6ll_and_accepts_orig() -> None:
    ours = Signer(KEY, 1, ["192.168.1.1"], ["2001:db8::1", LL])
    nov6ll = Signer(KEY, 1, ["192.168.1.1"], ["2001:db8::1"])
    # a NetBSD peer with the link-local on carpN hashes it: OpenBSD's ORIG context
    netbsd = Signer(KEY, 1, ["192.168.1.1"], ["2001:db8::1", LL], flavour="netbsd")
    counter = wire.random_counter(random.Random(1))
    assert ours.sign(counter) == nov6ll.sign(counter)
    assert netbsd.sign(counter) != ours.sign(counter)
    for peer in (nov6ll, netbsd):
        adv = decode(make_advert(peer, 1, 1, 0, counter))
        assert isinstance(adv, Advert) and ours.verify(adv)
    # FreeBSD flavour has only one context: the link-local is hashed, NOV6LL is refused
    freebsd = Signer(KEY, 1, ["192.168.1.1"], ["2001:db8::1", LL], flavour="freebsd")
    adv = decode(make_advert(nov6ll, 1, 1, 0, counter))
    assert isinstance(adv, Advert) and not freebsd.verify(adv)


def test_mac_mixed_in_only_for_openbsd() -> None:
    mac = bytes.fromhex("020000000001")
    m = hmac_message(1, ["192.168.1.1"], [], ZERO, mac=mac)
    assert m[:8] == b"\x02\x01" + mac and m[8] == 1
    assert hmac_message(1, ["192.168.1.1"], [], ZERO, mac=mac, flavour="freebsd") == (
        hmac_message(1, ["192.168.1.1"], [], ZERO, flavour="freebsd")
    )
    assert Signer(KEY, 1, ["192.168.1.1"], [], mac=mac).sign(ZERO).hex() != KA6_DIGEST


def test_signer_equals_stdlib_hmac() -> None:
    rng = random.Random(7)
    for _ in range(20):
        key = rng.randbytes(rng.randrange(0, 80))
        counter = rng.randbytes(8)
        v4 = [f"10.0.{rng.randrange(256)}.{rng.randrange(256)}" for _ in range(3)]
        m = wirekit.hmac_message(9, v4, [], counter)
        assert Signer(key, 9, v4, []).sign(counter) == hmac.new(key, m, hashlib.sha1).digest()


def test_verify_rejects_wrong_key_vhid_addresses_counter() -> None:
    pkt = make_advert(Signer(KEY, 1, ["192.168.1.1"], []), 1, 1, 0, ZERO)
    adv = decode(pkt)
    assert isinstance(adv, Advert)
    assert Signer(KEY, 1, ["192.168.1.1"], []).verify(adv)
    assert not Signer(hmac_key("other"), 1, ["192.168.1.1"], []).verify(adv)
    assert not Signer(KEY, 2, ["192.168.1.1"], []).verify(adv)
    assert not Signer(KEY, 1, ["192.168.1.2"], []).verify(adv)
    assert not Signer(KEY, 1, ["192.168.1.1"], []).verify(
        dataclasses.replace(adv, counter=wire.int_to_counter(1))
    )


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError):
        Signer(KEY, 1, [], [], flavour="linux")
    with pytest.raises(ValueError):
        Signer(KEY, 256, [], [])
    with pytest.raises(ValueError):
        make_advert(Signer(KEY, 1, [], []), 1, 1, 0, b"short")
    with pytest.raises(ValueError):
        encode(Advert(1, 0, 1, b"short", bytes(20)))
    with pytest.raises(ValueError):
        encode(Advert(1, 0, 256, ZERO, bytes(20)))
    with pytest.raises(ValueError):
        make_advert(Signer(KEY, 1, [], []), 1, 1, 300, ZERO)


# --- counters ----------------------------------------------------------------


def test_counter_round_trip_and_wrap() -> None:
    assert wire.counter_to_int(wire.int_to_counter(0x0102030405060708)) == 0x0102030405060708
    assert wire.int_to_counter(0x0102030405060708).hex() == "0102030405060708"
    assert wire.int_to_counter(2**64) == ZERO
    with pytest.raises(ValueError):
        wire.counter_to_int(b"1234")


def test_random_counter() -> None:
    a, b = wire.random_counter(random.Random(3)), wire.random_counter(random.Random(3))
    assert a == b and len(a) == 8 and any(a)
    assert wire.random_counter() != wire.random_counter()  # os.urandom: 2**-64 clash


# --- decode: every path, never raises ------------------------------------------


def test_decode_round_trip_ka13() -> None:
    adv = decode(make_advert(Signer(KEY, 1, ["192.168.1.1"], []), 1, 1, 100, ZERO, demote=3))
    assert adv == Advert(1, 100, 1, ZERO, bytes.fromhex(KA6_DIGEST), demote=3)
    assert isinstance(adv, Advert) and not adv.bow_out


def test_decode_too_short() -> None:
    pkt = encode(Advert(1, 0, 1, ZERO, bytes(20)))
    assert decode(pkt[:35]) is Reject.TOO_SHORT
    assert decode(b"") is Reject.TOO_SHORT


def test_decode_bad_checksum() -> None:
    pkt = bytearray(encode(Advert(1, 0, 1, ZERO, bytes(20))))
    pkt[20] ^= 1
    assert decode(bytes(pkt)) is Reject.BAD_CHECKSUM
    assert decode(bytes(36)) is Reject.BAD_CHECKSUM


def test_decode_trailing_bytes_only_matter_for_whole_payload() -> None:
    pkt = encode(Advert(1, 0, 1, ZERO, bytes(20))) + b"\x12\x34"
    assert isinstance(decode(pkt), Advert)  # OpenBSD/NetBSD sum exactly 36 bytes
    assert decode(pkt, whole_payload=True) is Reject.BAD_CHECKSUM  # FreeBSD IPv4


def test_decode_keeps_bad_version_for_the_host() -> None:
    adv = decode(encode(Advert(1, 0, 1, ZERO, bytes(20), version=1)))
    assert isinstance(adv, Advert) and adv.version == 1


def test_bow_out() -> None:
    adv = decode(encode(Advert(1, 255, 255, ZERO, bytes(20))))
    assert isinstance(adv, Advert) and adv.bow_out
    assert not Advert(1, 255, 254, ZERO, bytes(20)).bow_out


def test_fast_decode_equals_constructor() -> None:
    adv = decode(encode(Advert(7, 8, 9, b"abcdefgh", bytes(range(20)), 4, 5, 6, 3)))
    assert adv == Advert(7, 8, 9, b"abcdefgh", bytes(range(20)), 4, 5, 6, 3)
    assert hash(adv) == hash(Advert(7, 8, 9, b"abcdefgh", bytes(range(20)), 4, 5, 6, 3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        adv.vhid = 1  # type: ignore[misc]


@given(st.binary(max_size=100))
def test_decode_never_raises(data: bytes) -> None:
    result = decode(data)
    assert isinstance(result, Advert | Reject)
    assert isinstance(decode(data, whole_payload=True), Advert | Reject)


@given(st.binary(min_size=36, max_size=36))
def test_decode_accepts_iff_checksum_sums_to_zero(data: bytes) -> None:
    assert isinstance(decode(data), Advert) == (ref_checksum(data) == 0)


byte = st.integers(0, 255)
nibble = st.integers(0, 15)


@given(
    byte, byte, byte, st.binary(min_size=8, max_size=8), st.binary(min_size=20, max_size=20),
    byte, nibble, nibble, byte,
)
def test_encode_decode_round_trip(
    vhid: int, advskew: int, advbase: int, counter: bytes, digest: bytes,
    demote: int, version: int, typ: int, authlen: int,
) -> None:
    adv = Advert(vhid, advskew, advbase, counter, digest, demote, version, typ, authlen)
    pkt = encode(adv)
    assert len(pkt) == 36 and ref_checksum(pkt) == 0
    assert decode(pkt) == adv


@given(byte, byte, byte, st.binary(min_size=8, max_size=8), byte)
def test_make_advert_verifies(
    vhid: int, advbase: int, advskew: int, counter: bytes, d: int
) -> None:
    signer = Signer(KEY, vhid, ["192.0.2.1"], ["2001:db8::5"])
    adv = decode(make_advert(signer, vhid, advbase, advskew, counter, d))
    assert isinstance(adv, Advert)
    assert (adv.vhid, adv.advbase, adv.advskew, adv.counter, adv.demote) == (
        vhid, advbase, advskew, counter, d,
    )
    assert signer.verify(adv)
    assert not signer.verify(dataclasses.replace(adv, digest=bytes(20)))


# --- Reject ------------------------------------------------------------------


def test_every_reject_maps_to_a_stat_field() -> None:
    for reject in Reject:
        assert reject.stat in STAT_FIELDS, reject
    assert Reject.LOOP.stat == Reject.BAD_AUTH.stat == "badauth"
    assert Reject.LOOP is not Reject.BAD_AUTH
    assert len(set(Reject)) == 10


@pytest.mark.parametrize(
    ("reject", "stat"),
    [
        (Reject.BAD_TTL, "badttl"), (Reject.SHORT_HEADER, "hdrops"),
        (Reject.BAD_CHECKSUM, "badsum"), (Reject.BAD_VERSION, "badver"),
        (Reject.TOO_SHORT, "badlen"), (Reject.BAD_AUTH, "badauth"),
        (Reject.UNKNOWN_VHID, "badvhid"), (Reject.BAD_INTERFACE, "badif"),
        (Reject.BAD_ADDRESSES, "badaddrs"), (Reject.LOOP, "badauth"),
    ],
)
def test_reject_stat(reject: Reject, stat: str) -> None:
    assert reject.stat == stat


def test_stat_fields_order() -> None:
    assert len(STAT_FIELDS) == 16
    assert STAT_FIELDS.index("badsum") == 5 and STAT_FIELDS.index("preempt") == 15


# --- IPv4 ----------------------------------------------------------------------


def test_build_ipv4_header() -> None:
    payload = encode(Advert(1, 0, 1, ZERO, bytes(20)))
    dg = wire.build_ipv4("192.168.1.2", "224.0.0.18", payload, tos=0x10, ident=0x1234)
    ver, tos, total, ident, frag, ttl, proto, _ = struct.unpack_from("!BBHHHBBH", dg)
    assert (ver, tos, total, ident, frag, ttl, proto) == (0x45, 0x10, 56, 0x1234, 0x4000, 255, 112)
    assert dg[12:20] == socket.inet_aton("192.168.1.2") + socket.inet_aton("224.0.0.18")
    assert ref_checksum(dg[:20]) == 0 and dg[20:] == payload


def test_build_ipv6_header() -> None:
    payload = encode(Advert(1, 0, 1, ZERO, bytes(20)))
    dg = wire.build_ipv6("fe80::1", "ff02::12", payload, tclass=0xE0)
    vtf, plen, nh, hlim = struct.unpack_from("!IHBB", dg)
    assert (vtf, plen, nh, hlim) == (0x6E000000, 36, 112, 255)  # traffic class, flow 0
    assert dg[8:40] == (socket.inet_pton(socket.AF_INET6, "fe80::1")
                        + socket.inet_pton(socket.AF_INET6, "ff02::12"))
    assert dg[40:] == payload


def test_parse_ipv4_round_trip() -> None:
    payload = encode(Advert(1, 0, 1, ZERO, bytes(20)))
    dg = wire.build_ipv4("10.1.2.3", "224.0.0.18", payload, 0xE0, 7, ttl=64)
    info = wire.parse_ipv4(dg + b"pad")  # trailing link padding is cut at total length
    assert info == IPInfo("10.1.2.3", "224.0.0.18", 64, payload, socket.AF_INET)


def test_parse_ipv4_options_skipped() -> None:
    payload = b"x" * 36
    hdr = bytearray(wire.build_ipv4("10.0.0.1", "10.0.0.2", payload, 0, 0)[:20])
    hdr[0] = 0x46
    struct.pack_into("!H", hdr, 2, 24 + 36)
    info = wire.parse_ipv4(bytes(hdr) + b"\x01\x01\x01\x00" + payload)
    assert isinstance(info, IPInfo) and info.payload == payload


def test_parse_ipv4_rejects() -> None:
    good = wire.build_ipv4("10.0.0.1", "10.0.0.2", b"x" * 36, 0, 0)
    assert wire.parse_ipv4(good[:19]) is Reject.SHORT_HEADER
    assert wire.parse_ipv4(b"\x65" + good[1:]) is Reject.SHORT_HEADER  # version 6
    assert wire.parse_ipv4(b"\x44" + good[1:]) is Reject.SHORT_HEADER  # IHL < 5
    assert wire.parse_ipv4(b"\x4f" + good[1:20]) is Reject.SHORT_HEADER  # IHL past the end
    assert wire.parse_ipv4(good[:2] + b"\x00\x10" + good[4:]) is Reject.SHORT_HEADER


@given(st.binary(max_size=80))
def test_parse_ipv4_never_raises(data: bytes) -> None:
    assert isinstance(wire.parse_ipv4(data), IPInfo | Reject)


# --- link layer ------------------------------------------------------------------


def test_gratuitous_arp_layout() -> None:
    frame = wire.gratuitous_arp("00:00:5e:00:01:01", "192.168.1.1")
    assert frame.hex() == (
        "ffffffffffff" "00005e000101" "0806"  # Ethernet: broadcast, from the virtual MAC
        "0001" "0800" "06" "04" "0001"  # Ethernet/IPv4, request
        "00005e000101" "c0a80101"  # sender = virtual MAC, virtual IP
        "000000000000" "c0a80101"  # target HW zero, target IP = virtual IP
    )


def _na_parts(frame: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    return frame[:14], frame[14:54], frame[54:], frame[22:54]


def test_unsolicited_na() -> None:
    mac, target = "00:00:5e:00:01:01", "2001:db8::1"
    frame = wire.unsolicited_na(mac, target)
    eth, ip6, icmp, addrs = _na_parts(frame)
    assert eth.hex() == "333300000001" "00005e000101" "86dd"
    vtf, plen, nh, hlim = struct.unpack_from("!IHBB", ip6)
    assert (vtf, plen, nh, hlim) == (0x60000000, 32, 58, 255) and len(icmp) == 32
    src = socket.inet_pton(socket.AF_INET6, "fe80::200:5eff:fe00:101")  # EUI-64 of the MAC
    assert addrs == src + socket.inet_pton(socket.AF_INET6, "ff02::1")
    assert icmp[0] == 136 and icmp[1] == 0
    assert icmp[4] == 0x20  # Override only: not Router, not Solicited
    assert icmp[8:24] == socket.inet_pton(socket.AF_INET6, target)
    assert icmp[24:].hex() == "0201" "00005e000101"
    pseudo = addrs + struct.pack("!I3xB", 32, 58)
    assert ref_checksum(pseudo + icmp) == 0
    zeroed = icmp[:2] + b"\0\0" + icmp[4:]
    assert struct.unpack_from("!H", icmp, 2)[0] == ref_checksum(pseudo + zeroed)


def test_unsolicited_na_router_flag_and_source() -> None:
    frame = wire.unsolicited_na("00:00:5e:00:01:02", "2001:db8::2", router=True,
                                src_ip6="fe80::1")
    _, _, icmp, addrs = _na_parts(frame)
    assert icmp[4] == 0xA0
    assert addrs[:16] == socket.inet_pton(socket.AF_INET6, "fe80::1")
    assert ref_checksum(addrs + struct.pack("!I3xB", 32, 58) + icmp) == 0


def test_multicast_macs() -> None:
    assert wire.ipv4_multicast_mac("224.0.0.18") == "01:00:5e:00:00:12"
    assert wire.ipv4_multicast_mac("239.129.2.3") == "01:00:5e:01:02:03"  # top bit dropped
    assert wire.ipv6_multicast_mac("ff02::12") == "33:33:00:00:00:12"
    assert wire.ipv6_multicast_mac("ff02::1:ff00:1") == "33:33:ff:00:00:01"


def test_ethernet_frame() -> None:
    frame = wire.ethernet_frame("01:00:5e:00:00:12", "00-00-5e-00-01-01", 0x0800, b"abc")
    assert frame.hex() == "01005e000012" "00005e000101" "0800" "616263"
    with pytest.raises(ValueError):
        wire.ethernet_frame("01:00:5e:00:00", "00:00:5e:00:01:01", 0x0800, b"")


# --- VRRPv3 ------------------------------------------------------------------------


def test_vrrp_round_trip_ipv4_and_ipv6() -> None:
    v4 = VrrpAdvert(5, 150, 4095, ("192.168.1.9", "192.168.1.1"))  # configuration order kept
    msg = wirekit.encode_vrrp(v4, "192.168.1.2", "224.0.0.18")
    assert msg[3] == 2 and msg[4:6] == b"\x0f\xff" and msg[8:12] == socket.inet_aton("192.168.1.9")
    assert wire.decode_vrrp(msg, "192.168.1.2", "224.0.0.18") == v4
    v6 = VrrpAdvert(5, 100, 100, ("2001:db8::1",))
    msg6 = wirekit.encode_vrrp(v6, "fe80::1", "ff02::12")
    assert len(msg6) == 24 and wire.decode_vrrp(msg6, "fe80::1", "ff02::12") == v6
    pseudo = (socket.inet_pton(socket.AF_INET6, "fe80::1")
              + socket.inet_pton(socket.AF_INET6, "ff02::12") + struct.pack("!I3xB", 24, 112))
    assert ref_checksum(pseudo + msg6) == 0


def test_vrrp_rejects() -> None:
    src, dst = "192.168.1.2", "224.0.0.18"
    msg = wirekit.encode_vrrp(VrrpAdvert(1, 100, 100, ("192.168.1.1",)), src, dst)
    assert wire.decode_vrrp(msg[:7], src, dst) is Reject.TOO_SHORT
    assert wire.decode_vrrp(b"\x21" + msg[1:], src, dst) is Reject.BAD_VERSION
    assert wire.decode_vrrp(msg, "192.168.1.3", dst) is Reject.BAD_CHECKSUM  # pseudo-header
    assert wire.decode_vrrp(msg, "not-an-ip", dst) is Reject.BAD_ADDRESSES


def test_vrrp_count_not_validated() -> None:
    src, dst = "192.168.1.2", "224.0.0.18"
    msg = bytearray(wirekit.encode_vrrp(VrrpAdvert(1, 100, 100, ("192.168.1.1",)), src, dst))
    msg[3] = 9  # claims nine addresses, carries one: FreeBSD does not check
    msg[6:8] = b"\0\0"
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 112, 12)
    struct.pack_into("!H", msg, 6, ref_checksum(pseudo + bytes(msg)))
    assert wire.decode_vrrp(bytes(msg), src, dst) == VrrpAdvert(1, 100, 100, ("192.168.1.1",))


@given(st.binary(max_size=60), st.sampled_from(["10.0.0.1", "fe80::1", "bogus"]))
def test_decode_vrrp_never_raises(data: bytes, src: str) -> None:
    dst = "ff02::12" if ":" in src else "224.0.0.18"
    assert isinstance(wire.decode_vrrp(data, src, dst), VrrpAdvert | Reject)


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("224.0.0.18", True),
        ("239.255.255.255", True),
        ("223.255.255.255", False),
        ("240.0.0.1", False),
        ("10.0.0.2", False),
        ("ff02::12", True),
        ("ff02::1%em0", True),
        ("fe80::1", False),
        ("not-an-address", False),
    ],
)
def test_is_multicast(addr: str, expected: bool) -> None:
    assert wire.is_multicast(addr) is expected
