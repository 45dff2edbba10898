"""One virtual host: the CARP state machine of one vhid (pure, sans-IO).

Reference: carp-protocol.md sections 3 (counter), 4 (states, timers, 4.4 rules),
5 (what demotion means to a vhid) and 8 (log texts).  Events are methods that take
`now` and return actions; every state change goes through `_set_state` (the model is
OpenBSD's carp_set_state / h11's single transition point).

Time: `now` is float seconds on any monotonic clock.  Internally everything is integer
microseconds (`to_us`), the way the kernels compute `advskew*1000000/256`, so a
simulator passing `us / 1e6` gets deadlines back that round to the exact microsecond.

Simplification (documented): one master-down timer per vhid instead of one per address
family; any valid advertisement (IPv4 or IPv6) restarts it.

Where this differs from every BSD (carp.4, "Equal advskew"): two MASTERs that hear each
other with equal timing both yield in the kernels.  In userland, hosts started together
time out within milliseconds of each other and then yield in lockstep forever, so a tie
is broken as VRRP breaks it (RFC 5798 6.4.3): the higher sender address stays MASTER.
A MASTER that yields on a tie also delays its master-down timer by a random fraction,
so it converges with a BSD peer that follows the plain rule.  The wire bytes are the BSDs'.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from carp.actions import (
    LOG_CRIT,
    LOG_INFO,
    LOG_WARNING,
    Action,
    Announce,
    Count,
    Log,
    Send,
    StateChange,
)
from carp.wire import Advert, Signer, int_to_counter, make_advert, random_counter

INIT, BACKUP, MASTER = "INIT", "BACKUP", "MASTER"
US = 1_000_000
SKEW_US = US // 256  # 3906: OpenBSD's floor for a zero interval (1/256 s)
FREEBSD_MAXSKEW = 240  # CARP_MAXSKEW: cap of advskew + demotion
SUPPRESS_SKEW = 240  # legacy: advskew forced while preemption is suppressed
BOW_OUT = 255  # advbase = advskew = 255 in a leaving master's last advertisement

# Reasons (FreeBSD's texts, reference 8.2); the others are ours where no BSD has one.
R_INIT_DONE = "initialization complete"
R_MASTER_TIMEOUT = "master timed out"
R_PREEMPT = "preempting a slower master"
R_DEMOTED_MASTER = "preempting a more demoted master"  # OpenBSD rule 2 (no BSD text)
R_WILL_TIMEOUT = "master will time out"
R_MORE_FREQUENT = "more frequent advertisement received"
R_USER = "user requested via ifconfig"
R_IF_DOWN = "hardware interface down"
R_IF_UP = "hardware interface up"
R_SHUTDOWN = "shutdown"
R_REMOVED = "vhid removed"

# NetBSD logs an extra line on some transitions, with its own (sometimes wrong) labels.
_NETBSD_EXTRA = {
    R_MORE_FREQUENT: "MASTER -> BACKUP (more frequent advertisement received)",
    R_PREEMPT: "BACKUP -> MASTER (preempting a slower master)",
    R_WILL_TIMEOUT: "BACKUP -> MASTER (master timed out)",
    R_MASTER_TIMEOUT: "INIT -> MASTER (preempting)",
}


_OPACKETS, _OPACKETS6 = Count("opackets"), Count("opackets6")  # frozen: shared instances


def outranks(local: str, src: str) -> bool:
    """VRRP's tie-break: our address is the higher one (False when either is unknown)."""
    try:
        mine, theirs = ipaddress.ip_address(local), ipaddress.ip_address(src)
    except ValueError:
        return False
    return mine.version == theirs.version and mine > theirs


def to_us(now: float) -> int:
    """Seconds -> integer microseconds (exact for any us/1e6 the simulator passes)."""
    return round(now * US)


def skew_us(advskew: int) -> int:
    return advskew * US // 256


@dataclass
class Env:
    """Host-wide inputs every vhost reads; CarpHost owns and updates the one instance."""

    personality: str = "openbsd"
    preempt: bool = False
    demotion: int = 0  # FreeBSD: admin + kernel demotion, added to advskew
    suppress_preempt: int = 0  # NetBSD / legacy: >0 forces advskew 240


