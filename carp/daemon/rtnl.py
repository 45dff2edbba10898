"""rtnetlink on a plain socket: the constants, the message layouts and the walk over a
datagram that carpd's three small netlink clients share -- the watchdog (which must not
load pyroute2), the lease writer and the one-link address dump (both on hot paths that
pyroute2's decoding made slow).  Everything else in carpd speaks pyroute2."""

from __future__ import annotations

import struct
from collections.abc import Iterator

# linux/rtnetlink.h, linux/netlink.h
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
SOL_NETLINK = 270

NLMSGHDR = struct.Struct("=IHHII")  # length, type, flags, seq, pid
IFINFOMSG = struct.Struct("=BxHiII")  # family, type, index, flags, change
IFADDRMSG = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
RTATTR = struct.Struct("=HH")  # length, type
ERROR = struct.Struct("=i")  # nlmsgerr's error, negated errno (0: an acknowledgement)


def align(n: int) -> int:
    return (n + 3) & ~3


def messages(data: bytes | memoryview) -> Iterator[tuple[int, int, int, int]]:
    """(type, seq, body start, end) of each netlink message in one datagram.  A length
    shorter than a header ends the datagram as NLMSG_DONE would: nothing after it can be
    read."""
    offset = 0
    while offset + NLMSGHDR.size <= len(data):
        length, kind, _flags, seq, _pid = NLMSGHDR.unpack_from(data, offset)
        if length < NLMSGHDR.size:
            yield NLMSG_DONE, seq, offset, offset
            return
        yield kind, seq, offset + NLMSGHDR.size, offset + length
        offset += align(length)


def attributes(data: bytes | memoryview, offset: int,
               end: int) -> Iterator[tuple[int, bytes | memoryview]]:
    """(type, payload) of each rtattr in data[offset:end]; a truncated one ends them."""
    while offset + RTATTR.size <= end:
        length, kind = RTATTR.unpack_from(data, offset)
        if length < RTATTR.size:
            return
        yield kind & 0x3FFF, data[offset + RTATTR.size : offset + length]
        offset += align(length)
