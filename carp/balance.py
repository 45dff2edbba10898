"""carpnodes / arpbalance share selection (§6), pure.

These functions decide which node owns a flow or an ARP requester. carpd
turns the decisions into kernel rules; they are here so the rules can be
derived and tested against the BSD arithmetic.

Two kinds of balancing live here:

* OpenBSD carpnodes (`carpnodes 1:0,2:100 balancing ip|ip-stealth|ip-unicast|arp`):
  `Share` is what the kernel filter of one such interface needs (which frames it owns,
  what it rewrites, who answers neighbour discovery), `ip_fold` and `lsmask` are the
  arithmetic of the per-packet rule the filter implements (carp_lsdrop at its call
  sites, modelled in tests/lsdrop.py), and `neighbour_answer` is carp_iamatch /
  carp_iamatch6.  carp/daemon/lbfilter.py puts them into the kernel; its test runs the
  kernel program against these functions and that model.
* net.inet.carp.arpbalance (NetBSD, FreeBSD <= 9): one carp interface per vhid holding
  the same address; `arp_responder` picks who answers a who-has.

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
from carp.wire import hmac_key, mac_bytes

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
    for word in struct.unpack(f"!{len(s) // 2}I", s + d):
        fold ^= word
    return fold


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


# -- OpenBSD carpnodes balancing (§6.1, §6.2) ------------------------------------------

BALANCED = ("ip", "ip-stealth", "ip-unicast", "arp")
HASH = 0xFF  # a filter entry that hashes the addresses (ip modes) instead of naming a node
LSMASK_BITS = 32  # carp_update_lsmask: only the first 32 nodes fit in sc_lsmask

def lsmask(masters: Sequence[bool]) -> int:
    """carp_update_lsmask: bit i set for node i (vhid order) that is MASTER here."""
    mask = 0
    for i, master in enumerate(masters[:LSMASK_BITS]):
        if master:
            mask |= 1 << i
    return mask


def state_word(masters: Sequence[bool], vhids: Sequence[int]) -> int:
    """The one 64-bit word the kernel filter reads per balanced interface: lsmask in the
    low 32 bits, lscount in bits 32-39, and in bits 40-47 the vhid of the first node
    this host is MASTER of (0: none), whose MAC the arp mode gives a peer it has not
    assigned yet.  carpd stores it with a single machine store (an atomic update)."""
    first = next((v for v, m in zip(vhids, masters, strict=False) if m), 0)
    return lsmask(masters) | min(len(vhids), 255) << 32 | first << 40


@dataclass(frozen=True)
class Answer:
    """A neighbour answer: the link-layer address given, the Ethernet source of the
    frame carrying it (None: the parent interface's own MAC, never a virtual one), and
    the node whose address it is (arp mode; -1 for net.inet.carp.arpbalance)."""

    lladdr: str
    source: str | None
    node: int = 0


@dataclass(frozen=True)
class Share:
    """One carp interface balancing over its carpnodes: the static part of what the
    kernel filter and the neighbour answers need.  Node i is vhids[i] (vhid order)."""

    key: str  # CarpInterface.key
    carpdev: str  # the parent, as the store names it
    mode: str  # one of BALANCED
    vhids: tuple[int, ...]
    mac: str  # the interface's MAC: ifconfig shows it, ip-mode answers carry it
    macvlan_mac: str  # the Linux macvlan's (unicast) MAC: accepted frames go there
    passkey: bytes  # the 20-byte key; arp mode hashes the asker's MAC with it

    @property
    def count(self) -> int:
        return len(self.vhids)

    @property
    def stealth(self) -> bool:
        """carp_start / carp_iamatch: in ip and ip-stealth modes no frame leaves with a
        virtual MAC as its source (ip's is multicast; ip-stealth hides its own)."""
        return self.mode in ("ip", "ip-stealth")

    def node_mac(self, i: int) -> str:
        """The MAC of node i: the interface's own for the leader, else 00:00:5e:00:01:vhid."""
        return self.mac if i == 0 and self.mode == "arp" else virtual_mac(self.vhids[i])

    def accepted_macs(self) -> list[tuple[str, int]]:
        """(destination MAC, node index or HASH): the frames the filter owns.

        ip modes hash every IP packet sent to the interface's MAC (ip: also to the
        unicast form, which the macvlan carries and a peer may have learnt from one of
        the kernel's own requests); arp mode owns each node's MAC, taken only by that
        node's MASTER (carp_ourether)."""
        if self.mode == "arp":
            return [(self.node_mac(i), i) for i in range(self.count)]
        return [(m, HASH) for m in dict.fromkeys((self.mac, self.macvlan_mac))]

    def announced_mac(self) -> str | None:
        """What the kernel's own ARP requests and solicitations from the macvlan must
        announce instead of the macvlan's MAC: ip mode's multicast MAC (None: no
        rewrite; arp mode picks per peer, see carp/daemon/lbfilter.py)."""
        return self.mac if self.mode == "ip" and self.mac != self.macvlan_mac else None


def share(ci: CarpInterface) -> Share | None:
    """The Share of a carp interface in a balancing mode, else None."""
    mode = ci.effective_balancing
    if mode not in BALANCED or not ci.nodes or not ci.parent:
        return None
    vhids = tuple(sorted(n.vhid for n in ci.nodes))
    mac = ci.lladdr or virtual_mac(vhids[0], multicast=mode == "ip")
    unicast = mac if not int(mac[:2], 16) & 1 else virtual_mac(vhids[0])
    return Share(ci.key, ci.parent, mode, vhids, mac.lower(), unicast.lower(),
                 hmac_key(ci.passphrase))


def neighbour_answer(sh: Share, masters: Sequence[bool], sender_mac: str | None) -> Answer | None:
    """carp_iamatch / carp_iamatch6: how this host answers an ARP request or neighbour
    solicitation for a balanced address, or None to stay silent.

    arp mode: node carp_hash(sender MAC) % lscount answers if MASTER here, with its own
    MAC (an NS without a source link-layer option gets no answer).  ip modes: the
    leader's MASTER answers with the interface's MAC, from the parent's own MAC in ip
    and ip-stealth modes (carp_iamatch sets ether_shost)."""
    if sh.mode == "arp":
        if sender_mac is None:
            return None
        i = arp_index(sh.passkey, mac_bytes(sender_mac), sh.count)
        if i < len(masters) and masters[i]:
            mac = sh.node_mac(i)
            return Answer(mac, mac, i)
        return None
    if masters and masters[0]:
        return Answer(sh.mac, None if sh.stealth else sh.mac)
    return None


def advert_source(mode: str, leader: bool, vhid: int, iface_mac: str) -> str | None:
    """carp_start ("Do not leak the multicast address"): the Ethernet source of node
    `vhid`'s advertisements in a balancing mode, None for the parent's own MAC (ip,
    ip-stealth); ip-unicast and arp send each node's from its own virtual MAC."""
    if mode in ("ip", "ip-stealth"):
        return None
    return iface_mac if leader else virtual_mac(vhid)
