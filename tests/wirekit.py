"""Wire-format helpers the tests build packets and expectations with (not carpd's).

`hmac_message` is written again from docs/protocol.md §2.2 and §2.3 with the ipaddress
module, the rules of each BSD spelled out by name, and nothing from carp.wire but the
counter length: tests check `carp.wire.Signer` against it, so it must not share the
code under test.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from carp.wire import COUNTER_LEN, VrrpAdvert, vrrp_seal, vrrp_unsealed


def _bare(addr: str) -> str:
    return addr.split("/", 1)[0].split("%", 1)[0]


def _scope_embedded(a: ipaddress.IPv6Address, flavour: str) -> bool:
    """Step 5: the addresses whose bytes 2-3 the kernel zeroes (NetBSD: link-local
    unicast only; OpenBSD and FreeBSD: also link- and interface-local multicast)."""
    if a.is_link_local:
        return True
    return flavour != "netbsd" and a.is_multicast and a.packed[1] & 0x0F in (1, 2)


def hmac_message(
    vhid: int,
    v4: Iterable[str],
    v6: Iterable[str],
    counter: bytes,
    mac: bytes | None = None,
    flavour: str = "openbsd",
    include_linklocal: bool = False,
) -> bytes:
    """The bytes M the kernels HMAC (§2.2).  `include_linklocal` is OpenBSD's ORIG
    context (§2.3); without it OpenBSD's NOV6LL, which skips scope-embedded addresses."""
    if flavour not in ("openbsd", "freebsd", "netbsd"):
        raise ValueError(f"unknown flavour {flavour!r}")
    if len(counter) != COUNTER_LEN:
        raise ValueError("counter must be 8 bytes")
    v4_words = sorted({int(ipaddress.IPv4Address(_bare(a))) for a in v4})
    v6_words: set[bytes] = set()
    for text in v6:
        a = ipaddress.IPv6Address(_bare(text))
        if _scope_embedded(a, flavour):
            if flavour == "openbsd" and not include_linklocal:
                continue
            a = ipaddress.IPv6Address(a.packed[:2] + b"\0\0" + a.packed[4:])
        v6_words.add(a.packed)
    lladdr = mac if flavour == "openbsd" and mac is not None else b""
    return (bytes([2, 1]) + lladdr + bytes([vhid])
            + b"".join(w.to_bytes(4, "big") for w in v4_words)
            + b"".join(sorted(v6_words)) + counter)


def encode_vrrp(adv: VrrpAdvert, src: str, dst: str) -> bytes:
    """A whole VRRPv3 advertisement from `src` to `dst`, checksum included: what carpd
    sends once it has sealed the payload carp.vrrp built (carp/daemon/carpdev_io.py)."""
    family = 6 if ":" in src else 4
    return vrrp_seal(vrrp_unsealed(adv, family), src, dst)

