"""tcpdump reads advertisements built by this tree's codec (carp.wire) the way it reads a
BSD kernel's: a classic pcap written here, decoded by `tcpdump -r` with `-T carp` (CARP)
and without it (VRRP, docs/userland.md §7).

Every expected value comes from the test's own inputs or from Python's hmac, never from
decoding with carp.wire, so a wrong field, checksum or digest in the codec fails here.
Needs the tcpdump binary (Debian package tcpdump): skipped without it, except in CI."""

from __future__ import annotations

import hashlib
import hmac
import random
import socket
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from carp import wire
from carp.actions import Send
from carp.config import Address, CarpInterface, Node
from carp.host import CarpHost
from tests.external import (
    carp_records,
    hex_packets,
    program,
    tcpdump,
    vrrp3_records,
    vrrp_records,
    write_pcap,
)

PASS = "mekmitasdigoat"  # carp(4)'s example passphrase


@dataclass(frozen=True)
class Case:
    vhid: int
    advbase: int
    advskew: int
    counter: int
    src: str
    dst: str
    vip: str  # the one virtual address the digest covers
    tos: int = 0x10  # carpd's default IPv4 TOS (IPTOS_LOWDELAY); traffic class for IPv6

    @property
    def v6(self) -> bool:
        return ":" in self.src

    @property
    def src_mac(self) -> str:
        return f"00:00:5e:00:01:{self.vhid:02x}"

    @property
    def dst_mac(self) -> str:
        # RFC 1112 / RFC 2464 group MACs of 224.0.0.18 and ff02::12, written out by hand
        return "33:33:00:00:00:12" if self.v6 else "01:00:5e:00:00:12"


CASES = (
    Case(1, 1, 0, 0x0123456789ABCDEF, "192.168.1.2", "224.0.0.18", "192.168.1.1"),
    Case(255, 200, 254, 2**64 - 1, "192.168.1.3", "224.0.0.18", "10.0.0.1", tos=0xE0),
    Case(2, 3, 100, 42, "fe80::200:ff:fe00:102", "ff02::12", "2001:db8:1::1", tos=0),
)


def ether(src_mac: str, dst_mac: str, ethertype: int, payload: bytes) -> bytes:
    return (bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", ""))
            + struct.pack("!H", ethertype) + payload)


def datagram(case: Case, ttl: int = 255) -> bytes:
    """The IP datagram carpd would send for `case`, built with the codec under test."""
    v4, v6 = ([], [case.vip]) if ":" in case.vip else ([case.vip], [])
    signer = wire.Signer(wire.hmac_key(PASS), case.vhid, v4, v6)
    payload = wire.make_advert(signer, case.vhid, case.advbase, case.advskew,
                               wire.int_to_counter(case.counter))
    if case.v6:
        return wire.build_ipv6(case.src, case.dst, payload, tclass=case.tos, hlim=ttl)
    return wire.build_ipv4(case.src, case.dst, payload, case.tos, 0x1234, ttl=ttl)


def frame(case: Case, dgram: bytes | None = None) -> bytes:
    dgram = datagram(case) if dgram is None else dgram
    return ether(case.src_mac, case.dst_mac, 0x86DD if case.v6 else 0x0800, dgram)


def kernel_digest(case: Case) -> bytes:
    """HMAC-SHA1 as the kernels compute it (docs/protocol.md §2.2): key = the passphrase,
    message = version 2, type 1, vhid, the address, the 8 counter bytes."""
    fam = socket.AF_INET6 if ":" in case.vip else socket.AF_INET
    msg = (bytes([2, 1, case.vhid]) + socket.inet_pton(fam, case.vip)
           + case.counter.to_bytes(8, "big"))
    return hmac.new(PASS.encode(), msg, hashlib.sha1).digest()


@pytest.fixture(scope="module")
def pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    program("tcpdump")  # skip (or fail in CI) before writing anything
    path = tmp_path_factory.mktemp("tcpdump") / "adverts.pcap"
    write_pcap(path, [frame(c) for c in CASES])
    return path


