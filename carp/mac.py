"""The CARP virtual MAC (pure, no imports: the front ends load it on every start)."""

from __future__ import annotations

VIRTUAL_MAC_PREFIX = "00:00:5e:00:01:"  # the IANA VRRP block, vhid in the last byte
PARENT_MAC = "parent"  # stands for the carpdev's own MAC, which only carpd knows


def virtual_mac(vhid: int, multicast: bool = False) -> str:
    """00:00:5e:00:01:<vhid>, or the 01:00:5e:00:01:<vhid> form of OpenBSD `balancing ip`."""
    return f"{'01' if multicast else '00'}{VIRTUAL_MAC_PREFIX[2:]}{vhid:02x}"
