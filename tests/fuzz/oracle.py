"""What the receive path must do with one fuzz input, worked out from the documents alone.

Nothing here calls the code under test (carp.wire, carp.validation, carp.vhost): the
checksum, the HMAC, the validation order of docs/protocol.md §7 and the election of §4.4
are written out again from the text, so that a disagreement is a finding, not a tautology.
Where §7 leaves a choice to the implementation it is named (the IP header carpd splits
off itself).

An input is one context byte and one IP datagram (harness.py): bit 0 of the context
byte says the datagram arrived on em1, which carries no carp, instead of em0.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct
from dataclasses import dataclass

from tests.fuzz.world import CARPDEV, KEY, LOCAL4, LOCAL6, OTHER, VHIDS, Senders, VhidConf

US = 1_000_000
MASK64 = (1 << 64) - 1
IPPROTO_CARP = 112
KAME = ("openbsd", "netbsd")  # the KAME validation order (§7.1, §7.3)


# -- the pieces, from their definitions ------------------------------------------------------


def inet_checksum_ok(data: bytes) -> bool:
    """RFC 1071: the one's-complement sum of the 16-bit words (odd length: a zero pad) is
    0xffff (minus zero) over data whose checksum field is right.  All-zero data sums to
    plus zero, and in_cksum() returns 0xffff for it: a bad checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def _v6_bytes(addr: str, zero_scope: bool) -> bytes:
    raw = ipaddress.IPv6Address(addr).packed
    if zero_scope and raw[0] == 0xFE and raw[1] & 0xC0 == 0x80:  # link-local: §2.2 step 5
        raw = raw[:2] + b"\0\0" + raw[4:]
    return raw


def hmac_prefixes(personality: str, conf: VhidConf) -> list[bytes]:
    """The HMAC messages without the counter that the receiver accepts (§2.2, §2.3):
    0x02 0x01, vhid, sorted IPv4, sorted IPv6.  OpenBSD accepts two: without its
    link-local addresses (what it sends) and with them."""
    v4 = b"".join(sorted({ipaddress.IPv4Address(a).packed for a in conf.v4}))
    head = b"\x02\x01" + bytes([conf.vhid]) + v4
    every = b"".join(sorted({_v6_bytes(a, True) for a in conf.v6}))
    if personality != "openbsd":
        return [head + every]
    globals_ = b"".join(sorted({
        _v6_bytes(a, True) for a in conf.v6 if not ipaddress.IPv6Address(a).is_link_local
    }))
    return [head + globals_, head + every]


_PREFIXES = {(p, v): hmac_prefixes(p, c) for p in ("openbsd", "freebsd", "netbsd")
             for v, c in VHIDS.items()}


def digest(personality: str, vhid: int, counter: bytes, key: bytes = KEY, alt: int = 0) -> bytes:
    """The digest a peer holding `key` sends (alt 1: OpenBSD's context with link-locals)."""
    prefixes = _PREFIXES[(personality, vhid)]
    return hmac.new(key, prefixes[min(alt, len(prefixes) - 1)] + counter, hashlib.sha1).digest()


def authentic(personality: str, vhid: int, counter: bytes, dig: bytes) -> bool:
    return any(
        hmac.new(KEY, p + counter, hashlib.sha1).digest() == dig
        for p in _PREFIXES[(personality, vhid)]
    )


def newer(counter: int, than: int | None) -> bool:
    """RFC 1982 serial-number order on 64 bits: `counter` comes after `than`."""
    return than is None or 0 < (counter - than) & MASK64 < 1 << 63


MAX_SENDERS = 8  # senders a vhid remembers (carp.4, "Replay"); a new one evicts the oldest


def replayed(n: int, rec: list[int] | None) -> bool:
    """carp.4 "Replay": the sender sent two different counters and `n` is not newer than
    the newest accepted from it."""
    return rec is not None and bool(rec[2]) and not newer(n, rec[1])


def remember(senders: Senders, vhid: int, src: bytes, n: int) -> None:
    """An accepted counter from `src` (incrementing personalities)."""
    per = senders.setdefault(vhid, {})
    rec = per.get(src)
    if rec is None or (not rec[2] and rec[3] and n != rec[0]):  # new, or a new cookie
        if rec is None and len(per) >= MAX_SENDERS:
            del per[next(iter(per))]
        per[src] = [n, n, 0, 0]
        return
    if n != rec[1]:
        rec[2] = 1
    elif not rec[2]:
        rec[3] += 1
    if newer(n, rec[1]):
        rec[1] = n