def check_ip(rec: dict[str, Any], case: Case) -> None:
    assert rec["ttl"] == 255
    assert (rec["proto"], rec["proto_name"]) == (112, "VRRP")
    assert (rec["src"], rec["dst"]) == (case.src, case.dst)
    assert (rec["src_mac"], rec["dst_mac"]) == (case.src_mac, case.dst_mac)
    if case.v6:
        assert rec["iplen"] == 36  # IPv6 payload length
    else:
        assert rec["iplen"] == 20 + 36
        assert rec["tos"] == f"{case.tos:#x}"
        assert rec["flags"] == "DF"
        assert rec["ipbad"] is None


def test_tcpdump_T_carp_decodes_every_field(pcap: Path) -> None:
    out = tcpdump(pcap, "-e", "-vv", "-T", "carp")
    recs = carp_records(out)
    assert len(recs) == len(CASES), out
    for rec, case in zip(recs, CASES, strict=True):
        assert "unparsed" not in rec, rec
        assert "CARPv2-advertise 36:" in rec["text"]
        assert (rec["version"], rec["type"], rec["len"]) == (2, "advertise", 36)
        assert (rec["vhid"], rec["advbase"], rec["advskew"]) == (
            case.vhid, case.advbase, case.advskew)
        assert rec["authlen"] == 7
        assert rec["counter"] == case.counter
        assert rec["ttl_note"] is None  # tcpdump's "[ttl=N!]" for TTL != 255
        assert rec["carp_bad"] is None  # "(bad carp cksum ...!)", printed with -v
        check_ip(rec, case)
        assert "bad" not in rec["text"], rec["text"]


def test_tcpdump_without_T_reads_vrrpv2(pcap: Path) -> None:
    """Protocol 112 without -T carp: VRRPv2 with prio = advskew, intvl = advbase, authtype
    = the demote byte (0: none); the 36 bytes also pass the VRRPv2 checksum."""
    out = tcpdump(pcap, "-e", "-vv")
    recs = vrrp_records(out)
    assert len(recs) == len(CASES), out
    for rec, case in zip(recs, CASES, strict=True):
        assert "unparsed" not in rec, rec
        assert (rec["version"], rec["vrid"], rec["prio"], rec["intvl"], rec["len"]) == (
            2, case.vhid, case.advskew, case.advbase, 36)
        assert rec["authtype"] == "none"
        check_ip(rec, case)
        assert "bad" not in rec["text"], rec["text"]


def test_tcpdump_bytes_carry_the_kernel_hmac(pcap: Path) -> None:
    """The bytes tcpdump shows hold the counter and the digest a BSD kernel would compute
    (tcpdump prints no digest, so the hex dump is read)."""
    dgrams = hex_packets(tcpdump(pcap, "-x", "-T", "carp"))
    assert len(dgrams) == len(CASES)
    for dgram, case in zip(dgrams, CASES, strict=True):
        carp = dgram[40:] if case.v6 else dgram[20:]
        assert len(carp) == 36
        assert carp[8:16] == case.counter.to_bytes(8, "big")
        assert carp[16:36] == kernel_digest(case)


def test_tcpdump_flags_what_is_broken(tmp_path: Path) -> None:
    """The control: the checks above can fail. A flipped digest bit (the checksum no longer
    matches), TTL 1 and a spoiled IPv4 header checksum are each reported by tcpdump."""
    program("tcpdump")
    case = CASES[0]
    good = bytearray(datagram(case))
    bad_sum = bytearray(good)
    bad_sum[-1] ^= 0x01  # last digest byte; checksum left as it was
    bad_ip = bytearray(good)
    bad_ip[10] ^= 0xFF  # IPv4 header checksum
    path = tmp_path / "broken.pcap"
    write_pcap(path, [frame(case, bytes(bad_sum)), frame(case, datagram(case, ttl=1)),
                      frame(case, bytes(bad_ip))])
    recs = carp_records(tcpdump(path, "-e", "-vv", "-T", "carp"))
    assert [("unparsed" in r) for r in recs] == [False, False, False], recs
    assert recs[0]["carp_bad"] is not None, recs[0]["text"]
    assert (recs[1]["ttl"], recs[1]["ttl_note"]) == (1, 1), recs[1]["text"]
    assert recs[2]["ipbad"] is not None and recs[2]["carp_bad"] is None, recs[2]["text"]
    # and the digest check: Python's HMAC disagrees with a flipped bit
    assert bytes(bad_sum[20:])[16:36] != kernel_digest(case)


