"""The checked-in corpus (tests/fuzz/corpus/*.bin), and what each entry must do.

    .venv/bin/python -m tests.fuzz.corpus_gen      # rewrite the corpus from this file

Each entry is one fuzz input: a context byte (bit 0: arrived on em1, which has no carp)
and an IP datagram, built here byte by byte (struct, hmac; not the codec under test).
`EXPECT` says, per personality, which carpstats drop counter the entry bumps, "accept"
when it is a valid advertisement, "hdrops" when carpd's IPv4 header split refuses it
and "undelivered" when the kernel would not hand it over (tests/fuzz/test_fuzz.py
checks the oracle and the code against these hand-written answers).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct
from pathlib import Path

from tests.fuzz.oracle import hmac_prefixes
from tests.fuzz.world import KEY, PEER4, PEER6, VHIDS

CORPUS = Path(__file__).resolve().parent / "corpus"
PERS = ("openbsd", "freebsd", "netbsd")
COUNTER = 0x5EED_0000_0000_0100  # a peer's counter: larger than any the targets accept first


def _cksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def carp(
    vhid: int, advskew: int = 0, advbase: int = 1, demote: int = 0, counter: int = COUNTER,
    version: int = 2, type_: int = 1, authlen: int = 7, key: bytes = KEY,
    prefix: bytes | None = None, personality: str = "freebsd", cksum_delta: int = 0,
) -> bytes:
    """A 36-byte CARP header signed over the world's addresses of `vhid`."""
    c = counter.to_bytes(8, "big")
    if prefix is None:
        conf = VHIDS.get(vhid)
        prefix = hmac_prefixes(personality, conf)[0] if conf else b"\x02\x01" + bytes([vhid])
    dig = hmac.new(key, prefix + c, hashlib.sha1).digest()
    head = struct.pack("!BBBBBBH", version << 4 | type_, vhid, advskew, authlen, demote, advbase,
                       0) + c + dig
    return head[:6] + struct.pack("!H", (_cksum(head) + cksum_delta) & 0xFFFF) + head[8:]


