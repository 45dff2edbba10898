"""CARP advertisement codec: header, checksum, HMAC, counter, virtual MAC (pure)."""

from __future__ import annotations

KEY_LEN = 20  # CARP_KEY_LEN


def hmac_key(passphrase: str | bytes) -> bytes:
    """The 20-byte kernel key: strlcpy of the passphrase, i.e. 19 bytes and NUL padding."""
    raw = passphrase.encode() if isinstance(passphrase, str) else passphrase
    return (raw[: KEY_LEN - 1] + b"\0" * KEY_LEN)[:KEY_LEN]


def virtual_mac(vhid: int, multicast: bool = False) -> str:
    """00:00:5e:00:01:<vhid>, or the 01:00:5e:00:01:<vhid> form of OpenBSD `balancing ip`."""
    return f"{'01' if multicast else '00'}:00:5e:00:01:{vhid:02x}"
