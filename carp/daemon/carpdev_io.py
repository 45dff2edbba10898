"""The carp sockets of every carpdev in use (carp/daemon/sockets.py), for carpd's loop:
advertisements framed and sent, received ones parsed, dated by their kernel receive time
and handed to the host, link state of the carpdevs given to the host.

The host is read through a getter (the loop replaces it when the personality changes),
and what the host makes of a received advertisement goes to `deliver` (the loop's
dispatch), at once, in the same turn.
"""

from __future__ import annotations

import asyncio
import errno
import random
import time
from collections.abc import Callable

from carp import wire
from carp.actions import NOT_SENT, Action, Announce, Count, Send
from carp.daemon.netlink import Netlink, prevent_arp_flux
from carp.daemon.sockets import CarpdevSockets
from carp.daemon.syslog import Logger
from carp.daemon.trace import Trace
from carp.host import CarpHost
from carp.mac import PARENT_MAC
from carp.store import State
from carp.sysif import resolve  # the BSD -> Linux interface name map

MAX_RX_AGE = 1.0  # a kernel receive time older than this means the wall clock stepped


def arrival(stamp: float | None, read_at: tuple[float, float]) -> float:
    """When an advertisement arrived, on the loop's clock: the kernel's receive time,
    so a master-down timer runs from the advertisement, however late carpd got to
    read it (a busy loop, a GC pass, another process on the CPU)."""
    mono, wall = read_at
    if stamp is None or not 0.0 <= wall - stamp <= MAX_RX_AGE:
        return mono
    return mono - (wall - stamp)


