"""ARP balancing on one carpdev (net.inet.carp.arpbalance): carpd answers who-has itself.

While an address is balanced, the macvlans holding it never answer ARP (arp_ignore=8)
and the host's CarpHost picks, per request, whether this host answers and with which
virtual MAC.  One AF_PACKET socket per carpdev reads the requests and sends replies.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable

from carp import wire

PACKET_OUTGOING = 4  # sll_pkttype of our own frames: never answer those
BATCH = 64


class ArpSocket:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(wire.ETH_P_ARP))
        try:
            self.sock.bind((name, wire.ETH_P_ARP))
            self.sock.setblocking(False)
        except OSError:
            self.sock.close()
            raise

    def fileno(self) -> int:
        return self.sock.fileno()

    def requests(self) -> list[wire.ArpRequest]:
        out: list[wire.ArpRequest] = []
        for _ in range(BATCH):
            try:
                frame, addr = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                break
            if addr[2] == PACKET_OUTGOING:
                continue
            req = wire.parse_arp_request(frame)
            if req is not None:
                out.append(req)
        return out

    def reply(self, mac: str, req: wire.ArpRequest) -> None:
        self.sock.send(wire.arp_reply(mac, req.target_ip, req.sender_mac, req.sender_ip))

    def close(self) -> None:
        self.sock.close()


Answer = Callable[[str, wire.ArpRequest], "str | None"]  # (carpdev, request) -> MAC


class ArpBalancer:
    """The balanced addresses of every carpdev and a socket on each carpdev that has any."""

    def __init__(self, loop: asyncio.AbstractEventLoop, answer: Answer,
                 log: Callable[[str], None]) -> None:
        self.loop = loop
        self.answer = answer
        self.log = log
        self.balanced: dict[str, set[str]] = {}  # store carpdev name -> addresses
        self._socks: dict[str, ArpSocket] = {}

    def covers(self, dev: str | None, addresses: Iterable[str]) -> bool:
        """Whether carpd, not the kernel, answers ARP for any of these addresses."""
        mine = self.balanced.get(dev or "", set())
        return any(a in mine for a in addresses)

    def sync(self, balanced: dict[str, set[str]], devmap: dict[str, str]) -> bool:
        """Follow the host's balanced addresses; True when they changed."""
        for dev in [d for d in self._socks if d not in balanced]:
            self._close(dev)
        for dev in balanced:
            if dev in self._socks:
                continue
            linux = devmap.get(dev, dev)
            try:
                sock = ArpSocket(linux)
            except OSError as exc:
                self.log(f"{linux}: cannot open the ARP socket: {exc.strerror}")
                continue
            self._socks[dev] = sock
            self.loop.add_reader(sock.fileno(), self._readable, dev)
        changed = balanced != self.balanced
        self.balanced = {dev: set(addrs) for dev, addrs in balanced.items()}
        return changed

    def _readable(self, dev: str) -> None:
        sock = self._socks.get(dev)
        if sock is None:
            return
        mine = self.balanced.get(dev, set())
        for req in sock.requests():
            if req.target_ip not in mine:
                continue
            mac = self.answer(dev, req)
            if mac is None:
                continue
            try:
                sock.reply(mac, req)
            except OSError as exc:
                self.log(f"{sock.name}: ARP reply to {req.sender_ip}: {exc.strerror}")

    def _close(self, dev: str) -> None:
        sock = self._socks.pop(dev)
        self.loop.remove_reader(sock.fileno())
        sock.close()

    def close(self) -> None:
        for dev in list(self._socks):
            self._close(dev)
