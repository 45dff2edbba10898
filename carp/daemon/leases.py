"""Virtual addresses held as leases (carp.lease): Linux addresses with a lifetime, written
and renewed over a plain rtnetlink socket, many addresses in one sendmsg.

One RTM_NEWADDR with NLM_F_CREATE|NLM_F_REPLACE per address both adds it (with its
lifetime) and renews it: the kernel restarts the lifetime of an address that exists
(inet_rtm_newaddr / inet6_rtm_newaddr -> set_ifa_lifetime / inet6_addr_modify) and
creates one that does not, so a lease that lapsed while carpd stalled comes back with the
next renewal.  rtnetlink handles a request inside the sendmsg that carries it, so its
errors are already queued when sendmsg returns: a renewal of 255 vhids costs one
sendmsg and one recv that finds nothing, and never waits.

The messages are built here with struct (no pyroute2 on the renewal path) and are the
same for the first add (set_master) and every renewal, so a renewal always matches the
address it renews (same local address, prefix and, for IPv6, flags); a renewal's bytes
are built once and kept.

The kernel announces every renewal to rtnetlink listeners; `quiet_filter` is the classic
BPF program with which carpd's own link/address monitor ignores its macvlans' addresses
(parsing 500 such announcements a second cost more than the renewals themselves).
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import socket
import struct
import sys
from collections.abc import Iterable

from carp.config import Address
from carp.daemon.rtnl import (
    ERROR,
    IFADDRMSG,
    NLM_F_ACK,
    NLM_F_REQUEST,
    NLMSG_ERROR,
    NLMSGHDR,
    RTATTR,
    RTM_DELADDR,
    RTM_NEWADDR,
    SOL_NETLINK,
    messages,
)

NLM_F_REPLACE, NLM_F_CREATE = 0x100, 0x400
IFA_ADDRESS, IFA_LOCAL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 4, 6, 8
IFA_F_NODAD = 0x02  # IPv6: a virtual address is expected on two hosts, never "tentative"
NETLINK_CAP_ACK = 10  # errors without the request echoed back
BATCH_BYTES = 60_000  # per sendmsg, well under the socket's send buffer
SO_ATTACH_FILTER, SO_DETACH_FILTER = 26, 27

_CACHEINFO = struct.Struct("=IIII")


def _attr(kind: int, data: bytes) -> bytes:
    raw = RTATTR.pack(RTATTR.size + len(data), kind) + data
    return raw + bytes(-len(raw) % 4)


def address_message(seq: int, index: int, addr: Address, seconds: int, ack: bool) -> bytes:
    """RTM_NEWADDR (create or replace) of `addr` on link `index`, valid and preferred for
    `seconds`."""
    iface = ipaddress.ip_interface(f"{addr.address}/{addr.prefixlen}")
    packed = iface.ip.packed
    body = b""
    if iface.version == 4:
        family, flags = socket.AF_INET, 0
        body += _attr(IFA_LOCAL, packed) + _attr(IFA_ADDRESS, packed)
        if addr.prefixlen < 31:
            brd = addr.broadcast or str(iface.network.broadcast_address)
            body += _attr(IFA_BROADCAST, socket.inet_aton(brd))
    else:
        family, flags = socket.AF_INET6, IFA_F_NODAD
        body += _attr(IFA_ADDRESS, packed) + _attr(IFA_FLAGS, struct.pack("=I", flags))
    body += _attr(IFA_CACHEINFO, _CACHEINFO.pack(seconds, seconds, 0, 0))
    body = IFADDRMSG.pack(family, addr.prefixlen, flags, 0, index) + body
    nl_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | (NLM_F_ACK if ack else 0)
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), RTM_NEWADDR, nl_flags, seq, 0) + body


def errors(data: bytes | memoryview) -> dict[int, int]:
    """seq -> errno of every NLMSG_ERROR in `data` (0 for an acknowledgement)."""
    return {seq: -ERROR.unpack_from(data, body)[0] for kind, seq, body, end in messages(data)
            if kind == NLMSG_ERROR and end - body >= ERROR.size}


# classic BPF (linux/filter.h); loads read network byte order, netlink is host order
_BPF_LDH, _BPF_LDW, _BPF_JEQ, _BPF_RET = 0x28, 0x20, 0x15, 0x06
_BPF_INSN = struct.Struct("=HBBI")
_BPF_MAXINSNS = 4096  # linux/bpf_common.h: the kernel refuses a longer program


def _net16(value: int) -> int:
    return int.from_bytes(value.to_bytes(2, sys.byteorder), "big")


def _net32(value: int) -> int:
    return int.from_bytes(value.to_bytes(4, sys.byteorder), "big")


def quiet_filter(indexes: Iterable[int]) -> bytes | None:
    """A socket filter for a netlink monitor that drops RTM_NEWADDR / RTM_DELADDR of the
    links `indexes` and passes every other message; None when there are too many.

    Each index test has its own drop right after it, so every jump is short (a jump
    offset is one byte): ~2,000 macvlans fit, where one shared drop at the end stopped at
    255 and, beyond, left the monitor to parse every lease renewal in Python (at 1,000
    MASTER vhids, a thousand messages a second).  Tests are for equality only: the
    index is loaded in network byte order, which does not keep host order."""
    insns = [
        (_BPF_LDH, 0, 0, 4),  # nlmsg_type
        (_BPF_JEQ, 2, 0, _net16(RTM_NEWADDR)),  # -> load the index
        (_BPF_JEQ, 1, 0, _net16(RTM_DELADDR)),  # -> load the index
        (_BPF_RET, 0, 0, 0xFFFF_FFFF),  # any other message: keep
        (_BPF_LDW, 0, 0, 16 + 4),  # ifaddrmsg.ifa_index, after the 16-byte nlmsghdr
    ]
    for index in sorted(set(indexes)):
        insns.append((_BPF_JEQ, 0, 1, _net32(index)))  # not this one: past its drop
        insns.append((_BPF_RET, 0, 0, 0))  # one of ours: drop
    insns.append((_BPF_RET, 0, 0, 0xFFFF_FFFF))  # another link's address: keep
    if len(insns) > _BPF_MAXINSNS:
        return None
    return b"".join(_BPF_INSN.pack(*insn) for insn in insns)


def attach_filter(fd: int, program: bytes | None) -> None:
    """Attach (or, with None, detach) a classic BPF program to the socket `fd`."""
    with socket.socket(fileno=os.dup(fd)) as sock:
        if program is None:
            with contextlib.suppress(OSError):  # ENOENT: none attached
                sock.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, 0)
            return
        buf = ctypes.create_string_buffer(program)
        fprog = struct.pack("HL", len(program) // _BPF_INSN.size, ctypes.addressof(buf))
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


class LeaseSocket:
    """A non-blocking NETLINK_ROUTE socket that writes addresses with their lifetime."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        try:
            self.sock.bind((0, 0))
            with contextlib.suppress(OSError):  # older kernels echo the request: harmless
                self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
            self.sock.setblocking(False)
        except OSError:
            self.sock.close()
            raise
        self._seq = 0
        self._renewals: dict[tuple[object, ...], tuple[int, bytes]] = {}
        # replies land here: recv(65536) made a 64 kB object per renewal and shrank it,
        # which fragmented this thread's malloc arena (30 MB resident at 300 vhids)
        self._buf = bytearray(1 << 16)

    def hold(
        self, entries: Iterable[tuple[int, Address]], seconds: int, ack: bool = False
    ) -> list[tuple[int, Address, int]]:
        """Add or renew every (ifindex, address) for `seconds`; the (ifindex, address,
        errno) of each that failed.  With `ack` every request is acknowledged (to be sure
        of the result); without, only failures answer."""
        sent: dict[int, tuple[int, Address]] = {}
        chunk: list[bytes] = []
        size = 0
        failed: list[tuple[int, Address, int]] = []
        cache = self._renewals
        for index, addr in entries:
            if ack:
                seq = self._next_seq()
                msg = address_message(seq, index, addr, seconds, ack)
            else:  # a renewal: the same bytes every time (under a seq of its own)
                key = (index, addr.address, addr.prefixlen, addr.broadcast, seconds)
                known = cache.get(key)
                if known is None:
                    if len(cache) > 4096:
                        cache.clear()
                    seq = self._next_seq()
                    known = cache[key] = seq, address_message(seq, index, addr, seconds, ack)
                seq, msg = known
            sent[seq] = (index, addr)
            chunk.append(msg)
            size += len(msg)
            if size >= BATCH_BYTES:
                failed += self._send(b"".join(chunk), sent)
                chunk, size, sent = [], 0, {}
        if chunk:
            failed += self._send(b"".join(chunk), sent)
        return failed

    def _next_seq(self) -> int:
        self._seq = self._seq % 0x7FFF_FFFF + 1
        return self._seq

    def _send(
        self, data: bytes, sent: dict[int, tuple[int, Address]]
    ) -> list[tuple[int, Address, int]]:
        try:
            self.sock.send(data)
        except OSError as exc:  # nothing was applied (ENOBUFS, EMSGSIZE ...)
            return [(index, addr, exc.errno or 0) for index, addr in sent.values()]
        failed = []
        for seq, code in self._replies().items():
            if code and seq in sent:
                index, addr = sent[seq]
                failed.append((index, addr, code))
        return failed

    def _replies(self) -> dict[int, int]:
        """Whatever the kernel answered: it is all queued by the time send returns."""
        out: dict[int, int] = {}
        while True:
            try:
                size = self.sock.recv_into(self._buf)
            except (BlockingIOError, InterruptedError):
                return out
            except OSError:  # ENOBUFS: answers were lost; the next renewal tells again
                return out
            out.update(errors(memoryview(self._buf)[:size]))

    def close(self) -> None:
        self.sock.close()
