"""CARP advertisement codec: header, checksum, HMAC, counter, virtual MAC (pure).

Byte layouts follow docs/protocol.md §1-3 and §7. Nothing here
opens a socket or reads a clock; `random_counter` may read os.urandom.
Every decode path returns a `Reject` instead of raising, whatever the bytes.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import os
import random
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from carp.config import KEY_LEN

# part of the codec API; kept in carp.mac so the front ends need not load the codec
from carp.mac import virtual_mac as virtual_mac
from carp.personality import DEFAULT, PERSONALITIES, policy
from carp.personality.base import Personality

HEADER_LEN = 36
CARP_VERSION = 2
CARP_ADVERTISEMENT = 1
AUTHLEN = 7  # counter + digest in 32-bit words
COUNTER_LEN = 8
DIGEST_LEN = 20
IPPROTO_CARP = 112
VRRP_VERSION = 3
VRRP_HEADER_LEN = 8

# struct carpstats order (§7); netstat and carpd index by name.
STAT_FIELDS: tuple[str, ...] = (
    "ipackets", "ipackets6", "badif", "badttl", "hdrops", "badsum", "badver", "badlen",
    "badauth", "badvhid", "badaddrs", "opackets", "opackets6", "onomem", "ostates", "preempt",
)
# the counters of received packets dropped (each also counted in ipackets or ipackets6)
DROP_FIELDS: tuple[str, ...] = (
    "badif", "badttl", "hdrops", "badsum", "badver", "badlen", "badauth", "badvhid", "badaddrs",
)


class Reject(enum.Enum):
    """Why a packet was dropped. `.stat` names the carpstats counter it bumps.

    Values equal the counter name except LOOP, which shares `badauth` with
    BAD_AUTH (OpenBSD counts a looped-back cookie as badauth) and so needs its
    own value to stay a distinct member. Always use `.stat` for counting."""

    BAD_TTL = "badttl"
    SHORT_HEADER = "hdrops"
    BAD_CHECKSUM = "badsum"
    BAD_VERSION = "badver"
    TOO_SHORT = "badlen"
    BAD_AUTH = "badauth"
    UNKNOWN_VHID = "badvhid"
    BAD_INTERFACE = "badif"
    BAD_ADDRESSES = "badaddrs"
    LOOP = "loop"

    @property
    def stat(self) -> str:
        return _REJECT_STAT.get(self, self.value)


_REJECT_STAT: dict[Reject, str] = {Reject.LOOP: "badauth"}


def hmac_key(passphrase: str | bytes) -> bytes:
    """The 20-byte kernel key: strlcpy of the passphrase, i.e. 19 bytes and NUL padding.

    A str is the passphrase as Python decoded it from argv (surrogateescape): its bytes
    are the ones typed, whether UTF-8 or not, as the kernels take them."""
    raw = passphrase.encode(errors="surrogateescape") if isinstance(passphrase, str) else passphrase
    return (raw[: KEY_LEN - 1] + b"\0" * KEY_LEN)[:KEY_LEN]


# ---------------------------------------------------------------------------
# The 36-byte advertisement


@dataclass(frozen=True, slots=True)
class Advert:
    """One CARP advertisement header, fields as on the wire (§1.2)."""

    vhid: int
    advskew: int
    advbase: int
    counter: bytes
    digest: bytes
    demote: int = 0
    version: int = CARP_VERSION
    type: int = CARP_ADVERTISEMENT
    authlen: int = AUTHLEN

    @property
    def bow_out(self) -> bool:
        """advbase 255 + advskew 255: the sender is leaving (§4.6)."""
        return self.advbase == 255 and self.advskew == 255


# Frozen dataclasses assign each field through object.__setattr__, about 2 us
# for Advert; decode sets the slots directly, which is several times faster.
_new = object.__new__
_FIELDS = ("vhid", "advskew", "advbase", "counter", "digest", "demote", "version", "type",
           "authlen")
(_set_vhid, _set_advskew, _set_advbase, _set_counter, _set_digest, _set_demote,
 _set_version, _set_type, _set_authlen) = (Advert.__dict__[f].__set__ for f in _FIELDS)


def _fast_advert(
    vt: int, vhid: int, advskew: int, authlen: int, demote: int, advbase: int,
    counter: bytes, digest: bytes,
) -> Advert:
    adv = _new(Advert)
    _set_vhid(adv, vhid)
    _set_advskew(adv, advskew)
    _set_advbase(adv, advbase)
    _set_counter(adv, counter)
    _set_digest(adv, digest)
    _set_demote(adv, demote)
    _set_version(adv, vt >> 4)
    _set_type(adv, vt & 0x0F)
    _set_authlen(adv, authlen)
    return adv


# version/type, vhid, advskew, authlen, demote, advbase, checksum, counter, digest
_HEADER = struct.Struct("!BBBBBBH8s20s")
_CKSUM = struct.Struct("!H")


def checksum(data: bytes | bytearray) -> int:
    """RFC 1071 Internet checksum; 0 when run over a packet whose checksum is right.

    Since 2**16 == 1 (mod 0xffff), the one's-complement sum of the 16-bit words
    is the big integer mod 0xffff, which is much faster than a word loop. The
    folded sum is 0 only for all-zero data, otherwise 0xffff stands for 0."""
    if len(data) & 1:
        data = bytes(data) + b"\0"
    total = int.from_bytes(data, "big") % 0xFFFF
    if total == 0 and any(data):
        total = 0xFFFF
    return ~total & 0xFFFF


def _check_advert(adv: Advert) -> None:
    # struct's "8s"/"20s" would silently pad or cut: refuse wrong lengths instead.
    if len(adv.counter) != COUNTER_LEN or len(adv.digest) != DIGEST_LEN:
        raise ValueError("counter must be 8 bytes and digest 20 bytes")
    if not (0 <= adv.version <= 15 and 0 <= adv.type <= 15):
        raise ValueError("version and type are 4-bit fields")


def encode(adv: Advert) -> bytes:
    """The 36 header bytes with the checksum filled in. Raises ValueError on bad fields."""
    _check_advert(adv)
    try:
        raw = bytearray(_HEADER.pack(
            adv.version << 4 | adv.type, adv.vhid, adv.advskew, adv.authlen,
            adv.demote, adv.advbase, 0, adv.counter, adv.digest,
        ))
    except struct.error as exc:
        raise ValueError(str(exc)) from exc
    _CKSUM.pack_into(raw, 6, checksum(raw))
    return bytes(raw)


def decode(payload: bytes, whole_payload: bool = False) -> Advert | Reject:
    """Parse one advertisement (the IP payload). Never raises.

    Checks length (badlen) and the checksum over the 36 header bytes (badsum),
    or over the whole payload with `whole_payload` (FreeBSD IPv4, §1.3).
    The version is NOT checked: hosts do that after the vhid lookup (§7.1), and
    dispatch VRRPv3 (version nibble 3) before decoding (carp/validation.py)."""
    try:
        if len(payload) < HEADER_LEN:
            return Reject.TOO_SHORT
        head = payload if whole_payload else payload[:HEADER_LEN]
        if checksum(head):
            return Reject.BAD_CHECKSUM
        vt, vhid, advskew, authlen, demote, advbase, _, counter, digest = _HEADER.unpack_from(
            payload
        )
        return _fast_advert(vt, vhid, advskew, authlen, demote, advbase, counter, digest)
    except (TypeError, ValueError, struct.error):  # e.g. not a bytes-like object
        return Reject.TOO_SHORT


# ---------------------------------------------------------------------------
# Counter (§3)


def random_counter(rng: random.Random | None = None) -> bytes:
    """8 random counter bytes, never all zero (OpenBSD treats 0 as "unset")."""
    while True:
        raw = os.urandom(COUNTER_LEN) if rng is None else rng.getrandbits(64).to_bytes(8, "big")
        if any(raw):
            return raw


def counter_start(wall: float, rng: random.Random | None = None) -> int:
    """Where an incrementing counter starts (FreeBSD/NetBSD draw 64 random bits): the
    wall-clock second in the high word and 32 random bits in the low one.  A vhid that
    starts later starts ahead of every counter started before it (for 2**32 adverts),
    so counters of one group stay in one order (carp.4, "Replay")."""
    low = int.from_bytes(os.urandom(4), "big") if rng is None else rng.getrandbits(32)
    return ((int(wall) & 0xFFFF_FFFF) << 32) | low


def counter_to_int(counter: bytes) -> int:
    """The counter as FreeBSD/NetBSD read it: a big-endian uint64."""
    if len(counter) != COUNTER_LEN:
        raise ValueError("counter must be 8 bytes")
    return int.from_bytes(counter, "big")


def int_to_counter(n: int) -> bytes:
    """Big-endian uint64; wraps modulo 2**64 as the kernels' `counter++` does."""
    return (n & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(COUNTER_LEN, "big")


# ---------------------------------------------------------------------------
# HMAC (§2)


def _bare(addr: str) -> str:
    # Accept "192.168.1.1/24" and "fe80::1%eth0" as configuration gives them.
    return addr.split("/", 1)[0].split("%", 1)[0].strip()


def _pack4(addr: str) -> bytes:
    return socket.inet_pton(socket.AF_INET, _bare(addr))


def _pack6(addr: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, _bare(addr))


def _is_linklocal(a: bytes) -> bool:
    return a[0] == 0xFE and (a[1] & 0xC0) == 0x80


def _is_scope_embed(a: bytes) -> bool:
    """IN6_IS_SCOPE_EMBED: link-local unicast, link- or interface-local multicast."""
    return _is_linklocal(a) or (a[0] == 0xFF and (a[1] & 0x0F) in (1, 2))


def _v6_part(v6: Iterable[str], rules: Personality, include_linklocal: bool) -> bytes:
    """Sorted, deduplicated IPv6 addresses with kernel scope bytes zeroed (§2.2/2.3)."""
    zero = _is_scope_embed if rules.hmac_zeroes_multicast_scope else _is_linklocal
    out: set[bytes] = set()
    for addr in v6:
        a = _pack6(addr)
        if rules.hmac_two_contexts and not include_linklocal and _is_scope_embed(a):
            continue  # OpenBSD NOV6LL context skips them entirely
        if zero(a):
            a = a[:2] + b"\0\0" + a[4:]
        out.add(a)
    return b"".join(sorted(out))


def _rules(flavour: str) -> Personality:
    """The personality whose HMAC construction `flavour` names."""
    if flavour not in PERSONALITIES:
        raise ValueError(f"unknown flavour {flavour!r}; expected one of {PERSONALITIES}")
    return policy(flavour)


def _prefix(
    vhid: int,
    v4: Iterable[str],
    v6: Iterable[str],
    mac: bytes | None,
    flavour: str,
    include_linklocal: bool,
) -> bytes:
    """M without the counter: everything the kernel precomputes per vhid."""
    rules = _rules(flavour)
    if not 0 <= vhid <= 255:
        raise ValueError("vhid must be 0..255")
    if mac is not None and len(mac) != 6:
        raise ValueError("mac must be 6 bytes")
    # Only OpenBSD ever mixes in a MAC (custom lladdr on the leader); the caller decides.
    head = b"\x02\x01" + (mac if mac is not None and rules.hashes_lladdr else b"")
    v4_part = b"".join(sorted({_pack4(a) for a in v4}))  # bytes order == uint32 order
    return head + bytes([vhid]) + v4_part + _v6_part(v6, rules, include_linklocal)


class _Context:
    """HMAC-SHA1 with the ipad/opad states precomputed, as the kernels do (§2.2).

    Copying two C sha1 objects is cheaper than hmac.HMAC.copy(), which is
    Python code; the result equals hmac.new(key, prefix + counter, sha1)."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, prefix: bytes) -> None:
        if len(key) > 64:  # RFC 2104: long keys are hashed first
            key = hashlib.sha1(key).digest()
        padded = key.ljust(64, b"\0")
        self._inner = hashlib.sha1(bytes(b ^ 0x36 for b in padded) + prefix)
        self._outer = hashlib.sha1(bytes(b ^ 0x5C for b in padded))

    def digest(self, counter: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(counter)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class Signer:
    """Precomputed HMAC-SHA1 contexts for one vhid; sign/verify cost one copy + update.

    OpenBSD flavour keeps two contexts (§2.3): it signs with NOV6LL and
    accepts NOV6LL or ORIG. Other flavours have one context."""

    __slots__ = ("key", "vhid", "flavour", "_send", "_alt")

    def __init__(
        self,
        key: bytes,
        vhid: int,
        v4: Iterable[str],
        v6: Iterable[str],
        mac: bytes | None = None,
        flavour: str = DEFAULT,
    ) -> None:
        v4, v6 = list(v4), list(v6)
        self.key = key
        self.vhid = vhid
        self.flavour = flavour
        send_prefix = _prefix(vhid, v4, v6, mac, flavour, False)
        self._send = _Context(key, send_prefix)
        self._alt: _Context | None = None
        if _rules(flavour).hmac_two_contexts:
            orig_prefix = _prefix(vhid, v4, v6, mac, flavour, True)
            if orig_prefix != send_prefix:  # only differs when link-locals are present
                self._alt = _Context(key, orig_prefix)

    def sign(self, counter: bytes) -> bytes:
        """20-byte digest over the prepared prefix + counter (OpenBSD: NOV6LL)."""
        return self._send.digest(counter)

    def verify(self, adv: Advert) -> bool:
        """Constant-time digest check; OpenBSD flavour also accepts the ORIG context."""
        if hmac.compare_digest(self._send.digest(adv.counter), adv.digest):
            return True
        alt = self._alt  # (the contexts directly: this runs for every packet received)
        return alt is not None and hmac.compare_digest(alt.digest(adv.counter), adv.digest)


def make_advert(
    signer: Signer, vhid: int, advbase: int, advskew: int, counter: bytes, demote: int = 0
) -> bytes:
    """Sign and encode in one step: the sender's hot path. Raises ValueError on bad fields."""
    if len(counter) != COUNTER_LEN:
        raise ValueError("counter must be 8 bytes")
    try:
        raw = bytearray(_HEADER.pack(
            CARP_VERSION << 4 | CARP_ADVERTISEMENT, vhid, advskew, AUTHLEN, demote, advbase, 0,
            counter, signer.sign(counter),
        ))
    except struct.error as exc:
        raise ValueError(str(exc)) from exc
    _CKSUM.pack_into(raw, 6, checksum(raw))
    return bytes(raw)


# ---------------------------------------------------------------------------
# IP and link layer helpers for carpd's raw sockets


@dataclass(frozen=True)
class IPInfo:
    """What carpd needs from a received datagram's IP header."""

    src: str
    dst: str
    ttl: int
    payload: bytes
    family: int
    proto: int = IPPROTO_CARP


_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_ntoa = socket.inet_ntoa
_AF_INET = int(socket.AF_INET)


def parse_ipv4(datagram: bytes) -> IPInfo | Reject:
    """Split a raw-socket IPv4 datagram (Linux keeps the header, fields in network order).

    A header that is missing or inconsistent is SHORT_HEADER (hdrops). The
    payload is cut at the IP total length; a shorter payload is left for
    `decode` to call TOO_SHORT. Never raises."""
    try:
        if len(datagram) < 20 or datagram[0] >> 4 != 4:
            return Reject.SHORT_HEADER
        vihl, _tos, total, _id, _frag, ttl, proto, _sum, src, dst = _IPV4.unpack_from(datagram)
        ihl = (vihl & 0x0F) * 4
        if ihl < 20 or ihl > len(datagram) or total < ihl:
            return Reject.SHORT_HEADER
        # carpd's receive path: fill the frozen record directly (IPInfo(...) assigns each
        # field through object.__setattr__, half of this function's time under a flood)
        info = _new(IPInfo)
        info.__dict__.update(
            src=_ntoa(src), dst=_ntoa(dst), ttl=ttl,
            payload=bytes(datagram[ihl:min(total, len(datagram))]), family=_AF_INET,
            proto=proto,
        )
        return info
    except (TypeError, ValueError, struct.error):
        return Reject.SHORT_HEADER


def build_ipv4(
    src: str, dst: str, payload: bytes, tos: int, ident: int, ttl: int = 255
) -> bytes:
    """20-byte IPv4 header (DF, protocol 112, header checksum) + payload."""
    hdr = bytearray(_IPV4.pack(
        0x45, tos, 20 + len(payload), ident & 0xFFFF, 0x4000, ttl, IPPROTO_CARP, 0,
        _pack4(src), _pack4(dst),
    ))
    _CKSUM.pack_into(hdr, 10, checksum(hdr))
    return bytes(hdr) + payload


def build_ipv6(
    src: str, dst: str, payload: bytes, next_header: int = IPPROTO_CARP,
    tclass: int = 0, hlim: int = 255,
) -> bytes:
    """40-byte IPv6 header (flow label 0, as BSD sends) + payload."""
    word = (6 << 28) | ((tclass & 0xFF) << 20)
    return (
        struct.pack("!IHBB", word, len(payload), next_header, hlim)
        + _pack6(src) + _pack6(dst) + payload
    )


def mac_bytes(mac: str | bytes) -> bytes:
    """6 bytes from "00:00:5e:00:01:01" (also accepts '-' separators or raw bytes)."""
    if isinstance(mac, bytes | bytearray):
        raw = bytes(mac)
    else:
        raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return raw


def mac_str(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


@functools.lru_cache(maxsize=1024)  # one per vhid and family: every advertisement sent
def ethernet_header(dst_mac: str, src_mac: str, ethertype: int) -> bytes:
    """The 14-byte Ethernet II header."""
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ethertype)


def ethernet_frame(dst_mac: str, src_mac: str, ethertype: int, payload: bytes) -> bytes:
    """Ethernet II header + payload (no padding: the NIC pads to 60)."""
    return ethernet_header(dst_mac, src_mac, ethertype) + payload


ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"


_ARP = struct.Struct("!HHBBH6s4s6s4s")  # Ethernet/IPv4 ARP, 28 bytes


def _arp_frame(eth_dst: str, op: int, sha: str, spa: str, tha: str, tpa: str,
               eth_src: str | None = None) -> bytes:
    arp = _ARP.pack(1, ETH_P_IP, 6, 4, op, mac_bytes(sha), _pack4(spa), mac_bytes(tha),
                    _pack4(tpa))
    return ethernet_frame(eth_dst, eth_src or sha, ETH_P_ARP, arp)


def arp_request(mac: str, ip: str, target_ip: str) -> bytes:
    """A broadcast who-has `target_ip` from (mac, ip), as a host's kernel sends it."""
    return _arp_frame(BROADCAST_MAC, 1, mac, ip, "00:00:00:00:00:00", target_ip)


def gratuitous_arp(mac: str, ip: str) -> bytes:
    """Takeover ARP (§1.5): a broadcast request, sender = target = the virtual IP."""
    return arp_request(mac, ip, ip)


def arp_reply(mac: str, ip: str, to_mac: str, to_ip: str, eth_src: str | None = None) -> bytes:
    """`ip is-at mac`, unicast to the requester (what the kernel would have answered),
    from `eth_src` when the frame must not show `mac` as its source (balancing ip)."""
    return _arp_frame(to_mac, 2, mac, ip, to_mac, to_ip, eth_src)


@dataclass(frozen=True, slots=True)
class ArpRequest:
    sender_mac: str
    sender_ip: str
    target_ip: str


def parse_arp_request(frame: bytes) -> ArpRequest | None:
    """An Ethernet/IPv4 who-has (not a gratuitous one), else None; never raises."""
    if len(frame) < 14 + _ARP.size or frame[12:14] != b"\x08\x06":
        return None
    htype, ptype, hlen, plen, op, sha, spa, _tha, tpa = _ARP.unpack_from(frame, 14)
    if (htype, ptype, hlen, plen, op) != (1, ETH_P_IP, 6, 4, 1) or spa == tpa:
        return None
    return ArpRequest(mac_str(sha), socket.inet_ntoa(spa), socket.inet_ntoa(tpa))


def eui64_linklocal(mac: str) -> str:
    """fe80:: address derived from a MAC (modified EUI-64), as a carp interface gets."""
    hw = bytearray(mac_bytes(mac))
    hw[0] ^= 0x02
    iid = bytes(hw[:3]) + b"\xff\xfe" + bytes(hw[3:])
    return socket.inet_ntop(socket.AF_INET6, b"\xfe\x80" + b"\0" * 6 + iid)


def _icmp6_checksum(src: bytes, dst: bytes, body: bytes) -> int:
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    return checksum(pseudo + body)


def unsolicited_na(
    mac: str, ip6: str, router: bool = False, src_ip6: str | None = None
) -> bytes:
    """Takeover neighbour advertisement (§1.5): to ff02::1, Override set,
    Solicited clear, Router if asked, target link-layer option = `mac`, hop
    limit 255. The source defaults to the EUI-64 link-local of `mac`."""
    src = _pack6(src_ip6 if src_ip6 is not None else eui64_linklocal(mac))
    dst = _pack6("ff02::1")
    flags = 0x20 | (0x80 if router else 0)  # O, and R when forwarding
    opt = bytes([2, 1]) + mac_bytes(mac)  # target link-layer address, 8 bytes
    body = bytearray(struct.pack("!BBHB3x", 136, 0, 0, flags) + _pack6(ip6) + opt)
    _CKSUM.pack_into(body, 2, _icmp6_checksum(src, dst, bytes(body)))
    dgram = build_ipv6(socket.inet_ntop(socket.AF_INET6, src), "ff02::1", bytes(body), 58)
    return ethernet_frame(ipv6_multicast_mac("ff02::1"), mac, ETH_P_IPV6, dgram)


@dataclass(frozen=True, slots=True)
class NeighbourSolicitation:
    eth_src: str
    src_ip: str  # "::" for duplicate address detection
    target: str
    slla: str | None  # the source link-layer address option, if any


_ICMP6_NS, _ICMP6_NA = 135, 136


def parse_neighbour_solicitation(frame: bytes) -> NeighbourSolicitation | None:
    """An Ethernet/IPv6 neighbour solicitation valid per RFC 4861 7.1.1 (hop limit 255,
    code 0, no extension header, well-formed options), else None; never raises."""
    if len(frame) < 14 + 40 + 24 or frame[12:14] != b"\x86\xdd":
        return None
    ip = frame[14:]
    if ip[0] >> 4 != 6 or ip[6] != 58 or ip[7] != 255 or ip[40] != _ICMP6_NS or ip[41] != 0:
        return None
    end = min(len(ip), 40 + struct.unpack_from("!H", ip, 4)[0])
    slla, off = None, 64
    while off + 2 <= end:
        kind, units = ip[off], ip[off + 1]
        if units == 0 or off + 8 * units > end:
            return None
        if kind == 1 and units == 1:
            slla = mac_str(ip[off + 2 : off + 8])
        off += 8 * units
    src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
    return NeighbourSolicitation(mac_str(frame[6:12]), src,
                                 socket.inet_ntop(socket.AF_INET6, ip[48:64]), slla)


def neighbour_advert(lladdr: str, target: str, to_mac: str, to_ip6: str,
                     eth_src: str | None = None) -> bytes:
    """The solicited advertisement answering a solicitation: from `target`, Solicited
    and Override set, target link-layer option `lladdr`, hop limit 255; to ff02::1
    (Solicited clear) when the solicitation came from :: (RFC 4861 7.2.4)."""
    dad = to_ip6 in ("::", "0:0:0:0:0:0:0:0")
    dst6 = "ff02::1" if dad else to_ip6
    src, dst = _pack6(target), _pack6(dst6)
    flags = 0x20 if dad else 0x60  # Override, and Solicited unless answering DAD
    body = bytearray(struct.pack("!BBHB3x", _ICMP6_NA, 0, 0, flags) + src
                     + bytes([2, 1]) + mac_bytes(lladdr))
    _CKSUM.pack_into(body, 2, _icmp6_checksum(src, dst, bytes(body)))
    dgram = build_ipv6(target, dst6, bytes(body), 58)
    eth_dst = ipv6_multicast_mac("ff02::1") if dad else to_mac
    return ethernet_frame(eth_dst, eth_src or lladdr, ETH_P_IPV6, dgram)


@functools.lru_cache(maxsize=256)
def is_multicast(addr: str) -> bool:
    """True for an IPv4 or IPv6 multicast address (a `%scope` suffix is allowed)."""
    host = addr.split("%", 1)[0]
    try:
        if ":" in host:
            return socket.inet_pton(socket.AF_INET6, host)[0] == 0xFF
        return 224 <= socket.inet_pton(socket.AF_INET, host)[0] <= 239
    except OSError:
        return False


@functools.lru_cache(maxsize=64)  # called for every advertisement sent
def ipv4_multicast_mac(group: str) -> str:
    """01:00:5e + the low 23 bits of the group (224.0.0.18 -> 01:00:5e:00:00:12)."""
    a = _pack4(group)
    return mac_str(b"\x01\x00\x5e" + bytes([a[1] & 0x7F]) + a[2:])


@functools.lru_cache(maxsize=64)  # called for every IPv6 advertisement sent
def ipv6_multicast_mac(group: str) -> str:
    """33:33 + the low 32 bits of the group (ff02::12 -> 33:33:00:00:00:12)."""
    return mac_str(b"\x33\x33" + _pack6(group)[12:])


# ---------------------------------------------------------------------------
# FreeBSD VRRPv3 mode (§1.7)


@dataclass(frozen=True, slots=True)
class VrrpAdvert:
    """An RFC 5798 advertisement as FreeBSD `carpver 3` sends it."""

    vrid: int
    priority: int
    interval_cs: int
    addresses: tuple[str, ...]
    version: int = VRRP_VERSION


_VRRP = struct.Struct("!BBBBHH")


def _family_of(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def _pseudo_header(src: str, dst: str, length: int) -> bytes:
    """IPv4 or IPv6 pseudo-header for protocol 112 (the sums are what matter)."""
    if _family_of(src) == socket.AF_INET6:
        return _pack6(src) + _pack6(dst) + struct.pack("!I3xB", length, IPPROTO_CARP)
    return _pack4(src) + _pack4(dst) + struct.pack("!xBH", IPPROTO_CARP, length)


def vrrp_unsealed(adv: VrrpAdvert, family: int) -> bytes:
    """The advertisement with a zero checksum: the sender seals it (`vrrp_seal`) once it
    knows the IP source its pseudo-header covers."""
    pack = _pack6 if family == 6 else _pack4
    addrs = b"".join(pack(a) for a in adv.addresses)
    if not 0 <= adv.interval_cs <= 0x0FFF:
        raise ValueError("interval_cs must be 0..4095")
    try:
        head = _VRRP.pack(
            adv.version << 4 | 1, adv.vrid, adv.priority, len(adv.addresses), adv.interval_cs, 0
        )
    except struct.error as exc:
        raise ValueError(str(exc)) from exc
    return head + addrs


def vrrp_seal(payload: bytes, src: str, dst: str) -> bytes:
    """`payload` with its checksum over the RFC 5798 pseudo-header of `src` -> `dst`."""
    msg = bytearray(payload)
    msg[6:8] = b"\0\0"
    _CKSUM.pack_into(msg, 6, checksum(_pseudo_header(src, dst, len(msg)) + msg))
    return bytes(msg)


def decode_vrrp(payload: bytes, src: str, dst: str) -> VrrpAdvert | Reject:
    """Parse a VRRPv3 advertisement. Never raises.

    Like FreeBSD the checksum covers the whole payload and the address count
    is not validated: addresses are read as far as the payload allows."""
    try:
        if len(payload) < VRRP_HEADER_LEN:
            return Reject.TOO_SHORT
        if payload[0] >> 4 != VRRP_VERSION:
            return Reject.BAD_VERSION
        if checksum(_pseudo_header(src, dst, len(payload)) + bytes(payload)):
            return Reject.BAD_CHECKSUM
        _vt, vrid, prio, count, interval, _sum = _VRRP.unpack_from(payload)
        fam = _family_of(src)
        alen = 16 if fam == socket.AF_INET6 else 4
        n = min(count, (len(payload) - VRRP_HEADER_LEN) // alen)
        addrs = tuple(
            socket.inet_ntop(fam, bytes(payload[8 + i * alen : 8 + (i + 1) * alen]))
            for i in range(n)
        )
        return VrrpAdvert(vrid, prio, interval & 0x0FFF, addrs, payload[0] >> 4)
    except (TypeError, ValueError, OSError, struct.error):  # bad src/dst text included
        return Reject.BAD_ADDRESSES
