"""OpenBSD's carp_lsdrop as its input paths call it: which IP packets a host keeps on a
balanced carp interface (docs/protocol.md §6.1, ip_carp.c).  The model that
tests/unit/test_lbfilter.py runs carpd's kernel program (carp/daemon/lbfilter.py)
against, and that test_balance.py and test_carpnodes.py check against carp.balance's
ip_fold and lsmask; carpd itself never evaluates it (the kernel program does).
"""

from __future__ import annotations

import struct

# icmp_input: types answered by the node itself are hashed like any packet (the
# "reflect" path); errors are hashed on the address pair of the packet they quote,
# so they reach the node that owns that flow; a code icmp_input does not know
# ("badcode") or any other type goes to every node.
_ICMP_REFLECTED = frozenset({8, 13, 17})  # echo, timestamp, mask request
_ICMP_QUOTING = {3: 15, 4: 0, 5: 3, 11: 1, 12: 1}  # type -> the highest code delivered
_ICMP_REDIRECT = 5  # quoting, but without the multicast test of the "deliver" path
_ICMP6_ECHO_REQUEST = 128


def _fold(s: bytes, d: bytes) -> int:
    """ntohl(src ^ dst), IPv6 folding the four words of each (carp_lsdrop)."""
    x = int.from_bytes(s, "big") ^ int.from_bytes(d, "big")
    fold = 0
    while x:
        fold ^= x & 0xFFFF_FFFF
        x >>= 32
    return fold


def _hashed(fold: int, lsmask: int, lscount: int) -> bool:
    if lscount < 1:  # "just to be safe"
        return False
    return bool(lsmask >> (fold % lscount) & 1)


def ip_packet_accepted(packet: bytes, lsmask: int, lscount: int) -> bool:
    """Whether this host keeps one IP packet (from its IP header on) that arrived for a
    balanced carp interface: OpenBSD's carp_lsdrop as ip_input, ip6_input, icmp_input
    and icmp6_input call it.

    * Multicast and limited-broadcast destinations are never dropped.
    * IPv4: index = ntohl(src ^ dst) % lscount, accepted iff bit index of lsmask is set.
      ICMP is exempt at the IP layer; icmp_input hashes echo, timestamp and mask
      requests the same way, hashes errors and redirects on (quoted destination,
      destination) so that they reach the node owning the quoted flow, and drops
      nothing else.  A non-first fragment of ICMP, which carries no type, is hashed
      like any packet (OpenBSD decides after reassembly; the first fragment of an
      echo is hashed alike, so a fragmented echo stays on one node).
    * IPv6: the fold XORs the four words of source and destination; of ICMPv6 only
      echo requests are hashed.  A truncated header is left for the stack to refuse.
    """
    if len(packet) < 20:
        return True
    version = packet[0] >> 4
    if version == 6:
        if len(packet) < 40 or packet[24] == 0xFF:
            return True
        fold = _fold(packet[8:24], packet[24:40])
        if packet[6] == 58 and (len(packet) < 41 or packet[40] != _ICMP6_ECHO_REQUEST):
            return True
        return _hashed(fold, lsmask, lscount)
    if version != 4:
        return True
    dst = packet[16:20]
    if dst[0] >> 4 == 14 or dst == b"\xff\xff\xff\xff":
        return True
    fold = _fold(packet[12:16], dst)
    if packet[9] != 1 or struct.unpack_from("!H", packet, 6)[0] & 0x1FFF:
        return _hashed(fold, lsmask, lscount)
    ihl = (packet[0] & 0x0F) * 4
    if ihl < 20 or len(packet) < ihl + 2:
        return True
    icmp_type, code = packet[ihl], packet[ihl + 1]
    if icmp_type in _ICMP_REFLECTED:
        return _hashed(fold, lsmask, lscount)
    if icmp_type not in _ICMP_QUOTING or code > _ICMP_QUOTING[icmp_type]:
        return True
    quoted = ihl + 8 + 16  # the destination in the quoted IP header
    if len(packet) < quoted + 4:
        return True
    inner_dst = packet[quoted : quoted + 4]
    if icmp_type != _ICMP_REDIRECT and inner_dst[0] >> 4 == 14:
        return True
    return _hashed(_fold(inner_dst, dst), lsmask, lscount)
