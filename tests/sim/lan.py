"""A deterministic virtual LAN and clock that run the real CarpHost code for many hosts.

Time is integer microseconds (`Lan.now`); hosts get `now / 1e6` seconds and their
deadlines are rounded back to microseconds, which is exact (carp.vhost.to_us).
Events at one instant run in FIFO order; packets without delay are delivered at the
instant they are sent, after the sender's own actions.  Every random choice (loss,
jitter, counters) comes from seeded `random.Random` instances.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from carp.actions import Action, Announce, Lease, Send, StateChange
from carp.config import CarpInterface
from carp.host import CarpHost
from carp.wire import vrrp_seal

US = 1_000_000
WALL_EPOCH = 1_800_000_000  # the wall clock at simulated time 0 (2027-01-15)


@dataclass(frozen=True)
class Transition:
    t: int  # microseconds
    host: str
    ifname: str
    vhid: int
    old: str
    new: str
    reason: str


@dataclass(frozen=True)
class Delivery:
    t: int
    src: str
    dst: str
    carpdev: str
    vhid: int
    advbase: int
    advskew: int
    demote: int


@dataclass
class SimHost:
    name: str
    personality: str
    addr: str
    interfaces: dict[str, CarpInterface]
    sysctl: dict[str, int] = field(default_factory=dict)
    groups: dict[str, dict[str, int]] = field(default_factory=dict)
    host: CarpHost | None = None
    token: int = 0  # invalidates timer events scheduled before a crash/reschedule
    scheduled: int | None = None
    boots: int = 0
    links_down: set[str] = field(default_factory=set)

    @property
    def alive(self) -> bool:
        return self.host is not None

    def source(self, family: int) -> str:
        """The host's address in that family: its adverts' source (fe80::N for IPv6)."""
        return self.addr if family == 4 else "fe80::" + self.addr.rsplit(".", 1)[1]


class Lan:
    """Hosts on shared segments (one per carpdev name), with loss, delay and partitions."""

    def __init__(
        self, seed: int = 0, loss: float = 0.0, delay_us: int = 0, jitter_us: int = 0
    ) -> None:
        self.now = 0
        self.rng = random.Random(seed)
        self.seed = seed
        self.loss = loss
        self.delay_us = delay_us
        self.jitter_us = jitter_us
        self.hosts: dict[str, SimHost] = {}
        self.side: dict[str, int] = {}  # partition side per host; same side = connected
        self.lost_families: set[int] = set()  # address families whose adverts all get lost
        self.transitions: list[Transition] = []
        self.deliveries: list[Delivery] = []
        self.sends: list[tuple[int, str, Send]] = []
        self.leases: list[tuple[int, str, Lease]] = []  # (t, host, lease)
        self.announces: list[tuple[int, str, Announce]] = []
        self.events: list[tuple[int, str, str]] = []  # (t, host, "boot" / "crash" / ...)
        self.record = True  # the benchmark turns the logs off
        self.on_transition: Callable[[Transition], None] | None = None
        self._heap: list[tuple[int, int, str, object]] = []
        self._now_q: deque[tuple[str, object]] = deque()
        self._seq = 0

    # -- set-up and admin --------------------------------------------------------------

    def add(
        self,
        name: str,
        personality: str,
        interfaces: list[CarpInterface],
        sysctl: dict[str, int] | None = None,
        groups: dict[str, dict[str, int]] | None = None,
    ) -> SimHost:
        sh = SimHost(
            name, personality, f"10.0.0.{len(self.hosts) + 1}",
            {ci.key: ci for ci in interfaces}, dict(sysctl or {}), dict(groups or {}),
        )
        self.hosts[name] = sh
        self.side[name] = 0
        self.boot(name)
        return sh

    def boot(self, name: str) -> None:
        """(Re)start a host: a fresh CarpHost configured from the host's store-like config."""
        sh = self.hosts[name]
        sh.boots += 1
        self.events.append((self.now, name, "boot"))
        rng = random.Random(f"{self.seed}/{name}/{sh.boots}")
        sh.host = CarpHost(sh.personality, name, rng=rng, wall=self._wall)
        acts = sh.host.configure(sh.sysctl, sh.interfaces, sh.groups, self._s())
        for dev in sorted(sh.links_down):
            acts += sh.host.link(dev, False, self._s())
        self._handle(sh, acts)

    def crash(self, name: str) -> None:
        """The host stops at once: no bow-out, no more packets or timers."""
        sh = self.hosts[name]
        self.events.append((self.now, name, "crash"))
        sh.host = None
        sh.token += 1
        sh.scheduled = None

    def shutdown(self, name: str) -> None:
        """A clean carpd exit (bow-out), then the host is gone."""
        sh = self.hosts[name]
        if sh.host is not None:
            self._handle(sh, sh.host.shutdown(self._s()))
        self.crash(name)

    def reconfigure(self, name: str, **changes: object) -> None:
        """Change the stored config (sysctl=..., groups=..., interfaces=[...]) and apply it."""
        sh = self.hosts[name]
        self.events.append((self.now, name, "reconfigure"))
        if "sysctl" in changes:
            sh.sysctl = dict(changes["sysctl"])  # type: ignore[call-overload]
        if "groups" in changes:
            sh.groups = dict(changes["groups"])  # type: ignore[call-overload]
        if "interfaces" in changes:
            sh.interfaces = {ci.key: ci for ci in changes["interfaces"]}  # type: ignore[attr-defined]
        if sh.host is not None:
            self._handle(sh, sh.host.configure(sh.sysctl, sh.interfaces, sh.groups, self._s()))

    def link(self, name: str, carpdev: str, up: bool) -> None:
        """Parent link state of one host; a down link neither sends nor receives."""
        sh = self.hosts[name]
        self.events.append((self.now, name, f"link {carpdev} {'up' if up else 'down'}"))
        (sh.links_down.discard if up else sh.links_down.add)(carpdev)
        if sh.host is not None:
            self._handle(sh, sh.host.link(carpdev, up, self._s()))

    def partition(self, *groups: list[str]) -> None:
        """Split the LAN: hosts in different groups no longer hear each other."""
        for i, names in enumerate(groups):
            for n in names:
                self.side[n] = i + 1

    def heal(self) -> None:
        for n in self.side:
            self.side[n] = 0

    def inject(
        self, payload: bytes, family: int = 4, src: str = "10.0.0.250", dst: str | None = None,
        ttl: int = 255, carpdev: str = "em0", to: list[str] | None = None,
    ) -> list[Action]:
        """An attacker's packet on the segment now: every live host (or those `to`) gets
        it like an advertisement, with the IP source, destination and TTL given (the
        group address by default).  Not in `deliveries`: those are the hosts' adverts.
        Returns what the hosts asked for."""
        out: list[Action] = []
        group = "224.0.0.18" if family == 4 else "ff02::12"
        for name in to or list(self.hosts):
            sh = self.hosts[name]
            if sh.host is None or carpdev in sh.links_down:
                continue
            acts = sh.host.packet(carpdev, family, src, dst or group, ttl, payload, self._s(),
                                  sh.source(family))
            out += acts
            self._handle(sh, acts, lazy=True)
        return out

    # -- running -----------------------------------------------------------------------

    def at(self, t_us: int, fn: Callable[[], None]) -> None:
        """Run `fn` (a crash, restart, partition ...) at simulated time t_us."""
        self._push(t_us, "call", fn)

    def run_until(self, t_us: int) -> None:
        """Process every event up to and including t_us, then set the clock to t_us."""
        heap = self._heap
        while True:
            self._drain()
            if not heap or heap[0][0] > t_us:
                break
            t, _, kind, data = heapq.heappop(heap)
            self.now = t
            if kind == "timer":
                name, token = data  # type: ignore[misc]
                sh = self.hosts[name]
                if sh.token == token and sh.host is not None:
                    sh.scheduled = None
                    self._handle(sh, sh.host.timeout(t / US))
            elif kind == "pkt":
                self._deliver(*data)  # type: ignore[misc]
            else:
                data()  # type: ignore[operator]
        self.now = max(self.now, t_us)

    def run_for(self, us: int) -> None:
        self.run_until(self.now + us)

    # -- queries -----------------------------------------------------------------------

    def state(self, name: str, ifname: str = "carp0", vhid: int = 1) -> str:
        sh = self.hosts[name]
        if sh.host is None:
            return "DOWN"
        return sh.host.states().get((ifname, vhid), "NONE")

    def masters(self, vhid: int) -> list[str]:
        return sorted(
            n for n, sh in self.hosts.items()
            if sh.host is not None
            and any(v == vhid and s == "MASTER" for (_, v), s in sh.host.states().items())
        )

    def transitions_of(self, name: str, new: str | None = None) -> list[Transition]:
        return [t for t in self.transitions if t.host == name and (new is None or t.new == new)]

    # -- internals ---------------------------------------------------------------------

    def _s(self) -> float:
        return self.now / US

    def _wall(self) -> float:
        """Every host's wall clock: the simulated time since a fixed date."""
        return WALL_EPOCH + self.now / US

    def _push(self, t: int, kind: str, data: object) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, data))

    def _drain(self) -> None:
        q = self._now_q
        while q:
            kind, data = q.popleft()
            self._deliver(*data)  # type: ignore[misc]

    def _handle(self, sh: SimHost, acts: list[Action], lazy: bool = False) -> None:
        """Carry out a host's actions.  `lazy` (after a packet): a packet that changed no
        state can only push a deadline later, so the pending timer event stays; if it fires
        early, `timeout` finds nothing due and the host is rescheduled then."""
        busy = False
        for a in acts:
            if isinstance(a, Send):
                busy = True
                self._broadcast(sh, a)
            elif isinstance(a, StateChange):
                busy = True
                if self.record:
                    tr = Transition(self.now, sh.name, a.ifname, a.vhid, a.old, a.new, a.reason)
                    self.transitions.append(tr)
                    if self.on_transition is not None:
                        self.on_transition(tr)
            elif isinstance(a, Lease):
                if self.record:
                    self.leases.append((self.now, sh.name, a))
            elif isinstance(a, Announce):
                if self.record:
                    self.announces.append((self.now, sh.name, a))
        if busy or not lazy or sh.scheduled is None:
            self._reschedule(sh)

    def _reschedule(self, sh: SimHost) -> None:
        if sh.host is None:
            return
        d = sh.host.next_deadline()
        t = None if d is None else round(d * US)
        if t != sh.scheduled:
            sh.token += 1
            sh.scheduled = t
            if t is not None:
                self._push(max(t, self.now), "timer", (sh.name, sh.token))

    def _broadcast(self, src: SimHost, send: Send) -> None:
        if self.record:
            self.sends.append((self.now, src.name, send))
        if send.carpdev in src.links_down or send.family in self.lost_families:
            return
        side = self.side[src.name]
        rng = self.rng
        for name, sh in self.hosts.items():
            if sh is src or self.side[name] != side:
                continue
            if self.loss and rng.random() < self.loss:
                continue
            data = (src.name, name, send)
            delay = self.delay_us + (rng.randrange(self.jitter_us + 1) if self.jitter_us else 0)
            if delay:
                self._push(self.now + delay, "pkt", data)
            else:
                self._now_q.append(("pkt", data))

    def _deliver(self, src: str, dst: str, send: Send) -> None:
        sh = self.hosts[dst]
        if sh.host is None or send.carpdev in sh.links_down:
            return
        if self.side[src] != self.side[dst]:  # partitioned while in flight
            return
        p = send.payload
        family, source = send.family, self.hosts[src].source(send.family)
        if not send.sealed:  # VRRPv3: the checksum covers the sender's source address
            p = vrrp_seal(p, source, send.dst)
        if self.record:  # VRRPv3: advskew is the priority, advbase the low interval byte
            d = Delivery(self.now, src, dst, send.carpdev, p[1], p[5], p[2], p[4])
            self.deliveries.append(d)
        acts = sh.host.packet(
            send.carpdev, family, source, send.dst, 255, p, self.now / US, sh.source(family),
        )
        self._handle(sh, acts, lazy=True)