def test_tcpdump_reads_vrrpv3_as_carpd_sends_it(tmp_path: Path) -> None:
    """A FreeBSD `carpver 3` vhid's adverts, from the core (unsealed) through the seal
    carpd applies with its source: tcpdump shows the priority, the interval in
    centiseconds and the addresses, and finds the pseudo-header checksum good; the same
    advert checksummed the VRRPv2 way (no pseudo-header) it flags."""
    program("tcpdump")
    ci = CarpInterface(name="em0", style="vhid", nodes=[Node(7, 0)], up=True, version=3,
                       vrrp_prio=150, vrrp_interval=25,
                       addresses=[Address("192.168.1.1", 24, vhid=7),
                                  Address("192.168.1.9", 24, vhid=7),
                                  Address("2001:db8:1::1", 64, vhid=7)])
    host = CarpHost("freebsd", rng=random.Random(1))
    host.configure({}, [ci], {}, 0.0)
    sends = [a for a in host.timeout(10.0) if isinstance(a, Send)]
    src = {4: "192.168.1.2", 6: "fe80::200:ff:fe00:102"}
    frames = []
    for s in sends:
        sealed = wire.vrrp_seal(s.payload, src[s.family], s.dst)
        if s.family == 4:
            dgram = wire.build_ipv4(src[4], s.dst, sealed, s.tos, 1)
            frames.append(ether(wire.virtual_mac(7), "01:00:5e:00:00:12", 0x0800, dgram))
            v2_style = bytearray(sealed)  # the checksum of the message alone
            v2_style[6:8] = b"\0\0"
            v2_style[6:8] = wire.checksum(bytes(v2_style)).to_bytes(2, "big")
            bad = wire.build_ipv4(src[4], s.dst, bytes(v2_style), s.tos, 2)
        else:
            dgram = wire.build_ipv6(src[6], s.dst, sealed, tclass=s.tos)
            frames.append(ether(wire.virtual_mac(7), "33:33:00:00:00:12", 0x86DD, dgram))
    frames.append(ether(wire.virtual_mac(7), "01:00:5e:00:00:12", 0x0800, bad))
    path = tmp_path / "vrrp.pcap"
    write_pcap(path, frames)
    recs = vrrp3_records(tcpdump(path, "-e", "-vv"))
    assert [("unparsed" in r) for r in recs] == [False, False, False], recs
    v4, v6, control = recs
    assert (v4["vrid"], v4["prio"], v4["intvl"], v4["len"]) == (7, 150, 25, 8 + 2 * 4)
    assert v4["addrs"] == "192.168.1.1,192.168.1.9"  # in configuration order
    assert (v4["ttl"], v4["tos"], v4["flags"], v4["src"]) == (255, "0xe0", "DF", src[4])
    assert (v6["vrid"], v6["prio"], v6["intvl"], v6["len"]) == (7, 150, 25, 8 + 16)
    assert (v6["addrs"], v6["ttl"], v6["src"]) == ("2001:db8:1::1", 255, src[6])
    assert v4["vrrp_bad"] is None and v6["vrrp_bad"] is None, (v4["text"], v6["text"])
    assert v4["src_mac"] == v6["src_mac"] == "00:00:5e:00:01:07"
    assert control["vrrp_bad"] is not None, control["text"]
