"""The fuzz world: one host's carp configuration, the same for every personality.

Every target is a CarpHost with these vhids on em0 (em1 carries no carp), all sharing
the passphrase PASS, so a valid advertisement of the corpus is valid for any target:

    vhid 1  IPv4 + IPv6                     advskew 50
    vhid 2  IPv4, interface down (INIT)     (every packet for it is badvhid)
    vhid 3  IPv4 + IPv6 + IPv6 link-local   advskew 50 (OpenBSD's two HMAC contexts)
    vhid 4  IPv4 only                       advbase 2   (FreeBSD: IPv6 adverts miss it)
    vhid 5  IPv4 to a unicast peer          (OpenBSD: multicast adverts miss it)
    vhid 6  IPv6 only                       advskew 200

A target is one personality in one state: MASTER (every running vhid timed out) or
BACKUP, with net.inet.carp.preempt 0 or 1.  `Target.reset` rebuilds it from scratch, the
same way every time (the host's random numbers are seeded), so an OpenBSD MASTER's cookie
is the same after every reset.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from carp.config import Address, CarpInterface, Node
from carp.host import CarpHost

PASS = "fuzz-pass"
KEY = (PASS.encode()[:19] + b"\0" * 20)[:20]  # strlcpy into 20 bytes (docs/protocol.md §2.1)
CARPDEV, OTHER = "em0", "em1"
LOCAL4, LOCAL6 = "10.0.0.1", "fe80::1"  # this host's own addresses on em0
PEER4, PEER6 = "10.0.0.2", "fe80::2"  # where the corpus adverts come from
GROUP4, GROUP6 = "224.0.0.18", "ff02::12"
UNICAST_PEER = PEER4  # vhid 5's carppeer
T0 = 100.0  # every packet arrives at this time (s); targets are built before it
WALL = 1_800_000_000.0  # the targets' wall clock: where their counters start
# vhid -> sender -> [first, newest, varied, repeats]: what the oracle needs of the counters
# a target accepted from each sender (carp.4, "Replay")
Senders = dict[int, dict[bytes, list[int]]]


@dataclass(frozen=True)
class VhidConf:
    vhid: int
    v4: tuple[str, ...]
    v6: tuple[str, ...]
    advskew: int = 50
    advbase: int = 1
    up: bool = True
    peer: str = GROUP4

    def dst(self, family: int) -> str:
        return self.peer if family == 4 else GROUP6


VHIDS: dict[int, VhidConf] = {
    c.vhid: c
    for c in (
        VhidConf(1, ("192.168.1.1",), ("2001:db8:1::1",)),
        VhidConf(2, ("192.168.2.1",), (), up=False),
        VhidConf(3, ("192.168.3.1",), ("2001:db8:3::1", "fe80::3:1")),
        VhidConf(4, ("192.168.4.1",), (), advskew=0, advbase=2),
        VhidConf(5, ("192.168.5.1",), (), peer=UNICAST_PEER),
        VhidConf(6, (), ("2001:db8:6::1",), advskew=200),
    )
}


def interfaces(personality: str) -> list[CarpInterface]:
    """The world's vhids the way the personality configures them (carpN or em0 vhid N)."""
    out = []
    for c in VHIDS.values():
        addrs = [Address(a, 24) for a in c.v4] + [Address(a, 64) for a in c.v6]
        if personality == "freebsd":
            addrs = [Address(a.address, a.prefixlen, vhid=c.vhid) for a in addrs]
            out.append(CarpInterface(
                name=CARPDEV, style="vhid", nodes=[Node(c.vhid, c.advskew)], advbase=c.advbase,
                passphrase=PASS, addresses=addrs, up=c.up, peer=c.peer,
            ))
        else:
            out.append(CarpInterface(
                name=f"carp{c.vhid}", carpdev=CARPDEV, nodes=[Node(c.vhid, c.advskew)],
                advbase=c.advbase, passphrase=PASS, addresses=addrs, up=c.up, peer=c.peer,
            ))
    return out


@dataclass
class Target:
    """One CarpHost under test, and what the harness tracks about it independently."""

    personality: str
    state: str  # "MASTER" or "BACKUP": what every running vhid is after a reset
    preempt: int
    seed: int
    host: CarpHost = field(init=False)
    # vhid -> the newest counter the harness saw this target accept (incrementing BSDs)
    heard: dict[int, int] = field(default_factory=dict)
    # vhid -> sender -> what the oracle needs of the counters accepted from it
    senders: Senders = field(default_factory=dict)
    resets: int = 0

    def __post_init__(self) -> None:
        self.reset()

    @property
    def name(self) -> str:
        pre = "+preempt" if self.preempt else ""
        return f"{self.personality}/{self.state}{pre}"

    def reset(self) -> None:
        self.resets += 1
        h = CarpHost(self.personality, self.name, rng=random.Random(self.seed),
                     wall=lambda: WALL)
        sysctl = {"net.inet.carp.preempt": self.preempt}
        if self.state == "MASTER":
            h.configure(sysctl, interfaces(self.personality), {}, T0 - 8.0)
            while (due := h.next_deadline()) is not None and due <= T0:
                h.timeout(due)  # every running vhid times out, then advertises until T0
        else:
            h.configure(sysctl, interfaces(self.personality), {}, T0 - 1.0)
        self.host = h
        self.heard = {}
        self.senders = {}

    def running(self) -> dict[int, str]:
        """vhid -> state of the target's vhids (they all live on em0)."""
        return {vk[1]: s for vk, s in self.host.states().items()}

    def cookie(self, vhid: int) -> bytes | None:
        """OpenBSD: the 8 bytes this target sends for `vhid` (None before its first advert)."""
        for (_key, v), vh in self.host.vhosts.items():
            if v == vhid:
                return vh.counter.cookie
        return None

    def own_counter(self, vhid: int) -> int | None:
        """FreeBSD/NetBSD: the counter of this target's last advertisement for `vhid`."""
        for (_key, v), vh in self.host.vhosts.items():
            if v == vhid:
                return vh.counter.sent
        return None


def targets(seed: int = 1) -> list[Target]:
    """Every personality as MASTER, as BACKUP, and as BACKUP with preempt."""
    out = []
    for i, pers in enumerate(("openbsd", "freebsd", "netbsd")):
        for j, (state, preempt) in enumerate((("MASTER", 0), ("BACKUP", 0), ("BACKUP", 1))):
            out.append(Target(pers, state, preempt, seed * 100 + i * 10 + j))
    return out
