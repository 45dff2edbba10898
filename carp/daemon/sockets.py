"""The raw sockets of one carpdev (the parent interface of carp interfaces).

* Multicast advertisements (IPv4, and IPv6 once the carpdev has a usable link-local),
  gratuitous ARP and unsolicited NA leave through one AF_PACKET socket as whole Ethernet
  frames: the source MAC is the virtual MAC, the IP header is byte-exact like BSD's, and
  the backup's macvlan never needs to be up.  The socket is bound to the carpdev's
  index and frames go out with send(): a sendto() by name costs an SIOCGIFINDEX ioctl
  per frame (CPython resolves the name on every call), 1,000 a second at 1,000 vhids.
  A carpdev deleted and made again has a new index: CarpdevIO.sync opens new sockets.
* An AF_INET raw socket (protocol 112) bound to the carpdev receives IPv4 advertisements
  (multicast group joined on the carpdev, no loopback) and sends unicast-peer ones with
  IP_HDRINCL.
* An AF_INET6 raw socket (protocol 112) receives IPv6 advertisements, with their hop
  limit and destination from ancillary data, and sends those to a peer6 (or any before
  the carpdev's link-local is usable), hop limit 255.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass

from carp.config import CARP_GROUP_V4, CARP_GROUP_V6
from carp.wire import IPPROTO_CARP

IP_MULTICAST_ALL = 49  # linux/in.h; not exported by the socket module
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TIMESPEC = struct.Struct("@ll")
SO_RCVBUFFORCE = 33  # past net.core.rmem_max (CAP_NET_ADMIN): the kernel doubles it
RCVBUF = 1 << 20  # ~2,500 advertisements: 1/8 s of a 20,000/s flood while carpd waits
STAMP_SPACE = socket.CMSG_SPACE(TIMESPEC.size)
BATCH = 64  # datagrams read per readiness callback, so one busy carpdev cannot starve the rest


@dataclass(frozen=True)
class Received6:
    payload: bytes
    src: str
    dst: str
    hoplimit: int
    stamp: float | None  # when the kernel received it (wall clock), if it said


def kernel_stamp(ancdata: list[tuple[int, int, bytes]]) -> float | None:
    """The SO_TIMESTAMPNS receive time (wall clock seconds) among the ancillary data."""
    for level, kind, value in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= TIMESPEC.size:
            sec, nsec = TIMESPEC.unpack_from(value)
            return sec + nsec * 1e-9
    return None


class CarpdevSockets:
    """Open on construction; raises OSError if the carpdev cannot be used."""

    def __init__(self, name: str, ifindex: int, tclass6: int = 0) -> None:
        self.name = name
        self.ifindex = ifindex
        self.rx4 = self._open4()
        try:
            self.pkt = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # 0: never receives
            self.pkt.bind((name, 0))
            self.pkt.setblocking(False)
        except OSError:
            self.rx4.close()
            raise
        self.rx6: socket.socket | None = None
        with contextlib.suppress(OSError):  # IPv6 may be disabled on this host or link
            self.rx6 = self._open6(tclass6)

    def _bind_device(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.name.encode())
        # the master-down timer runs from the arrival, not from when carpd got to read it
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        try:  # not capped by a small net.core.rmem_max (212992 by default)
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.setblocking(False)

    def _open4(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_CARP)
        try:
            self._bind_device(sock)
            mreqn = struct.pack("=4s4si", socket.inet_aton(CARP_GROUP_V4), bytes(4), self.ifindex)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
            sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)  # only our own joins
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)  # unicast-peer sends
        except OSError:
            sock.close()
            raise
        return sock

    def _open6(self, tclass: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_CARP)
        try:
            self._bind_device(sock)
            group = socket.inet_pton(socket.AF_INET6, CARP_GROUP_V6)
            mreq = struct.pack("=16sI", group, self.ifindex)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self.ifindex)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, tclass)
        except OSError:
            sock.close()
            raise
        return sock

    def set_tclass6(self, tclass: int) -> None:
        if self.rx6 is not None:
            with contextlib.suppress(OSError):
                self.rx6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, tclass)

    # -- sending (errors propagate as OSError: the caller counts and logs them) -------

    def send_frame(self, frame: bytes) -> None:
        """A whole Ethernet frame, on the carpdev the socket is bound to (by index).  The
        socket's protocol is 0, so the kernel takes the frame's own EtherType."""
        self.pkt.send(frame)

    def send_ip4(self, datagram: bytes, dst: str) -> None:
        """A complete IPv4 datagram (IP_HDRINCL), routed by the kernel: unicast peers."""
        self.rx4.sendto(datagram, (dst, 0))

    def send_ip6(self, payload: bytes, dst: str) -> None:
        if self.rx6 is None:
            raise OSError(97, "IPv6 is not available on " + self.name)  # EAFNOSUPPORT
        self.rx6.sendto(payload, (dst, 0, 0, self.ifindex))

    # -- receiving ---------------------------------------------------------------------

    def recv4(self) -> list[tuple[bytes, float | None]]:
        """Up to BATCH datagrams, each with its kernel receive time (see kernel_stamp)."""
        out: list[tuple[bytes, float | None]] = []
        for _ in range(BATCH):
            try:
                data, ancdata, _flags, _addr = self.rx4.recvmsg(65535, STAMP_SPACE)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            out.append((data, kernel_stamp(ancdata)))
        return out

    def recv6(self) -> list[Received6]:
        out: list[Received6] = []
        if self.rx6 is None:
            return out
        space = socket.CMSG_SPACE(4) + socket.CMSG_SPACE(20) + STAMP_SPACE
        for _ in range(BATCH):
            try:
                data, ancdata, _flags, addr = self.rx6.recvmsg(65535, space)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            hoplimit, dst = -1, CARP_GROUP_V6
            for level, kind, value in ancdata:
                if level != socket.IPPROTO_IPV6:
                    continue
                if kind == socket.IPV6_HOPLIMIT and len(value) >= 4:
                    hoplimit = struct.unpack("=i", value[:4])[0]
                elif kind == socket.IPV6_PKTINFO and len(value) >= 16:
                    dst = socket.inet_ntop(socket.AF_INET6, value[:16])
            src = str(addr[0]).split("%", 1)[0]
            out.append(Received6(data, src, dst, hoplimit, kernel_stamp(ancdata)))
        return out

    def filenos(self) -> list[int]:
        return [s.fileno() for s in (self.rx4, self.rx6) if s is not None]

    def close(self) -> None:
        for sock in (self.rx4, self.rx6, self.pkt):
            if sock is not None:
                sock.close()