class CarpdevIO:
    """The sockets of every carpdev in use, keyed by its store name; the loop's reader
    callbacks for them."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, nl: Netlink, host: Callable[[], CarpHost | None],
        deliver: Callable[[list[Action]], None], log: Logger, trace: Trace | None = None,
    ) -> None:
        self.loop = loop
        self.nl = nl
        self.host = host
        self.deliver = deliver
        self.log = log
        self.trace = trace  # carpd --trace: timing events for bench_takeover
        self.socks: dict[str, CarpdevSockets] = {}  # store carpdev name -> sockets
        self.devmap: dict[str, str] = {}  # store carpdev name -> Linux name
        self.reported_up: dict[str, bool] = {}  # last link state given to the host
        self.rejects: dict[str, int] = {}  # counters of the rejects the host never sees
        self.ip_id = random.getrandbits(16)
        self.tclass6 = 0

    # -- the carpdevs ----------------------------------------------------------------

    def sync(self, state: State, now: float) -> list[Action]:
        """Sockets for every carpdev in use; link state changes to the host."""
        host = self.host()
        assert host is not None
        wanted = {dev for ci in state.interfaces.values() if (dev := ci.parent)}
        acts: list[Action] = []
        self.devmap = {dev: resolve(dev, state) for dev in wanted}
        for dev in list(self.socks):
            link = self.nl.by_name(self.devmap.get(dev, ""))
            if dev not in wanted or link is None or link.index != self.socks[dev].ifindex:
                self.close(dev)
        for dev in sorted(wanted):
            linux = self.devmap[dev]
            link = self.nl.by_name(linux)
            if link is not None and dev not in self.socks:
                try:
                    self._open(dev, linux, link.index)
                except OSError as exc:
                    self.log.error(f"{linux}: cannot open carp sockets: {exc.strerror}")
            up = link is not None and link.up and dev in self.socks
            if self.reported_up.get(dev, True) != up:
                acts += host.link(dev, up, now)
            self.reported_up[dev] = up
        for dev in list(self.reported_up):
            if dev not in wanted:
                del self.reported_up[dev]
        return acts

    def set_tclass6(self, tclass: int) -> None:
        """net.inet.carp.dscp, for the sends the kernel frames: applies live."""
        self.tclass6 = tclass
        for socks in self.socks.values():
            socks.set_tclass6(tclass)

    def _open(self, dev: str, linux: str, ifindex: int) -> None:
        socks = CarpdevSockets(linux, ifindex, self.tclass6)
        prevent_arp_flux(linux)
        self.socks[dev] = socks
        self.loop.add_reader(socks.rx4.fileno(), self.receive4, dev)
        if socks.rx6 is not None:
            self.loop.add_reader(socks.rx6.fileno(), self.receive6, dev)

    def close(self, dev: str) -> None:
        socks = self.socks.pop(dev, None)
        if socks is None:
            return
        for fd in socks.filenos():
            self.loop.remove_reader(fd)
        socks.close()

    def close_all(self) -> None:
        for dev in list(self.socks):
            self.close(dev)

    # -- output ----------------------------------------------------------------------

    def send(self, act: Send) -> int | None:
        """Put one advertisement on the wire; the errno of a failure (NOT_SENT: no
        source to send it from), else None."""
        socks = self.socks.get(act.carpdev)
        if socks is None:
            return None
        payload = act.payload
        try:
            if act.family == 4:
                src = self.nl.first_ipv4(socks.name) or "0.0.0.0"
                if not act.sealed:  # VRRPv3: the checksum covers this source
                    payload = wire.vrrp_seal(payload, src, act.dst)
                ident = 0 if act.zero_ip_id else self._next_id()
                dgram = wire.build_ipv4(src, act.dst, payload, act.tos, ident)
                if not wire.is_multicast(act.dst):
                    socks.send_ip4(dgram, act.dst)
                    return None
                group_mac, ethertype = wire.ipv4_multicast_mac(act.dst), wire.ETH_P_IP
            elif wire.is_multicast(act.dst) and (src6 := self.nl.linklocal6(socks.name)):
                if not act.sealed:
                    payload = wire.vrrp_seal(payload, src6, act.dst)
                dgram = wire.build_ipv6(src6, act.dst, payload, tclass=act.tos)
                group_mac, ethertype = wire.ipv6_multicast_mac(act.dst), wire.ETH_P_IPV6
            elif not act.sealed:  # VRRPv3 without a usable link-local: no valid source yet
                return NOT_SENT
            else:  # a peer6, or no usable link-local yet: the kernel picks source and MAC
                socks.send_ip6(payload, act.dst)
                return None
            src_mac = act.src_mac or wire.virtual_mac(act.vhid)
            if src_mac == PARENT_MAC:
                link = self.nl.by_name(socks.name)
                src_mac = link.mac if link is not None and link.mac else wire.virtual_mac(act.vhid)
            frame = wire.ethernet_frame(group_mac, src_mac, ethertype, dgram)
            if self.trace is not None:  # the call, not its return: the frame may be
                self.trace.send(act.vhid, time.time())  # on the bridge before it returns
            socks.send_frame(frame)
        except OSError as exc:
            return exc.errno or errno.EIO
        return None

    def _next_id(self) -> int:
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        return self.ip_id

    def announce(self, act: Announce) -> None:
        """Gratuitous ARP / unsolicited NA for the addresses, on the carpdev."""
        socks = self.socks.get(act.carpdev)
        if socks is None:
            return
        for addr in act.addresses:
            try:
                if ":" in addr:
                    socks.send_frame(wire.unsolicited_na(act.mac, addr))
                else:
                    socks.send_frame(wire.gratuitous_arp(act.mac, addr))
            except OSError as exc:
                self.log.debug(f"{socks.name}: announce {addr}: {exc.strerror}")

    # -- input -----------------------------------------------------------------------

    def receive4(self, dev: str) -> None:
        socks, host = self.socks.get(dev), self.host()
        if socks is None or host is None:
            return
        local = self.nl.first_ipv4(dev) or ""  # the source our adverts leave from
        acts: list[Action] = []
        ttl_first = host.policy.ttl_first_v4
        bad_ttls: list[int] = []
        received = socks.recv4()
        read_at = self.loop.time(), time.time()
        for dgram, stamp in received:
            if ttl_first and len(dgram) >= 20 and dgram[8] != 255:
                # The first check drops it (the kernel checked the IP header): counted
                # and logged without parsing, at two thirds of the cost, under a flood of
                # them -- all that an attacker off the link can send (bench_flood.py).
                bad_ttls.append(dgram[8])
                continue
            info = wire.parse_ipv4(dgram)
            if isinstance(info, wire.Reject):  # never reaches the host: count it here
                for stat in ("ipackets", info.stat):
                    self.rejects[stat] = self.rejects.get(stat, 0) + 1
                acts.append(Count(info.stat))
                continue
            now = arrival(stamp, read_at)
            acts += host.packet(dev, 4, info.src, info.dst, info.ttl, info.payload, now, local)
        if bad_ttls:
            acts += host.bad_ttl(dev, bad_ttls)
        if acts:
            self.deliver(acts)
        if self.trace is not None:
            self._trace_rx([stamp for _dgram, stamp in received], read_at)

    def receive6(self, dev: str) -> None:
        socks, host = self.socks.get(dev), self.host()
        if socks is None or host is None:
            return
        local = self.nl.linklocal6(dev) or ""
        acts: list[Action] = []
        received = socks.recv6()
        read_at = self.loop.time(), time.time()
        for pkt in received:
            now = arrival(pkt.stamp, read_at)
            acts += host.packet(dev, 6, pkt.src, pkt.dst, pkt.hoplimit, pkt.payload, now, local)
        if acts:
            self.deliver(acts)
        if self.trace is not None:
            self._trace_rx([pkt.stamp for pkt in received], read_at)

    def receive_queued(self) -> None:
        """Advertisements the kernel received while carpd was held up, read before a late
        timer runs: dated by their arrival, one that came in time moves a master-down
        deadline on, and a backup that was merely slow stays BACKUP."""
        for dev, socks in list(self.socks.items()):
            self.receive4(dev)
            if socks.rx6 is not None:
                self.receive6(dev)

    def _trace_rx(self, stamps: list[float | None], read_at: tuple[float, float]) -> None:
        assert self.trace is not None
        mono, wall = read_at
        for stamp in stamps:
            self.trace.rx(stamp, wall, wall - (mono - arrival(stamp, read_at)))
        self.trace.flush()
