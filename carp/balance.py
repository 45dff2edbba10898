"""carpnodes / arpbalance share selection (§6), pure.

These functions decide which node owns a flow or an ARP requester. carpd
turns the decisions into kernel rules; they are here so the rules can be
derived and tested against the BSD arithmetic.

§N refers to the protocol notes in docs/protocol.md.
"""

from __future__ import annotations

import functools
import hashlib
import socket
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from carp.mac import virtual_mac
from carp.wire import hmac_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.config import CarpInterface
    from carp.personality.base import Personality

_M32 = 0xFFFF_FFFF
_GOLDEN = 0x9E3779B9  # lookup2's initial a


@functools.lru_cache(maxsize=256)  # per key: NetBSD arpbalance hashes every ARP request
def hashkeys(key: bytes) -> tuple[int, int]:
    """(hashkey0, hashkey1) from SHA1(ipad || 02 01), words read little-endian (x86 host)."""
    ipad = bytes(b ^ 0x36 for b in key.ljust(64, b"\0"))
    w = struct.unpack("<5I", hashlib.sha1(ipad + b"\x02\x01").digest())
    return w[0] ^ w[1], w[2] ^ w[3]


def _mix(a: int, b: int, c: int) -> int:
    """Bob Jenkins' lookup2 mix on 32-bit words; returns c."""
    a = ((a - b - c) & _M32) ^ (c >> 13)
    b = ((b - c - a) & _M32) ^ ((a << 8) & _M32)
    c = ((c - a - b) & _M32) ^ (b >> 13)
    a = ((a - b - c) & _M32) ^ (c >> 12)
    b = ((b - c - a) & _M32) ^ ((a << 16) & _M32)
    c = ((c - a - b) & _M32) ^ (b >> 5)
    a = ((a - b - c) & _M32) ^ (c >> 3)
    b = ((b - c - a) & _M32) ^ ((a << 10) & _M32)
    c = ((c - a - b) & _M32) ^ (b >> 15)
    return c


def carp_hash(key: bytes, hashkey: tuple[int, int], mac: bytes) -> int:
    """OpenBSD/NetBSD carp_hash over a 6-byte MAC (§6.3 steps 2-4), a uint32."""
    if len(mac) != 6 or len(key) < 4:
        raise ValueError("mac must be 6 bytes and key at least 4")
    a = (_GOLDEN + int.from_bytes(mac[0:4], "little")) & _M32
    b = (hashkey[0] + int.from_bytes(mac[4:6], "little")) & _M32
    c = (hashkey[1] + int.from_bytes(key[0:4], "little")) & _M32
    return _mix(a, b, c)


def arp_index(key: bytes, sender_mac: bytes, count: int) -> int:
    """Node index answering an ARP from `sender_mac` (OpenBSD arp mode, NetBSD arpbalance)."""
    if count < 1:
        raise ValueError("count must be >= 1")
    return carp_hash(key, hashkeys(key), sender_mac) % count


def _packed(addr: str) -> bytes:
    bare = addr.split("%", 1)[0]
    return socket.inet_pton(socket.AF_INET6 if ":" in bare else socket.AF_INET, bare)


def ip_fold(src: str, dst: str) -> int:
    """src XOR dst folded to 32 bits (IPv6: XOR of all eight words), read big-endian."""
    s, d = _packed(src), _packed(dst)
    if len(s) != len(d):
        raise ValueError("src and dst must be the same address family")
    fold = 0
    for word in struct.unpack(f"!{len(s) // 4}I", s) + struct.unpack(f"!{len(d) // 4}I", d):
        fold ^= word
    return fold


def _always_accepted(dst: bytes) -> bool:
    # Multicast and limited broadcast (incl. CARP ads) bypass the hash (§6.2).
    if len(dst) == 4:
        return dst[0] >> 4 == 14 or dst == b"\xff\xff\xff\xff"
    return dst[0] == 0xFF


def ip_accepts(src: str, dst: str, lsmask: int, lscount: int) -> bool:
    """Whether this node keeps the packet under `balancing ip*` (§6.2).

    Subnet-directed broadcasts need the prefix, so carpd must exempt them itself."""
    if _always_accepted(_packed(dst)):
        return True
    if lscount < 1:
        return False
    return bool(lsmask >> (ip_fold(src, dst) % lscount) & 1)


def freebsd_arpbalance_index(sender_ip: str, count: int) -> int:
    """FreeBSD <= 9 arpbalance: `ntohl(isaddr->s_addr) % count`, the sender address read
    big-endian.  (Reference 6.4 says host order without ntohl; FreeBSD's ip_carp.c, and
    DragonFly's copy of it, have the ntohl.)"""
    if count < 1:
        raise ValueError("count must be >= 1")
    return int.from_bytes(socket.inet_pton(socket.AF_INET, sender_ip), "big") % count


@dataclass(frozen=True)
class ArpMember:
    """One carp interface holding an ARP-balanced address on the carpdev."""

    vhid: int
    key: bytes  # its 20-byte kernel key (NetBSD hashes with each interface's own)
    mac: str  # what it answers with: its virtual MAC
    master: bool


def arp_responder(
    rules: Personality, members: Sequence[ArpMember], sender_mac: bytes, sender_ip: str
) -> ArpMember | None:
    """The member that answers a who-has, or None when the share is another host's.

    Members are taken in vhid order (the kernels' list order).  NetBSD (§6.3): each
    interface i answers iff carp_hash(its key, sender MAC) % count == i and it is
    MASTER.  FreeBSD <= 9 and OpenBSD 3.x, whose code FreeBSD imported (§6.4): the
    sender IP picks one member, which answers iff MASTER."""
    ordered = sorted(members, key=lambda m: m.vhid)
    if not ordered:
        return None
    if rules.arpbalance_hashes_mac:
        for i, m in enumerate(ordered):
            if m.master and arp_index(m.key, sender_mac, len(ordered)) == i:
                return m
        return None
    chosen = ordered[freebsd_arpbalance_index(sender_ip, len(ordered))]
    return chosen if chosen.master else None


def arp_members(
    interfaces: Iterable[CarpInterface], masters: set[tuple[str, int]]
) -> dict[tuple[str, str], list[ArpMember]]:
    """(carpdev, IPv4 address) -> the carp interfaces (one vhid each, running) that hold
    it there; `masters` are the (interface key, vhid) pairs this host is MASTER of."""
    out: dict[tuple[str, str], list[ArpMember]] = {}
    for ci in interfaces:
        if ci.style != "clone" or len(ci.nodes) != 1:
            continue
        member = ArpMember(ci.vhid, hmac_key(ci.passphrase), ci.lladdr or virtual_mac(ci.vhid),
                           (ci.key, ci.vhid) in masters)
        for a in ci.addresses:
            if a.family == 4:
                out.setdefault((str(ci.carpdev), a.address), []).append(member)
    return out


def balanced_addresses(members: dict[tuple[str, str], list[ArpMember]]) -> dict[str, set[str]]:
    """carpdev -> the addresses carpd answers ARP for itself: those shared by two or more
    carp interfaces while arpbalance is on (one alone answers as usual)."""
    out: dict[str, set[str]] = {}
    for (dev, addr), held in members.items():
        if len(held) > 1:
            out.setdefault(dev, set()).add(addr)
    return out