def is_multicast(raw: bytes) -> bool:
    return raw[0] == 0xFF if len(raw) == 16 else 224 <= raw[0] <= 239


def vrrp_checksum_ok(pkt: Packet, payload: bytes) -> bool:
    """RFC 5798 5.2.8: the checksum covers an IP pseudo-header (source, destination,
    protocol 112, the VRRP length) and the VRRP message."""
    n = len(payload)
    if pkt.family == 6:
        pseudo = pkt.src + pkt.dst + struct.pack("!I3xB", n, IPPROTO_CARP)
    else:
        pseudo = pkt.src + pkt.dst + struct.pack("!xBH", IPPROTO_CARP, n)
    return inet_checksum_ok(pseudo + payload)


def _packed(addr: str) -> bytes:
    return ipaddress.ip_address(addr).packed


# -- one input -----------------------------------------------------------------------------


@dataclass
class Packet:
    """What carpd hands CarpHost.packet for an input, or why it never gets there."""

    dev: str
    family: int = 4
    delivered: bool = True  # False: the kernel drops it (IPv6 header) and nothing counts
    ip_drop: str | None = None  # carpd's own IPv4 header split refused it (wire.parse_ipv4)
    ttl: int = 255
    src: bytes = b""
    dst: bytes = b""
    payload: bytes = b""


def split(data: bytes) -> Packet:
    """The context byte and the IP layer, as carpd and the kernel see the datagram.

    IPv4 (carpd's raw socket keeps the header; carpd splits it, wire.parse_ipv4's
    contract): no header or not version 4, or IHL < 20, past the end, or above the
    total length: hdrops.  The payload runs to the total length or the end.
    IPv6 (the kernel splits it and hands over the payload, hop limit and addresses):
    a datagram whose first nibble is 6 but that is shorter than its header or its
    payload length, or is not protocol 112, is never delivered."""
    ctx, dgram = (data[0], data[1:]) if data else (0, b"")
    dev = OTHER if ctx & 1 else CARPDEV
    if dgram and dgram[0] >> 4 == 6:
        if len(dgram) < 40:
            return Packet(dev, 6, delivered=False)
        plen = struct.unpack_from("!H", dgram, 4)[0]
        if dgram[6] != IPPROTO_CARP or 40 + plen > len(dgram):
            return Packet(dev, 6, delivered=False)
        return Packet(dev, 6, True, None, dgram[7], dgram[8:24], dgram[24:40],
                      dgram[40:40 + plen])
    if len(dgram) < 20 or dgram[0] >> 4 != 4:
        return Packet(dev, 4, ip_drop="hdrops")
    ihl = (dgram[0] & 0x0F) * 4
    total = struct.unpack_from("!H", dgram, 2)[0]
    if ihl < 20 or ihl > len(dgram) or total < ihl:
        return Packet(dev, 4, ip_drop="hdrops")
    return Packet(dev, 4, True, None, dgram[8], dgram[12:16], dgram[16:20],
                  dgram[ihl:min(total, len(dgram))])


@dataclass
class Expect:
    """The outcome: `drop` is the one carpstats drop counter (None: accepted), `vhid` the
    vhid an accepted advert reached and `state` what that vhid must be afterwards."""

    drop: str | None
    vhid: int = 0
    state: str = ""
    counter: int = 0


def _lookup(personality: str, pkt: Packet, vhid: int, running: dict[int, str]) -> VhidConf | None:
    """§7.1 step 8 / §7.2 step 7 / §7.3 step 8: the vhid on the receiving parent (only em0
    has any), not INIT.  OpenBSD: its peer kind (multicast or unicast) must match the
    destination.  FreeBSD: it must hold an address of the packet's family."""
    conf = VHIDS.get(vhid)
    if pkt.dev != CARPDEV or conf is None or running.get(vhid, "INIT") == "INIT":
        return None
    if personality == "openbsd":
        if is_multicast(pkt.dst) != is_multicast(_packed(conf.dst(pkt.family))):
            return None
    if personality == "freebsd" and not (conf.v4 if pkt.family == 4 else conf.v6):
        return None
    return conf


