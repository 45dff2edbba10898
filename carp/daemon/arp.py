"""Neighbour answers carpd gives itself: ARP requests and IPv6 neighbour solicitations
for balanced addresses.

Two kinds of addresses are balanced: those of net.inet.carp.arpbalance (NetBSD, FreeBSD
<= 9: several carp interfaces holding one address) and those of carpnodes interfaces in
a balancing mode (OpenBSD: balancing ip answers with a multicast MAC the kernel cannot
put on an interface; arp mode answers each asker with the MAC of the node its hash
picks).  While an address is balanced the macvlans holding it never answer ARP
(arp_ignore=8) and their neighbour advertisements are dropped on the way out
(carp/daemon/lbfilter.py); the host's CarpHost decides per request whether this host
answers, with which link-layer address, and from which Ethernet source.

One AF_PACKET socket per carpdev reads ARP, and one with a classic BPF filter reads
only neighbour solicitations: the balanced traffic itself never reaches Python.
"""

from __future__ import annotations

import asyncio
import ctypes
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from carp import wire
from carp.balance import Answer

PACKET_OUTGOING = 4  # sll_pkttype of our own frames: never answer those
BATCH = 64
SO_ATTACH_FILTER = 26

# classic BPF: IPv6, next header ICMPv6, type 135 (no extension headers: RFC 4861 NS)
_NS_FILTER = [
    (0x28, 0, 0, 12),  # ldh [12]
    (0x15, 0, 5, wire.ETH_P_IPV6),  # jeq #0x86dd
    (0x30, 0, 0, 20),  # ldb [20]
    (0x15, 0, 3, 58),  # jeq #ICMPv6
    (0x30, 0, 0, 54),  # ldb [54]
    (0x15, 0, 1, 135),  # jeq #NS
    (0x06, 0, 0, 0x40000),  # ret: the whole frame
    (0x06, 0, 0, 0),  # ret: nothing
]


def attach_filter(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    code = b"".join(struct.pack("=HBBI", *insn) for insn in program)
    buf = ctypes.create_string_buffer(code, len(code))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                    struct.pack("=HxxxxxxQ", len(program), ctypes.addressof(buf)))


@dataclass(frozen=True)
class Asked:
    """One ARP request or solicitation: who asks (MAC, or None when an NS carries no
    source link-layer option), from which address, for which target."""

    sender_mac: str | None
    sender_ip: str
    target: str
    reply_to: str  # the Ethernet destination of the answer


class _Socket:
    ethertype = 0

    def __init__(self, name: str) -> None:
        self.name = name
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(self.ethertype))
        try:
            self.setup()
            self.sock.bind((name, self.ethertype))
            self.sock.setblocking(False)
            self.mac = wire.mac_str(self.sock.getsockname()[4][:6])  # the carpdev's own
        except OSError:
            self.sock.close()
            raise

    def setup(self) -> None:
        pass

    def requests(self) -> list[Asked]:
        """The questions read since the last call."""
        raise NotImplementedError

    def reply(self, ans: Answer, asked: Asked) -> None:
        raise NotImplementedError

    def fileno(self) -> int:
        return self.sock.fileno()

    def frames(self) -> list[bytes]:
        out: list[bytes] = []
        for _ in range(BATCH):
            try:
                frame, addr = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            if addr[2] != PACKET_OUTGOING:
                out.append(frame)
        return out

    def close(self) -> None:
        self.sock.close()


class ArpSocket(_Socket):
    ethertype = wire.ETH_P_ARP

    def requests(self) -> list[Asked]:
        out = []
        for frame in self.frames():
            req = wire.parse_arp_request(frame)
            if req is not None:
                out.append(Asked(req.sender_mac, req.sender_ip, req.target_ip, req.sender_mac))
        return out

    def reply(self, ans: Answer, asked: Asked) -> None:
        self.sock.send(wire.arp_reply(ans.lladdr, asked.target, asked.reply_to,
                                      asked.sender_ip, ans.source or self.mac))


class SolicitationSocket(_Socket):
    ethertype = wire.ETH_P_IPV6

    def setup(self) -> None:
        attach_filter(self.sock, _NS_FILTER)

    def requests(self) -> list[Asked]:
        out = []
        for frame in self.frames():
            ns = wire.parse_neighbour_solicitation(frame)
            if ns is not None:
                out.append(Asked(ns.slla, ns.src_ip, ns.target, ns.slla or ns.eth_src))
        return out

    def reply(self, ans: Answer, asked: Asked) -> None:
        self.sock.send(wire.neighbour_advert(ans.lladdr, asked.target, asked.reply_to,
                                             asked.sender_ip, ans.source or self.mac))


# (carpdev, target, sender MAC or None, sender IP) -> the answer, or None for silence
Decide = Callable[[str, str, "str | None", str], "Answer | None"]


class NeighbourResponder:
    """The balanced addresses of every carpdev, and the sockets that answer for them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, decide: Decide,
                 log: Callable[[str], None]) -> None:
        self.loop = loop
        self.decide = decide
        self.log = log
        self.balanced: dict[str, set[str]] = {}  # store carpdev name -> addresses
        self._socks: dict[tuple[str, int], _Socket] = {}  # (carpdev, family) -> socket

    def covers(self, dev: str | None, addresses: Iterable[str]) -> bool:
        """Whether carpd, not the kernel, answers for any of these addresses."""
        mine = self.balanced.get(dev or "", set())
        return any(a in mine for a in addresses)

    def sync(self, balanced: dict[str, set[str]], devmap: dict[str, str]) -> bool:
        """Follow the host's balanced addresses; True when they changed."""
        wanted = {(dev, 6 if ":" in a else 4) for dev, addrs in balanced.items() for a in addrs}
        for key in [k for k in self._socks if k not in wanted]:
            self._close(key)
        for key in sorted(wanted - set(self._socks)):
            dev, family = key
            linux = devmap.get(dev, dev)
            kind = SolicitationSocket if family == 6 else ArpSocket
            try:
                sock = kind(linux)
            except OSError as exc:
                self.log(f"{linux}: cannot open the neighbour socket: {exc.strerror}")
                continue
            self._socks[key] = sock
            self.loop.add_reader(sock.fileno(), self._readable, key)
        changed = balanced != self.balanced
        self.balanced = {dev: set(addrs) for dev, addrs in balanced.items()}
        return changed

    def _readable(self, key: tuple[str, int]) -> None:
        sock = self._socks.get(key)
        if sock is None:
            return
        dev = key[0]
        mine = self.balanced.get(dev, set())
        for asked in sock.requests():
            if asked.target not in mine:
                continue
            ans = self.decide(dev, asked.target, asked.sender_mac, asked.sender_ip)
            if ans is None:
                continue
            try:
                sock.reply(ans, asked)
            except OSError as exc:
                self.log(f"{sock.name}: answer to {asked.sender_ip}: {exc.strerror}")

    def _close(self, key: tuple[str, int]) -> None:
        sock = self._socks.pop(key)
        self.loop.remove_reader(sock.fileno())
        sock.close()

    def close(self) -> None:
        for key in list(self._socks):
            self._close(key)