def ipv4(
    payload: bytes, src: str = PEER4, dst: str = "224.0.0.18", ttl: int = 255,
    options: bytes = b"", total: int | None = None, vihl: int | None = None,
) -> bytes:
    ihl = 20 + len(options)
    head = struct.pack("!BBHHHBBH4s4s", vihl if vihl is not None else 0x40 | ihl // 4, 0x10,
                       total if total is not None else ihl + len(payload), 0, 0x4000, ttl, 112,
                       0, ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return head + options + payload


def ipv6(payload: bytes, src: str = PEER6, dst: str = "ff02::12", hlim: int = 255,
         plen: int | None = None, nh: int = 112) -> bytes:
    return struct.pack("!IHBB", 6 << 28, len(payload) if plen is None else plen, nh, hlim) + (
        ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed + payload
    )


def on(dev: str, dgram: bytes) -> bytes:
    return bytes([1 if dev == "em1" else 0]) + dgram


def em0(dgram: bytes) -> bytes:
    return on("em0", dgram)


def _all(outcome: str) -> dict[str, str]:
    return dict.fromkeys(PERS, outcome)


def _vrrp3() -> bytes:
    """A FreeBSD `carpver 3` advert for vrid 1 (192.168.1.1), pseudo-header checksum."""
    body = struct.pack("!BBBBHH", 0x31, 1, 100, 1, 100, 0) + bytes([192, 168, 1, 1])
    pseudo = (ipaddress.IPv4Address(PEER4).packed + bytes([224, 0, 0, 18, 0, 112])
              + struct.pack("!H", len(body)))
    return body[:6] + struct.pack("!H", _cksum(pseudo + body)) + body[8:]


def entries() -> dict[str, tuple[bytes, dict[str, str]]]:
    """name -> (input, personality -> outcome)."""
    ok = _all("accept")
    e: dict[str, tuple[bytes, dict[str, str]]] = {}
    # valid advertisements, each personality's construction
    e["v4-vhid1-faster"] = em0(ipv4(carp(1))), ok
    e["v6-vhid1-faster"] = em0(ipv6(carp(1))), ok
    e["v4-vhid1-slower"] = em0(ipv4(carp(1, advskew=100))), ok
    e["v4-vhid1-equal"] = em0(ipv4(carp(1, advskew=50))), ok
    e["v4-vhid1-bow-out"] = em0(ipv4(carp(1, advskew=255, advbase=255))), ok
    e["v4-vhid1-demoted"] = em0(ipv4(carp(1, demote=1))), ok
    e["v4-vhid1-advbase0"] = em0(ipv4(carp(1, advbase=0))), ok
    e["v4-vhid1-type-authlen-unchecked"] = em0(ipv4(carp(1, type_=2, authlen=0))), ok
    e["v4-vhid1-ip-options"] = em0(ipv4(carp(1), options=b"\x01\x01\x01\x00")), ok
    e["v4-vhid3-openbsd-nov6ll"] = (
        em0(ipv4(carp(3, personality="openbsd"))),
        {"openbsd": "accept", "freebsd": "badauth", "netbsd": "badauth"},
    )
    e["v4-vhid3-with-linklocal"] = em0(ipv4(carp(3))), ok
    e["v6-vhid3-with-linklocal"] = em0(ipv6(carp(3))), ok
    e["v4-vhid4-advbase2"] = em0(ipv4(carp(4, advbase=2))), ok
    e["v6-vhid4-no-v6-address"] = (
        em0(ipv6(carp(4, advbase=2))), {"openbsd": "accept", "freebsd": "badvhid",
                                        "netbsd": "accept"},
    )
    e["v4-vhid5-unicast-to-us"] = em0(ipv4(carp(5), dst="10.0.0.1")), ok
    e["v4-vhid5-multicast"] = (
        em0(ipv4(carp(5))), {"openbsd": "badvhid", "freebsd": "accept", "netbsd": "accept"},
    )
    e["v6-vhid6-v6-only"] = em0(ipv6(carp(6))), ok
    e["v4-vhid6-no-v4-address"] = (
        em0(ipv4(carp(6))), {"openbsd": "accept", "freebsd": "badvhid", "netbsd": "accept"},
    )
    # oversized: the kernels check 36 bytes; FreeBSD IPv4 sums the whole payload (§1.3)
    e["v4-vhid1-zero-trailer"] = em0(ipv4(carp(1) + bytes(1464))), ok
    e["v4-vhid1-trailer"] = (
        em0(ipv4(carp(1) + b"trailing bytes")),
        {"openbsd": "accept", "freebsd": "badsum", "netbsd": "accept"},
    )
    e["v6-vhid1-jumbo"] = em0(ipv6(carp(1) + bytes(range(256)) * 35)), ok
    e["v4-short-ip-total"] = (
        em0(ipv4(carp(1), total=20 + 30)), {"openbsd": "badlen", "freebsd": "badlen",
                                            "netbsd": "badlen"},
    )
    # one field wrong at a time
    e["v4-vhid1-ttl64"] = (
        em0(ipv4(carp(1), ttl=64)), {"openbsd": "badttl", "freebsd": "badttl",
                                     "netbsd": "badttl"},
    )
    e["v4-vhid9-ttl1"] = (
        em0(ipv4(carp(9), ttl=1)), {"openbsd": "badttl", "freebsd": "badvhid",
                                    "netbsd": "badttl"},
    )
    e["v4-vhid5-unicast-ttl1"] = (
        em0(ipv4(carp(5), dst="10.0.0.1", ttl=1)),
        {"openbsd": "badttl", "freebsd": "accept", "netbsd": "badttl"},  # §1.6: FreeBSD unicast
    )
    e["v6-vhid1-hlim1"] = em0(ipv6(carp(1), hlim=1)), _all("badttl")
    e["v4-vhid1-bad-checksum"] = em0(ipv4(carp(1, cksum_delta=1))), _all("badsum")
    e["v6-vhid1-bad-checksum"] = em0(ipv6(carp(1, cksum_delta=0x100))), _all("badsum")
    e["v4-vhid1-version1"] = (
        em0(ipv4(carp(1, version=1))), {"openbsd": "badver", "freebsd": "badver",
                                        "netbsd": "badver"},
    )
    # FreeBSD reads a version-3 packet as VRRPv3: its checksum covers a pseudo-header
    e["v4-vhid1-version3-carp-layout"] = (
        em0(ipv4(carp(1, version=3))), {"openbsd": "badver", "freebsd": "badsum",
                                        "netbsd": "badver"},
    )
    e["v4-vhid9-version3"] = (
        em0(ipv4(carp(9, version=3))), {"openbsd": "badvhid", "freebsd": "badsum",
                                        "netbsd": "badvhid"},
    )
    e["v4-vrrp3-vrid1"] = (
        em0(ipv4(_vrrp3())), {"openbsd": "badlen", "freebsd": "badver", "netbsd": "badlen"},
    )
    e["v4-vhid1-wrong-key"] = em0(ipv4(carp(1, key=b"x".ljust(20, b"\0")))), _all("badauth")
    e["v4-vhid1-extra-address"] = (
        em0(ipv4(carp(1, prefix=hmac_prefixes("freebsd", VHIDS[1])[0] + bytes([192, 168, 1, 2])))),
        _all("badauth"),
    )
    e["v4-vhid1-digest-zero"] = (
        em0(ipv4(carp(1)[:16] + bytes(20))), {"openbsd": "badsum", "freebsd": "badsum",
                                              "netbsd": "badsum"},
    )
    e["v4-vhid2-init"] = em0(ipv4(carp(2))), _all("badvhid")
    e["v4-vhid0"] = em0(ipv4(carp(0))), _all("badvhid")
    e["v4-vhid255"] = em0(ipv4(carp(255))), _all("badvhid")
    e["v4-vhid1-on-em1"] = (
        on("em1", ipv4(carp(1))), {"openbsd": "badvhid", "freebsd": "badvhid",
                                   "netbsd": "badif"},
    )
    e["v6-vhid1-on-em1"] = on("em1", ipv6(carp(1))), _all("badif")
    # truncated and broken headers
    e["v4-payload-35"] = em0(ipv4(carp(1)[:35])), _all("badlen")
    e["v4-payload-8"] = (
        em0(ipv4(carp(1)[:8])), {"openbsd": "badlen", "freebsd": "badlen", "netbsd": "badlen"},
    )
    e["v4-payload-7"] = em0(ipv4(carp(1)[:7])), _all("badlen")
    e["v4-payload-empty"] = em0(ipv4(b"")), _all("badlen")
    e["v6-payload-20"] = em0(ipv6(carp(1)[:20])), _all("badlen")
    e["v4-header-only-19"] = em0(ipv4(b"")[:19]), _all("hdrops")
    e["v4-ihl4"] = em0(ipv4(carp(1), vihl=0x44)), _all("hdrops")
    e["v4-ihl15-past-end"] = em0(ipv4(b"", vihl=0x4F)), _all("hdrops")
    e["v4-total-below-ihl"] = em0(ipv4(carp(1), total=12)), _all("hdrops")
    e["ip-version5"] = em0(b"\x55" + ipv4(carp(1))[1:]), _all("hdrops")
    e["empty"] = b"", _all("hdrops")
    e["context-only"] = b"\x00", _all("hdrops")
    e["v6-header-only-39"] = em0(ipv6(b"")[:39]), _all("undelivered")
    e["v6-plen-past-end"] = em0(ipv6(carp(1), plen=100)), _all("undelivered")
    e["v6-next-header-udp"] = em0(ipv6(carp(1), nh=17)), _all("undelivered")
    e["blob"] = bytes((i * 167 + 13) & 0xFF for i in range(97)), _all("hdrops")
    return e


def write() -> None:
    CORPUS.mkdir(exist_ok=True)
    wanted = entries()
    for old in CORPUS.glob("*.bin"):
        if old.stem not in wanted:
            old.unlink()
    for name, (data, _) in wanted.items():
        (CORPUS / f"{name}.bin").write_bytes(data)


def load() -> list[bytes]:
    """The corpus as checked in."""
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.bin"))]


if __name__ == "__main__":
    write()
    print(f"{len(entries())} inputs in {CORPUS}")