def validate(
    personality: str, pkt: Packet, running: dict[int, str], cookie: dict[int, bytes | None],
    senders: Senders,
) -> Expect:
    """§7: the one drop counter of a delivered packet, or acceptance.  `cookie` is what
    the target put in its own adverts (OpenBSD), `senders` what the harness saw it accept
    from each sender (the others)."""
    p = pkt.payload
    if personality in KAME:
        if (pkt.family == 6 or personality == "netbsd") and pkt.dev != CARPDEV:
            return Expect("badif")
        if pkt.ttl != 255:
            return Expect("badttl")
        if len(p) < 36:
            return Expect("badlen")
        if not inet_checksum_ok(p[:36]):
            return Expect("badsum")
        conf = _lookup(personality, pkt, p[1], running)
        if conf is None:
            return Expect("badvhid")
        if p[0] >> 4 != 2:
            return Expect("badver")
    else:  # FreeBSD
        if pkt.family == 6 and pkt.dev != CARPDEV:
            return Expect("badif")
        if len(p) < 8:
            return Expect("badlen")
        if p[0] >> 4 not in (2, 3):
            return Expect("badver")
        if p[0] >> 4 == 3:
            # vrrp_input_c (§1.7): the checksum over the pseudo-header, the vhid lookup,
            # then the vhid's mode: no vhid of this world speaks VRRPv3, so badver ("a vhid
            # configured for one version counts packets of the other version as badver").
            if not vrrp_checksum_ok(pkt, p):
                return Expect("badsum")
            if _lookup(personality, pkt, p[1], running) is None:
                return Expect("badvhid")
            return Expect("badver")
        if len(p) < 36:
            return Expect("badlen")
        if not inet_checksum_ok(p if pkt.family == 4 else p[:36]):  # §1.3
            return Expect("badsum")
        conf = _lookup(personality, pkt, p[1], running)
        if conf is None:
            return Expect("badvhid")
        if is_multicast(_packed(conf.dst(pkt.family))) and pkt.ttl != 255:
            return Expect("badttl")
    counter, dig = p[8:16], p[16:36]
    if not authentic(personality, conf.vhid, counter, dig):
        return Expect("badauth")
    if personality == "openbsd":
        if counter == cookie.get(conf.vhid):
            return Expect("badauth")  # §3: our own cookie came back, a loop
    else:  # carp.4 "Replay": a counting sender's counter not newer than its last accepted
        n = int.from_bytes(counter, "big")
        if replayed(n, senders.get(conf.vhid, {}).get(pkt.src)):
            return Expect("badauth")
    return Expect(None, conf.vhid, counter=int.from_bytes(counter, "big"))


def _master_down_us(personality: str, conf: VhidConf) -> int:
    skew = conf.advskew * US // 256
    if personality == "openbsd":
        return 3 * (conf.advbase * US + skew)
    return 3 * conf.advbase * US + skew


def elect(personality: str, conf: VhidConf, state: str, preempt: int, pkt: Packet) -> str:
    """§4.4 for an accepted advert (no demotion in this world: our demote is 0), with the
    equal-timing rule of carp.4 ("Equal advskew"): the higher sender address stays."""
    p = pkt.payload
    mine = conf.advbase * US + conf.advskew * US // 256
    theirs = p[5] * US + p[2] * US // 256
    my_demote, ch_demote = 0, p[4] if personality == "openbsd" else 0
    if state == "MASTER":
        if mine == theirs and ch_demote == my_demote:
            local = _packed(LOCAL4 if pkt.family == 4 else LOCAL6)
            return "MASTER" if local > pkt.src else "BACKUP"
        if personality == "openbsd":
            yields = (mine > theirs and ch_demote <= my_demote) or ch_demote < my_demote
        else:
            yields = mine > theirs
        return "BACKUP" if yields else "MASTER"
    if preempt and mine < theirs and ch_demote >= my_demote:
        return "MASTER"
    if personality == "openbsd" and ch_demote > my_demote:
        return "MASTER"
    if (personality != "openbsd" or conf.advbase) and mine + 2 * conf.advbase * US < theirs:
        return "MASTER"  # rule 3: slower than 3 x advbase (a bow-out)
    return "BACKUP"


def expect(
    personality: str, state: str, preempt: int, pkt: Packet, running: dict[int, str],
    cookie: dict[int, bytes | None], senders: Senders,
) -> Expect:
    out = validate(personality, pkt, running, cookie, senders)
    if out.drop is None:
        out.state = elect(personality, VHIDS[out.vhid], running[out.vhid], preempt, pkt)
    return out


def master_down_us(personality: str, vhid: int) -> int:
    return _master_down_us(personality, VHIDS[vhid])