@dataclass
class Params:
    """What identifies one vhid's configuration (changes other than advbase/advskew restart it)."""

    ifname: str  # carp interface key (CarpInterface.key)
    logname: str  # BSD interface name used in log prefixes
    carpdev: str  # parent interface
    vhid: int
    v4: tuple[str, ...]
    v6: tuple[str, ...]
    key: bytes
    mac: str  # MAC announced on takeover
    hmac_mac: bytes | None = None  # OpenBSD: custom lladdr on the leader is hashed
    leader: bool = True
    nodes: int = 1  # carpnodes count: OpenBSD logs "(vhid N)" when > 1
    balancing: str = "none"
    dst4: str = "224.0.0.18"
    dst6: str = "ff02::12"


class VirtualHost:
    """INIT / BACKUP / MASTER for one vhid.  See the module docstring for time units."""

    def __init__(
        self,
        env: Env,
        params: Params,
        advbase: int = 1,
        advskew: int = 0,
        rng: random.Random | None = None,
    ) -> None:
        self.env = env
        self.p = params
        self.advbase = advbase
        self.advskew = advskew
        self.demote = 0  # OpenBSD: effective group demote of the carp interface (byte 4)
        self.rng = rng
        self.state = INIT
        self.since = 0.0
        self.reason = ""
        self.signer = Signer(
            params.key, params.vhid, params.v4, params.v6, params.hmac_mac,
            flavour=env.personality,
        )  # fmt: skip
        self.cookie: bytes | None = None  # OpenBSD: random once, then constant
        self.counter = 0  # FreeBSD/NetBSD: incrementing, copies the peer's
        self.init_counter = True
        self.ad_at: int | None = None  # MASTER: next advertisement (us)
        self.down_at: int | None = None  # BACKUP: master-down deadline (us)
        self.delayed_arp = -1  # OpenBSD leader: ads left before the second ARP round
        self.last_heard: int | None = None  # us of the last accepted advertisement
        self._md: int | None = None  # cached master_down_us() for (advbase, advskew)
        self._md_for = (advbase, advskew)

    # -- timing (reference 4.2) ------------------------------------------------------

    def sent_advskew(self) -> int:
        """The advskew put in our packets (and, except OpenBSD, our own comparisons)."""
        pers = self.env.personality
        if pers == "freebsd":
            return max(0, min(self.advskew + self.env.demotion, FREEBSD_MAXSKEW))
        if pers == "netbsd" and self.env.suppress_preempt > 0:
            return max(self.advskew, SUPPRESS_SKEW)
        return self.advskew

    def ad_interval_us(self) -> int:
        """advbase + advskew/256; FreeBSD and NetBSD time the demoted skew they send."""
        us = self.advbase * US + skew_us(self.sent_advskew())
        if us == 0:  # OpenBSD floor (also keeps advbase 0 sane elsewhere)
            us = SKEW_US
        return us

    def master_down_us(self) -> int:
        """OpenBSD modern: 3 x T_ad; FreeBSD/NetBSD: 3 x advbase + advskew/256 (configured)."""
        if self.env.personality == "openbsd":
            t_ad = self.advbase * US + skew_us(self.advskew)
            return 3 * (t_ad or SKEW_US)
        if self.advbase == 0:  # OpenBSD-2005-derived special cases (NetBSD allows 0)
            return 3 * skew_us(self.advskew) or 3 * SKEW_US
        return 3 * self.advbase * US + skew_us(self.advskew)

    def _mine_skew(self) -> int:
        """Own advskew in comparisons: OpenBSD the configured one, others the sent one."""
        return self.advskew if self.env.personality == "openbsd" else self.sent_advskew()

    def next_deadline_us(self) -> int | None:
        if self.ad_at is None:
            return self.down_at
        if self.down_at is None:
            return self.ad_at
        return min(self.ad_at, self.down_at)

    def next_deadline(self) -> float | None:
        us = self.next_deadline_us()
        return None if us is None else us / US

    # -- the one place where state changes ------------------------------------------------

    def _set_state(self, new: str, reason: str, now_us: int) -> list[Action]:
        old = self.state
        if old == new:
            return []
        self.state, self.since, self.reason = new, now_us / US, reason
        p = self.p
        acts: list[Action] = [StateChange(p.ifname, p.carpdev, p.vhid, old, new, reason)]
        pers = self.env.personality
        if pers == "openbsd":
            nodes = f" (vhid {p.vhid})" if p.nodes > 1 else ""
            prio = LOG_CRIT if INIT not in (old, new) else LOG_WARNING
            acts.append(Log(prio, "state", f"{p.logname}: state transition{nodes}: {old} -> {new}"))
            if old == BACKUP and new == MASTER:
                acts.append(Count("preempt"))
        elif pers == "freebsd":
            text = f"carp: {p.vhid}@{p.carpdev}: {old} -> {new} ({reason})"
            acts.append(Log(LOG_INFO, "state", text))
        else:
            extra = _NETBSD_EXTRA.get(reason)
            if extra and new in (MASTER, BACKUP) and old != INIT:
                acts.append(Log(LOG_INFO, "state", f"{p.logname}: {extra}"))
            text = f"{p.logname}: state transition from: {old} -> to: {new}"
            acts.append(Log(LOG_INFO, "state", text))
        return acts

    # -- sending --------------------------------------------------------------------------

    def _next_counter(self) -> bytes:
        if self.env.personality == "openbsd":
            if self.cookie is None:
                self.cookie = random_counter(self.rng)
            return self.cookie
        if self.init_counter:  # first ad: a random 64-bit start, then counter++
            self.counter = int.from_bytes(random_counter(self.rng), "big")
            self.init_counter = False
        else:
            self.counter = (self.counter + 1) & 0xFFFF_FFFF_FFFF_FFFF
        return int_to_counter(self.counter)

    def _advertise(self, bow_out: bool = False) -> list[Action]:
        """One advertisement per address family that has addresses (NetBSD: IPv4 only)."""
        p = self.p
        advbase, advskew = (BOW_OUT, BOW_OUT) if bow_out else (self.advbase, self.sent_advskew())
        demote = min(self.demote, 255) if self.env.personality == "openbsd" else 0
        payload = make_advert(self.signer, p.vhid, advbase, advskew, self._next_counter(), demote)
        acts: list[Action] = []
        if p.v4:
            acts += [Send(p.ifname, p.carpdev, 4, p.dst4, payload, p.vhid), _OPACKETS]
        if p.v6 and self.env.personality != "netbsd":  # NetBSD's IPv6 send is "notyet"
            acts += [Send(p.ifname, p.carpdev, 6, p.dst6, payload, p.vhid), _OPACKETS6]
        return acts

    def _announce(self) -> list[Action]:
        p = self.p
        return [Announce(p.ifname, p.carpdev, p.vhid, p.mac, p.v4 + p.v6)]

    def _send_tick(self, now_us: int) -> list[Action]:
        """Advertise and re-arm; OpenBSD's leader repeats its ARP round after 2 more ads."""
        acts = self._advertise()
        self.ad_at = now_us + self.ad_interval_us()
        if self.delayed_arp > 0:
            self.delayed_arp -= 1
            if self.delayed_arp == 0:
                acts += self._announce()
                self.delayed_arp = -1
        return acts

    def _become_master(self, reason: str, now_us: int) -> list[Action]:
        """BACKUP -> MASTER: advertise first, then gratuitous ARP / NA, arm the ad timer."""
        acts = self._set_state(MASTER, reason, now_us)
        self.down_at = None
        acts += self._advertise()
        self.ad_at = now_us + self.ad_interval_us()
        if self.env.personality != "openbsd":
            acts += self._announce()
        elif self.p.leader and self.p.balancing == "none":
            acts += self._announce()
            self.delayed_arp = 2
        return acts

    def _become_backup(self, reason: str, now_us: int) -> list[Action]:
        acts = self._set_state(BACKUP, reason, now_us)
        self.ad_at = None
        self.delayed_arp = -1
        self.down_at = now_us + self.master_down_us()
        return acts

    def tie_jitter_us(self) -> int:
        """Extra wait after yielding on a tie: 1/8 to 1/4 of master-down, at random.

        Far above userland timing noise (ms), so a peer that yields on ties too times
        out first and is heard before we do; random, so two such peers drift apart."""
        eighth = self.master_down_us() // 8
        return eighth + (self.rng or random).randrange(eighth + 1)

    def _yield_tie(self, now_us: int, src: str, local: str) -> list[Action]:
        """Equal timing and demotion from another MASTER (module docstring)."""
        if outranks(local, src):
            return []
        acts = self._become_backup(R_MORE_FREQUENT, now_us)
        self.down_at = now_us + self.master_down_us() + self.tie_jitter_us()
        return acts

    # -- events ---------------------------------------------------------------------------

    def start(self, now: float, reason: str = R_INIT_DONE) -> list[Action]:
        """setrun while up: INIT -> BACKUP, arm master-down."""
        if self.state != INIT:
            return []
        return self._become_backup(reason, to_us(now))

    def stop(self, now: float, reason: str, bow_out: bool = False) -> list[Action]:
        """-> INIT, all timers off; a MASTER first sends the 255/255 bow-out if asked."""
        if self.state == INIT:
            return []
        acts = self._advertise(bow_out=True) if bow_out and self.state == MASTER else []
        self.ad_at = self.down_at = None
        self.delayed_arp = -1
        return acts + self._set_state(INIT, reason, to_us(now))

    def timeout(self, now: float) -> list[Action]:
        """Run whichever timer is due at `now`."""
        now_us = to_us(now)
        acts: list[Action] = []
        if self.down_at is not None and self.down_at <= now_us and self.state == BACKUP:
            acts += self._become_master(R_MASTER_TIMEOUT, now_us)
        if self.ad_at is not None and self.ad_at <= now_us and self.state == MASTER:
            acts += self._send_tick(now_us)
        return acts

    def advertise_now(self, now: float) -> list[Action]:
        """Demotion rose: a MASTER tells its peers at once (and re-arms from now)."""
        if self.state != MASTER:
            return []
        return self._send_tick(to_us(now))

    def request(self, state: str, now: float) -> list[Action]:
        """`ifconfig ... state master|backup`: run the takeover, or step down."""
        now_us = to_us(now)
        if state == MASTER and self.state == BACKUP:
            return self._become_master(R_USER, now_us)
        if state == BACKUP and self.state == MASTER:
            return self._become_backup(R_USER, now_us)
        return []

    def is_own(self, adv: Advert) -> bool:
        """OpenBSD: our own cookie came back (a loop or a replay)."""
        return self.env.personality == "openbsd" and adv.counter == self.cookie

    def receive(self, adv: Advert, now: float, src: str = "", local: str = "") -> list[Action]:
        """An authenticated advertisement for this vhid (reference 4.4).  Hot path.

        `src` is the sender's address, `local` ours on the carpdev in that family (the
        source of our own advertisements): they break ties between two MASTERs."""
        state = self.state
        if state == INIT:
            return []
        now_us = round(now * US)
        obsd = self.env.personality == "openbsd"
        if obsd:
            skew = self.advskew
        else:  # FreeBSD/NetBSD: own counter := received counter; compare the sent skew
            self.counter = int.from_bytes(adv.counter, "big")
            self.init_counter = False
            skew = self.sent_advskew()
        mine = self.advbase * US + skew * US // 256
        theirs = adv.advbase * US + adv.advskew * US // 256
        my_demote, ch_demote = self.demote, adv.demote
        if state == MASTER:
            if mine == theirs and (ch_demote == my_demote or not obsd):
                return self._yield_tie(now_us, src, local)
            if obsd:
                yields = (mine > theirs and ch_demote <= my_demote) or ch_demote < my_demote
            else:
                yields = mine > theirs
            return self._become_backup(R_MORE_FREQUENT, now_us) if yields else []
        # BACKUP, rules in order
        self.last_heard = now_us
        if mine < theirs and self.env.preempt and (not obsd or ch_demote >= my_demote):
            return self._become_master(R_PREEMPT, now_us)
        if obsd and ch_demote > my_demote:
            return self._become_master(R_DEMOTED_MASTER, now_us)
        if mine + 2 * self.advbase * US < theirs and not (obsd and self.advbase == 0):
            # "master will time out": theirs > 3 x own advbase + one own skew (a bow-out)
            return self._become_master(R_WILL_TIMEOUT, now_us)
        md = self._md
        if md is None or self._md_for != (self.advbase, self.advskew):
            self._md_for = (self.advbase, self.advskew)
            md = self._md = self.master_down_us()
        self.down_at = now_us + md
        return []
