"""Frames of the lab (pure: the stdlib and the codec): what the capture decodes, and the
ICMP echo the ping probe sends (ARP requests come from the codec, carp.wire).

The capture keeps only what the scenarios assert on: CARP advertisements (IPv4 and
IPv6), ARP, ICMP echo replies, IPv6 neighbour solicitations and advertisements, and TCP
segments that open or refuse a connection (SYN, RST).  Parsing never raises: an unknown
frame decodes to None."""

from __future__ import annotations

import ipaddress
import struct
from typing import Any

from carp.wire import (
    ETH_P_ARP,
    ETH_P_IP,
    ETH_P_IPV6,
    IPPROTO_CARP,
    Reject,
    checksum,
    decode_vrrp,
    mac_str,
)

IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_ICMPV6 = 58
TCP_SYN, TCP_RST, TCP_ACK = 0x02, 0x04, 0x10


def ip_str(raw: bytes) -> str:
    return str(ipaddress.IPv4Address(raw))


def icmp_echo(ident: int, seq: int, payload: bytes = b"carp-lab") -> bytes:
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    csum = checksum(head + payload)
    return struct.pack("!BBHHH", 8, 0, csum, ident, seq) + payload


def _arp(body: bytes) -> dict[str, Any] | None:
    if len(body) < 28:
        return None
    htype, ptype, hlen, plen, op, sha, spa, tha, tpa = struct.unpack(
        "!HHBBH6s4s6s4s", body[:28]
    )
    if htype != 1 or ptype != ETH_P_IP or hlen != 6 or plen != 4:
        return None
    return {
        "kind": "arp",
        "op": op,
        "sender_mac": mac_str(sha),
        "sender_ip": ip_str(spa),
        "target_mac": mac_str(tha),
        "target_ip": ip_str(tpa),
        # RFC 5227 announcement: sender IP == target IP (carp sends op=1 requests)
        "garp": spa == tpa,
    }


def _carp(src: str, dst: str, ttl: int, data: bytes) -> dict[str, Any] | None:
    """An advertisement record; `ttl` is the IPv4 TTL or the IPv6 hop limit."""
    if len(data) < 8:
        return None
    rec: dict[str, Any] = {"kind": "carp", "src_ip": src, "dst_ip": dst, "ttl": ttl}
    rec["version"], rec["type"] = data[0] >> 4, data[0] & 0x0F
    rec["vhid"] = data[1]
    if rec["version"] == 2:
        rec["advskew"], rec["demote"], rec["advbase"] = data[2], data[4], data[5]
    else:  # VRRPv3: priority, centisecond interval, checksum over the pseudo-header
        rec["priority"] = data[2]
        rec["interval_cs"] = struct.unpack("!H", data[4:6])[0] & 0x0FFF
        rec["sum_ok"] = not isinstance(decode_vrrp(data, src, dst), Reject)
    return rec


def _tcp(src: str, dst: str, data: bytes) -> dict[str, Any] | None:
    """A SYN, SYN-ACK or RST: who opened, accepted or refused which connection."""
    if len(data) < 14 or not data[13] & (TCP_SYN | TCP_RST):
        return None
    sport, dport = struct.unpack("!HH", data[:4])
    return {"kind": "tcp", "src_ip": src, "dst_ip": dst, "sport": sport, "dport": dport,
            "syn": bool(data[13] & TCP_SYN), "ack": bool(data[13] & TCP_ACK),
            "rst": bool(data[13] & TCP_RST)}


def _icmp6(src: str, dst: str, data: bytes) -> dict[str, Any] | None:
    """Neighbour solicitations (135) and advertisements (136), with their options."""
    if len(data) < 24 or data[0] not in (135, 136):
        return None
    rec: dict[str, Any] = {"kind": "ns" if data[0] == 135 else "na", "src_ip": src,
                           "dst_ip": dst, "target": str(ipaddress.IPv6Address(data[8:24]))}
    off = 24
    while off + 8 <= len(data) and data[off + 1]:
        if data[off] in (1, 2) and data[off + 1] == 1:
            rec["lladdr"] = mac_str(data[off + 2 : off + 8])
        off += 8 * data[off + 1]
    return rec


def _ipv6(body: bytes) -> dict[str, Any] | None:
    """CARP, TCP and neighbour discovery over IPv6 without extension headers."""
    if len(body) < 40 or body[0] >> 4 != 6:
        return None
    src = str(ipaddress.IPv6Address(body[8:24]))
    dst = str(ipaddress.IPv6Address(body[24:40]))
    if body[6] == IPPROTO_TCP:
        return _tcp(src, dst, body[40:])
    if body[6] == IPPROTO_ICMPV6:
        return _icmp6(src, dst, body[40:])
    if body[6] != IPPROTO_CARP:
        return None
    rec = _carp(src, dst, body[7], body[40:])
    if rec is not None:
        rec["tclass"] = (struct.unpack("!I", body[:4])[0] >> 20) & 0xFF
    return rec


def _ipv4(body: bytes) -> dict[str, Any] | None:
    if len(body) < 20 or body[0] >> 4 != 4:
        return None
    ihl = (body[0] & 0x0F) * 4
    ttl, proto = body[8], body[9]
    src, dst = ip_str(body[12:16]), ip_str(body[16:20])
    data = body[ihl:struct.unpack("!H", body[2:4])[0]]  # without Ethernet padding
    if proto == IPPROTO_CARP:
        return _carp(src, dst, ttl, data)
    if proto == IPPROTO_TCP:
        return _tcp(src, dst, data)
    if proto == IPPROTO_ICMP and len(data) >= 8 and data[0] == 0:
        ident, seq = struct.unpack("!HH", data[4:8])
        return {"kind": "icmp_reply", "src_ip": src, "dst_ip": dst, "id": ident, "seq": seq}
    return None


def decode(frame: bytes, every: bool = False) -> dict[str, Any] | None:
    """A capture record (without time/port) for an interesting frame, else None; with
    `every`, a bare record of kind "eth" (MACs, ethertype) for any other frame."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    body = frame[14:]
    if ethertype == 0x8100 and len(frame) >= 18:  # one VLAN tag
        ethertype = struct.unpack("!H", frame[16:18])[0]
        body = frame[18:]
    if ethertype == ETH_P_ARP:
        rec = _arp(body)
    elif ethertype == ETH_P_IP:
        rec = _ipv4(body)
    elif ethertype == ETH_P_IPV6:
        rec = _ipv6(body)
    else:
        rec = None
    if rec is None and every:
        rec = {"kind": "eth", "ethertype": ethertype}
    if rec is not None:
        rec["src_mac"] = mac_str(frame[6:12])
        rec["dst_mac"] = mac_str(frame[0:6])
    return rec
