"""A mutation fuzzer of our own, deterministic from its seed (no dependency beyond random).

Each input is one context byte and one IP datagram (see oracle.split).  `Mutator.next`
picks a seed input (the checked-in corpus, plus inputs that showed a new outcome) and
stacks one to six mutations on it:

* bytes: bit flips, interesting byte values, insertions, deletions, duplications,
  truncation at and around the header boundaries, extension (up to jumbo sizes),
  splices of two inputs;
* header fields (structure-aware): IPv4 TTL, protocol, IHL, total length, addresses;
  IPv6 hop limit, next header, payload length, addresses; CARP version, type, vhid,
  advskew, authlen, demote, advbase, counter (random, the target's own cookie, a
  counter the target already accepted, one just after it) and digest;
* fix-ups after a field mutation, each at random, so that inputs get past the early
  checks and reach the later ones: the IP lengths, the CARP checksum (over 36 bytes or
  the whole payload), and the HMAC, signed with the right key, a wrong key, or the
  address list of another vhid;
* the context byte (which interface the packet arrived on);
* and now and then bytes from nowhere: a random blob of random length.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import struct
from collections.abc import Callable

from tests.fuzz import oracle
from tests.fuzz.world import KEY, VHIDS, Target

CARP_LEN = 36
BOUNDARIES = (0, 1, 7, 8, 9, 19, 20, 21, 35, 36, 37, 39, 40, 41, 55, 56, 57, 75, 76, 77)
INTERESTING = (0x00, 0x01, 0x02, 0x03, 0x07, 0x0F, 0x10, 0x20, 0x21, 0x31, 0x40, 0x45, 0x60,
               0x70, 0x7F, 0x80, 0xC8, 0xEF, 0xF0, 0xFE, 0xFF)
SKEWS = (0, 1, 49, 50, 51, 99, 100, 199, 200, 201, 239, 240, 241, 254, 255)
BASES = (0, 1, 2, 3, 4, 255)
VHID_VALUES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 254, 255)
TTLS = (255, 254, 1, 0, 64, 128, 127)
SRC4 = ("10.0.0.2", "10.0.0.1", "10.0.0.0", "10.0.0.3", "192.168.1.1", "0.0.0.0")
DST4 = ("224.0.0.18", "224.0.0.19", "10.0.0.1", "10.0.0.2", "255.255.255.255", "239.1.1.1")
SRC6 = ("fe80::2", "fe80::1", "fe80::", "fe80::3", "2001:db8:1::1", "::")
DST6 = ("ff02::12", "ff02::1", "fe80::1", "ff05::12", "2001:db8::9")
WRONG_KEY = b"not-the-pass".ljust(20, b"\0")
MAX_LEN = 9216  # a jumbo frame's worth
MASK64 = (1 << 64) - 1
POOL_MAX = 600


def _ip(addr: str) -> bytes:
    import ipaddress

    return ipaddress.ip_address(addr).packed


def carp_offset(data: bytes) -> tuple[int, int] | None:
    """(family, offset of the CARP header in `data`) when the IP header can be found."""
    if len(data) < 2:
        return None
    v = data[1] >> 4
    if v == 6:
        return 6, 41
    if v == 4:
        return 4, 1 + (data[1] & 0x0F) * 4
    return None


def fix_lengths(buf: bytearray) -> None:
    lay = carp_offset(bytes(buf[:2]))
    if lay is None:
        return
    fam, _off = lay
    if fam == 4 and len(buf) >= 5:
        struct.pack_into("!H", buf, 3, min(len(buf) - 1, 0xFFFF))
    elif fam == 6 and len(buf) >= 7:
        struct.pack_into("!H", buf, 5, max(0, min(len(buf) - 41, 0xFFFF)))


def fix_checksum(buf: bytearray, whole: bool) -> None:
    """The CARP checksum over 36 bytes (whole: over the whole IP payload)."""
    lay = carp_offset(bytes(buf[:2]))
    if lay is None or len(buf) < lay[1] + 8:
        return
    off = lay[1]
    buf[off + 6:off + 8] = b"\0\0"
    data = bytes(buf[off:] if whole else buf[off:off + CARP_LEN])
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", buf, off + 6, ~total & 0xFFFF)


class Mutator:
    def __init__(self, seed: int, corpus: list[bytes]) -> None:
        self.rng = random.Random(seed)
        self.corpus = [c for c in corpus if c]
        self.pool: list[bytes] = []
        self._byte_ops: list[Callable[[bytearray], None]] = [
            self._flip, self._flip, self._set_byte, self._insert, self._delete,
            self._duplicate, self._truncate, self._extend, self._splice, self._context,
        ]

    def add(self, data: bytes) -> None:
        """An input that showed something new: mutate it further too."""
        if len(self.pool) >= POOL_MAX:
            self.pool[self.rng.randrange(POOL_MAX)] = data
        else:
            self.pool.append(data)

    def next(self, target: Target) -> bytes:
        rng = self.rng
        if rng.random() < 0.03:
            n = rng.choice((rng.randrange(0, 80), rng.randrange(0, 1600)))
            return bytes(rng.getrandbits(8) for _ in range(n + 1))
        seeds = self.pool if self.pool and rng.random() < 0.4 else self.corpus
        buf = bytearray(rng.choice(seeds))
        for _ in range(1 + min(5, int(rng.expovariate(0.9)))):
            if rng.random() < 0.55:
                self._field(buf, target)
            else:
                rng.choice(self._byte_ops)(buf)
            if len(buf) > MAX_LEN:
                del buf[MAX_LEN:]
        return bytes(buf)

    # -- byte level ----------------------------------------------------------------------

    def _pos(self, buf: bytearray) -> int:
        return self.rng.randrange(len(buf)) if buf else 0

    def _flip(self, buf: bytearray) -> None:
        for _ in range(self.rng.choice((1, 1, 1, 2, 3, 8))):
            if buf:
                i = self._pos(buf)
                buf[i] ^= 1 << self.rng.randrange(8)

    def _set_byte(self, buf: bytearray) -> None:
        if buf:
            buf[self._pos(buf)] = self.rng.choice(INTERESTING)

    def _insert(self, buf: bytearray) -> None:
        rng = self.rng
        n = rng.choice((1, 1, 2, 4, rng.randrange(1, 64)))
        blob = bytes(rng.getrandbits(8) for _ in range(n)) if rng.random() < 0.5 else bytes(n)
        i = rng.randrange(len(buf) + 1)
        buf[i:i] = blob

    def _delete(self, buf: bytearray) -> None:
        if buf:
            i = self._pos(buf)
            del buf[i:i + self.rng.choice((1, 1, 2, 4, 8, 36))]

    def _duplicate(self, buf: bytearray) -> None:
        if buf:
            i = self._pos(buf)
            chunk = buf[i:i + self.rng.randrange(1, 48)]
            j = self.rng.randrange(len(buf) + 1)
            buf[j:j] = chunk

    def _truncate(self, buf: bytearray) -> None:
        rng = self.rng
        lay = carp_offset(bytes(buf[:2]))
        base = lay[1] if lay else 1
        cut = rng.choice((base + rng.choice(BOUNDARIES) - 20, rng.choice(BOUNDARIES),
                          rng.randrange(len(buf) + 1)))
        del buf[max(0, cut):]

    def _extend(self, buf: bytearray) -> None:
        rng = self.rng
        n = rng.choice((1, 2, 3, 4, 28, 64, 1500 - len(buf), rng.randrange(1, MAX_LEN)))
        n = max(1, n)
        buf += bytes(n) if rng.random() < 0.5 else bytes(rng.getrandbits(8) for _ in range(n))
        if rng.random() < 0.7:
            fix_lengths(buf)

    def _splice(self, buf: bytearray) -> None:
        other = self.rng.choice(self.corpus)
        i, j = self.rng.randrange(len(buf) + 1), self.rng.randrange(len(other) + 1)
        buf[i:] = other[j:]

    def _context(self, buf: bytearray) -> None:
        if buf:
            buf[0] ^= 1

    # -- header fields -------------------------------------------------------------------

    def _field(self, buf: bytearray, target: Target) -> None:
        rng = self.rng
        lay = carp_offset(bytes(buf[:2]))
        if lay is None:
            return self._flip(buf)
        fam, off = lay
        if rng.random() < 0.3:
            self._ip_field(buf, fam)
        elif len(buf) >= off + CARP_LEN:
            self._carp_field(buf, off, target)
        else:
            buf += bytes(off + CARP_LEN - len(buf))
        r = rng.random()
        if r < 0.5:
            fix_lengths(buf)
        if len(buf) >= off + CARP_LEN and rng.random() < 0.7:
            self._sign(buf, off, target)
        if rng.random() < 0.85:
            fix_checksum(buf, whole=rng.random() < 0.5)
        return None

    def _ip_field(self, buf: bytearray, fam: int) -> None:
        rng = self.rng
        if fam == 4 and len(buf) >= 21:
            which = rng.randrange(7)
            if which == 0:
                buf[9] = rng.choice(TTLS)
            elif which == 1:
                buf[10] = rng.choice((112, 112, 17, 0, 255))
            elif which == 2:
                buf[1] = 0x40 | rng.choice((0, 4, 5, 5, 5, 6, 15))
            elif which == 3:
                struct.pack_into("!H", buf, 3, rng.choice((0, 19, 20, 55, 56, 57, 0xFFFF)))
            elif which == 4:
                buf[13:17] = _ip(rng.choice(SRC4))
            elif which == 5:
                buf[17:21] = _ip(rng.choice(DST4))
            else:
                buf[1] = rng.choice((0x45, 0x65, 0x05, 0xF5, 0x55))
        elif fam == 6 and len(buf) >= 41:
            which = rng.randrange(6)
            if which == 0:
                buf[8] = rng.choice(TTLS)
            elif which == 1:
                buf[7] = rng.choice((112, 112, 0, 58, 60))
            elif which == 2:
                struct.pack_into("!H", buf, 5, rng.choice((0, 35, 36, 37, 0xFFFF)))
            elif which == 3:
                buf[9:25] = _ip(rng.choice(SRC6))
            elif which == 4:
                buf[25:41] = _ip(rng.choice(DST6))
            else:
                buf[1] = rng.choice((0x60, 0x40, 0x70, 0x00))

    def _carp_field(self, buf: bytearray, off: int, target: Target) -> None:
        rng = self.rng
        which = rng.randrange(10)
        if which == 0:
            version = rng.choice((2, 2, 3, 3, 0, 1, 4, 15, rng.randrange(16)))
            buf[off] = version << 4 | (buf[off] & 0x0F)
        elif which == 1:
            buf[off] = (buf[off] & 0xF0) | rng.choice((1, 0, 2, 15))
        elif which == 2:
            buf[off + 1] = rng.choice(VHID_VALUES) if rng.random() < 0.8 else rng.randrange(256)
        elif which == 3:
            buf[off + 2] = rng.choice(SKEWS)
        elif which == 4:
            buf[off + 3] = rng.choice((7, 7, 0, 6, 8, 255))
        elif which == 5:
            buf[off + 4] = rng.choice((0, 0, 1, 2, 255))
        elif which == 6:
            buf[off + 5] = rng.choice(BASES)
        elif which == 7:
            buf[off + 2] = buf[off + 5] = 255  # a bow-out
        elif which == 8:
            buf[off + 8:off + 16] = self._counter(bytes(buf[off + 8:off + 16]), buf[off + 1],
                                                  target)
        else:
            i = off + 16 + rng.randrange(20)
            buf[i] ^= 1 << rng.randrange(8)

    def _counter(self, old: bytes, vhid: int, target: Target) -> bytes:
        rng = self.rng
        n = int.from_bytes(old, "big")
        choices: list[int] = [rng.getrandbits(64), 0, n + 1, n - 1, (1 << 64) - 1, n + (1 << 63)]
        cookie = target.cookie(vhid)
        if cookie is not None:
            choices += [int.from_bytes(cookie, "big")] * 3
        for c in (target.own_counter(vhid), target.heard.get(vhid)):
            if c is not None:
                choices += [c, c, c - 1, c + 1, c + 2]
        return (rng.choice(choices) & MASK64).to_bytes(8, "big")

    def _sign(self, buf: bytearray, off: int, target: Target) -> None:
        """Sign with the right key (mostly), a wrong key, or another vhid's address list."""
        rng = self.rng
        vhid = buf[off + 1]
        last = target.heard.get(vhid)
        if last is not None and rng.random() < 0.5:  # a live peer: just after the last heard
            buf[off + 8:off + 16] = ((last + rng.randrange(1, 4)) & MASK64).to_bytes(8, "big")
        counter = bytes(buf[off + 8:off + 16])
        r = rng.random()
        pers = target.personality
        if vhid not in VHIDS:
            vhid = rng.choice(list(VHIDS))
        if r < 0.75:
            dig = oracle.digest(pers, vhid, counter, KEY, alt=rng.randrange(2))
        elif r < 0.9:
            dig = oracle.digest(pers, vhid, counter, WRONG_KEY)
        else:  # right key, but an address list that differs from the receiver's
            prefix = rng.choice(_mismatched(pers, vhid))
            dig = hmac.new(KEY, prefix + counter, hashlib.sha1).digest()
        buf[off + 16:off + 36] = dig


def _mismatched(personality: str, vhid: int) -> list[bytes]:
    """HMAC messages (without the counter) of a peer configured with other addresses:
    one more, one fewer, one different, the lists unsorted, or another vhid's."""
    found = _MISMATCHED.get((personality, vhid))
    if found is None:
        right = oracle.hmac_prefixes(personality, VHIDS[vhid])[0]
        head, addrs = right[:3], right[3:]
        found = [
            right + bytes([192, 168, 9, 9]),
            head + addrs[4:] if len(addrs) > 4 else head,
            right[:-1] + bytes([right[-1] ^ 1]) if addrs else head + bytes(4),
            head + addrs[4:] + addrs[:4] if len(addrs) > 4 else head + b"\0" * 16,
            b"\x02\x01" + bytes([vhid % 6 + 1]) + addrs,
        ]
        _MISMATCHED[(personality, vhid)] = found
    return found


_MISMATCHED: dict[tuple[str, int], list[bytes]] = {}
