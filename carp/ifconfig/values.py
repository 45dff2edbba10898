"""Value parsers with the C library semantics BSD ifconfig relies on.

strtonum(3) (OpenBSD), atoi(3) (FreeBSD), inet_aton(3) (addresses and netmasks in
every dotted, hex or shortened form), and the classful default mask the BSD kernels
give an address set without one.  Pure functions; errors come back as values or as
`ValueError` with the BSD wording for the caller to wrap.
"""

from __future__ import annotations

from carp.cmodules import socket as _socket

# No `re` here: ifconfig would pay ~8 ms at start-up for it (with enum, functools and
# collections).  str.isspace() and str.isdecimal() are exactly re's \s and \d.
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _integer_end(text: str) -> int:
    """The length of the `[+-]?\\d+` that text starts with, 0 when it starts with none."""
    i = 1 if text[:1] in ("+", "-") else 0
    j = i
    while j < len(text) and text[j].isdecimal():
        j += 1
    return j if j > i else 0


def strtonum(text: str, low: int, high: int) -> tuple[int, str | None]:
    """(value, errstr) like OpenBSD strtonum(3): errstr is invalid/too small/too large."""
    number = text.lstrip()  # `\s*([+-]?\d+)`, the whole word
    if not number or _integer_end(number) != len(number):
        return 0, "invalid"
    value = int(number)
    if value < low:
        return 0, "too small"
    if value > high:
        return 0, "too large"
    return value, None


def atoi(text: str) -> int:
    """atoi(3): leading digits, anything else ignored, 0 when there are none."""
    number = text.lstrip()  # `\s*([+-]?\d+)` and whatever follows
    end = _integer_end(number)
    if not end:
        return 0
    value = int(number[:end])
    # atoi of an out-of-range number is undefined; C libraries saturate/wrap to int.
    return max(min(value, 2**31 - 1), -(2**31))


def decimal(text: str, low: int, high: int) -> int | None:
    """NetBSD's table parser: a decimal integer within [low, high], else None."""
    if not text or _integer_end(text) != len(text):  # `[+-]?\d+`, the whole word
        return None
    value = int(text)
    return value if low <= value <= high else None


def inet_aton(text: str) -> str | None:
    """The dotted quad of any inet_aton(3) form ("10.1", "0xc0a80101"), else None."""
    if not text or any(c.isspace() for c in text) or "\0" in text:
        return None  # glibc stops at white space; BSD would reject the word
    try:
        return _socket.inet_ntoa(_socket.inet_aton(text))
    except (OSError, ValueError):
        return None


def inet6(text: str) -> str | None:
    """The canonical text of an IPv6 address, else None."""
    if not text or "\0" in text:
        return None
    try:
        return _socket.inet_ntop(_socket.AF_INET6, _socket.inet_pton(_socket.AF_INET6, text))
    except (OSError, ValueError):
        return None


def is_inet(text: str) -> bool:
    """A strict numeric dotted quad (for peers, which BSD resolves with inet_pton)."""
    try:
        _socket.inet_pton(_socket.AF_INET, text)
    except (OSError, ValueError):
        return False
    return True


def mask_to_prefixlen(mask: str, bits: int = 32) -> int | None:
    """The prefix length of a contiguous mask, None for a non-contiguous one."""
    raw = _socket.inet_pton(_socket.AF_INET6 if bits == 128 else _socket.AF_INET, mask)
    value = int.from_bytes(raw, "big")
    inverted = ~value & ((1 << bits) - 1)
    if inverted & (inverted + 1):
        return None
    return bits - inverted.bit_length()


def parse_netmask(text: str, bits: int = 32) -> int | None | str:
    """A netmask word -> prefix length; None if non-contiguous; "bad" if unparsable."""
    if bits == 32:
        dotted = inet_aton(text)
        if dotted is None:
            return "bad"
        return mask_to_prefixlen(dotted)
    canon = inet6(text)
    if canon is None:
        return "bad"
    return mask_to_prefixlen(canon, 128)


def classful_prefixlen(address: str) -> int:
    """The mask a BSD kernel gives an IPv4 address set without one (IN_CLASSA/B/C)."""
    first = int(address.split(".", 1)[0])
    if first < 128:
        return 8
    if first < 192:
        return 16
    if first < 224:
        return 24
    return 32


def mac(text: str) -> str | None:
    """ether_aton(3): six ':'-separated hex bytes of one or two digits, normalised."""
    parts = text.split(":")
    if len(parts) != 6 or not all(0 < len(p) <= 2 and _HEX_DIGITS.issuperset(p) for p in parts):
        return None
    return ":".join(f"{int(p, 16):02x}" for p in parts)
