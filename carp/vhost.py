"""One virtual host: the CARP state machine of one vhid (pure, sans-IO).

Events are methods that take `now` and return actions; every state change goes
through `_set_state` (the model is OpenBSD's carp_set_state / h11's single transition
point).  Where the BSDs differ (timers, the election, counters, log texts) the vhid asks
its personality's policy object (carp.personality).

Time: `now` is float seconds on any monotonic clock.  Internally everything is integer
microseconds (`to_us`), the way the kernels compute `advskew*1000000/256`, so a
simulator passing `us / 1e6` gets deadlines back that round to the exact microsecond.

What a vhid hands off: its master-down timers, one per address family as every BSD keeps
(carp.masterdown); its advertisement counter and what it knows of each sender's, which
refuses replays (carp.adcounter); its gratuitous ARP / NA rounds (carp.announce).

Where this differs from every BSD (carp.4, "Equal advskew"): two MASTERs that hear each
other with equal timing both yield in the kernels.  In userland, hosts started together
time out within milliseconds of each other and then yield in lockstep forever, so a tie
is broken as VRRP breaks it (RFC 5798 6.4.3): the higher sender address stays MASTER.
A MASTER that yields on a tie also delays its master-down timer by a random fraction,
so it converges with a BSD peer that follows the plain rule.  The wire bytes are the BSDs'.

§N refers to the protocol notes in docs/protocol.md.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from carp.actions import Action, Count, Lease, Log, Send, StateChange
from carp.adcounter import AdvertCounter, CookieCounter, SerialCounter
from carp.announce import Announcer
from carp.config import CARP_GROUP_V4, CARP_GROUP_V6
from carp.deadlines import advert_slack_us
from carp.lease import LeasePlan, plan
from carp.masterdown import MasterDown
from carp.personality import DEFAULT, policy
from carp.states import (
    BACKUP,
    INIT,
    MASTER,
    R_INIT_DONE,
    R_MASTER_TIMEOUT,
    R_MORE_FREQUENT,
    R_USER,
    SKEW_US,
    US,
    skew_us,
    to_us,
)
from carp.wire import Advert, Signer, is_multicast, make_advert

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.personality.base import Personality

BOW_OUT = 255  # advbase = advskew = 255 in a leaving master's last advertisement

# frozen: shared instances
_OPACKETS, _OPACKETS6, _PREEMPT = Count("opackets"), Count("opackets6"), Count("preempt")


def outranks(local: str, src: str) -> bool:
    """VRRP's tie-break: our address is the higher one (False when either is unknown)."""
    try:
        mine, theirs = ipaddress.ip_address(local), ipaddress.ip_address(src)
    except ValueError:
        return False
    return mine.version == theirs.version and int(mine) > int(theirs)


@dataclass
class Env:
    """Host-wide inputs every vhost reads; CarpHost owns and updates the one instance."""

    personality: str = DEFAULT
    preempt: bool = False
    demotion: int = 0  # FreeBSD: admin + kernel demotion, added to advskew
    suppress_preempt: int = 0  # NetBSD / legacy: >0 forces advskew 240
    tos4: int = 0x10  # IPv4 TOS and IPv6 traffic class of our adverts (the policy's)
    tclass6: int = 0
    # The wall clock, read once per vhid: where its incrementing counter starts.
    wall: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.policy: Personality = policy(self.personality)


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
    dst4: str = CARP_GROUP_V4
    dst6: str = CARP_GROUP_V6
    src_mac: str = ""  # Ethernet source of our adverts (actions.Send.src_mac)


class VirtualHost:
    """INIT / BACKUP / MASTER for one vhid.  See the module docstring for time units."""

    version = 2  # CARP (carp.vrrp.VrrpHost: 3)
    master_down_timers = MasterDown  # how BACKUP keeps its per-family timers

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
            flavour=env.policy.name,
        )
        pol = env.policy
        # ours and the senders' (carp.adcounter), as the personality counts
        self.counter: AdvertCounter = CookieCounter(rng) if pol.cookie_counter else (
            SerialCounter(rng, env))
        self.mcast4 = is_multicast(params.dst4)  # multicast or unicast peer, per family
        self.mcast6 = is_multicast(params.dst6)
        self.ad_at: int | None = None  # MASTER: next advertisement (us)
        sends6 = bool(params.v6) and env.policy.sends_ipv6
        # BACKUP: the master-down timers of the families it times (IPv4's alone for a vhid
        # that advertises in neither: NetBSD sends no IPv6 adverts)
        self.down = self.master_down_timers((4,) * bool(params.v4) + (6,) * sends6 or (4,))
        self.lease_at: int | None = None  # MASTER: next renewal between two adverts (us)
        self.lease_left = 0  # renewals still due before the next advertisement
        self._plan: tuple[tuple[int, int, int], LeasePlan] | None = None  # lease_plan's
        self.announcer = Announcer(params, pol)  # gratuitous ARP / NA (carp.announce)
        self.last_heard: int | None = None  # us of the last accepted advertisement
        self.master_src = ""  # source of the last advert accepted from another master
        self.transitions = 0  # state changes since the vhid was made (carpd status/metrics)
        self.drops: dict[str, int] = {}  # carpstats counter -> drops that reached this vhid
        self._md: int | None = None  # cached master_down_us() for (advbase, advskew)
        self._md_for = (advbase, advskew)

    # -- timing (§4.2) ---------------------------------------------------------------

    def sent_advskew(self) -> int:
        """The advskew put in our packets, and compared with a received one."""
        pol = self.env.policy
        if not pol.demotion_raises_advskew:  # OpenBSD: no call on the hot path
            return self.advskew
        return pol.sent_advskew(self.advskew, self.env)

    def ad_interval_us(self) -> int:
        """advbase + advskew/256 of the advskew we send; 1/256 s at least."""
        us = self.advbase * US + skew_us(self.sent_advskew())
        return us or SKEW_US

    def master_down_us(self) -> int:
        return self.env.policy.master_down_us(self.advbase, self.advskew)

    def next_deadline_us(self) -> int | None:
        d, down = self.ad_at, self.down.at
        if d is None:
            return down
        if self.lease_at is not None and self.lease_at < d:
            d = self.lease_at
        if down is not None and down < d:
            d = down
        return d

    def lease_plan(self) -> LeasePlan:
        """How long our addresses are held per renewal, and how often (carp.lease).

        Worked out again only when its inputs change: it runs at every renewal, and at
        1,000 MASTER vhids working it out each time was 4 % of a core."""
        ad_us = self.ad_interval_us()
        key = (ad_us, self.advbase, self.advskew)
        if self._plan is None or self._plan[0] != key:
            pol = self.env.policy
            self._plan = key, plan(ad_us, pol.master_down_us(self.advbase, 0),
                                   self.master_down_us())
        return self._plan[1]

    def next_deadline(self) -> float | None:
        us = self.next_deadline_us()
        return None if us is None else us / US

    # -- the one place where state changes ------------------------------------------------

    def _set_state(self, new: str, reason: str, now_us: int) -> list[Action]:
        old = self.state
        if old == new:
            return []
        self.state, self.since, self.reason = new, now_us / US, reason
        self.transitions += 1
        p = self.p
        pol = self.env.policy
        acts: list[Action] = [StateChange(p.ifname, p.carpdev, p.vhid, old, new, reason)]
        for prio, text in pol.transition_logs(p, old, new, reason):
            acts.append(Log(prio, "state", text))
        if pol.counts_preempt and old == BACKUP and new == MASTER:
            acts.append(_PREEMPT)
        return acts

    # -- sending --------------------------------------------------------------------------

    def _advertise(self, bow_out: bool = False) -> list[Action]:
        """One advertisement per address family that has addresses (NetBSD: IPv4 only)."""
        p = self.p
        advbase, advskew = (BOW_OUT, BOW_OUT) if bow_out else (self.advbase, self.sent_advskew())
        demote = min(self.demote, 255) if self.env.policy.sends_demote else 0
        payload = make_advert(self.signer, p.vhid, advbase, advskew, self.counter.next(), demote)
        acts: list[Action] = []
        env = self.env
        zero_id = env.policy.zero_ip_id
        if p.v4:
            send = Send(p.ifname, p.carpdev, 4, p.dst4, payload, p.vhid, env.tos4, zero_id,
                        p.src_mac)
            acts += [send, _OPACKETS]
        if p.v6 and env.policy.sends_ipv6:
            send = Send(p.ifname, p.carpdev, 6, p.dst6, payload, p.vhid, env.tclass6, zero_id,
                        p.src_mac)
            acts += [send, _OPACKETS6]
        return acts

    def _lease(self, now_us: int, with_advert: bool) -> list[Action]:
        """Renew the addresses' lease; with an advertisement, plan this interval's others."""
        lease = self.lease_plan()
        if with_advert:
            self.lease_left = lease.renewals - 1
        else:
            self.lease_left -= 1
        self.lease_at = now_us + lease.gap_us if self.lease_left > 0 else None
        p = self.p
        return [Lease(p.ifname, p.carpdev, p.vhid, lease.seconds, p.v4 + p.v6)]

    def _send_tick(self, now_us: int) -> list[Action]:
        """Advertise and re-arm; OpenBSD's leader repeats its ARP round after 2 more ads."""
        acts = self._advertise()
        self.ad_at = now_us + self.ad_interval_us()
        acts += self._lease(now_us, with_advert=True)
        return acts + self.announcer.advertised()

    def _become_master(self, reason: str, now_us: int) -> list[Action]:
        """BACKUP -> MASTER: advertise first, then gratuitous ARP / NA, arm the ad timer."""
        acts = self._set_state(MASTER, reason, now_us)
        self.down.arm(None)
        acts += self._advertise()
        self.ad_at = now_us + self.ad_interval_us()
        acts += self._lease(now_us, with_advert=True)
        return acts + self.announcer.takeover()

    def _become_backup(self, reason: str, now_us: int) -> list[Action]:
        acts = self._set_state(BACKUP, reason, now_us)
        self.ad_at = self.lease_at = None
        self.announcer.stop()
        self.down.backup(now_us + self.master_down_us())
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
            return self.announcer.split_brain(now_us, self.ad_interval_us())
        self.last_heard, self.master_src = now_us, src
        acts = self._become_backup(R_MORE_FREQUENT, now_us)
        self.down.arm(now_us + self.master_down_us() + self.tie_jitter_us())
        return acts

    # -- events ---------------------------------------------------------------------------

    def start(self, now: float, reason: str = R_INIT_DONE) -> list[Action]:
        """setrun while up: INIT -> BACKUP, arm master-down.  What the vhid heard before
        it went INIT is forgotten: the group may have restarted meanwhile."""
        if self.state != INIT:
            return []
        self.counter.senders.clear()
        return self._become_backup(reason, to_us(now))

    def stop(self, now: float, reason: str, bow_out: bool = False) -> list[Action]:
        """-> INIT, all timers off; a MASTER first sends the 255/255 bow-out if asked."""
        if self.state == INIT:
            return []
        acts = self._advertise(bow_out=True) if bow_out and self.state == MASTER else []
        self.ad_at = self.lease_at = None
        self.down.arm(None)
        self.announcer.stop()
        return acts + self._set_state(INIT, reason, to_us(now))

    def timeout(self, now: float, slack: bool = False) -> list[Action]:
        """Run whichever timer is due at `now`; with `slack`, also an advertisement due
        within its advert slack (carp.deadlines), never a master-down or lease renewal."""
        now_us = to_us(now)
        acts: list[Action] = []
        down = self.down.at
        if down is not None and down <= now_us and self.state == BACKUP:
            acts += self._become_master(R_MASTER_TIMEOUT, now_us)
        if self.state != MASTER:
            return acts
        until = now_us + advert_slack_us(self.ad_interval_us()) if slack else now_us
        if self.ad_at is not None and self.ad_at <= until:
            acts += self._send_tick(now_us)
        # A renewal never runs early: the advert after it keeps its time, and the lease
        # plan's RENEW_SLACK (carp.lease) would lose what the renewal gained
        if self.lease_at is not None and self.lease_at <= now_us:
            acts += self._lease(now_us, with_advert=False)
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

    def receive(
        self, adv: Advert, now: float, src: str = "", local: str = "", family: int = 0
    ) -> list[Action]:
        """An authenticated advertisement for this vhid (§4.4), taken whatever its counter
        (`accept` is what the receive path calls)."""
        out = self.accept(adv, now, src, local, check=False, family=family)
        assert not isinstance(out, str)
        return out

    def accept(
        self, adv: Advert, now: float, src: str = "", local: str = "", check: bool = True,
        family: int = 0,
    ) -> list[Action] | str:
        """An authenticated advertisement for this vhid: "loop" or "replay" when it must
        still be dropped, else what §4.4 makes of it.  Hot path.

        "loop": OpenBSD's own cookie came back (§3); "replay": a sender's counter that is
        not newer than its last one (carp.adcounter, SerialCounter.heard).

        `src` is the sender's address, `local` ours on the carpdev in that family (the
        source of our own advertisements): they break ties between two MASTERs.
        `family` (4 or 6) is the advert's: a BACKUP restarts that family's master-down
        timer (0: every timer)."""
        state = self.state
        if state == INIT:
            return []
        if (why := self.counter.heard(adv.counter, src, check)) is not None:
            return why
        now_us = round(now * US)
        pol = self.env.policy
        skew = pol.sent_advskew(self.advskew, self.env) if pol.demotion_raises_advskew else (
            self.advskew
        )  # sent_advskew() inlined: this runs for every advert heard
        mine = self.advbase * US + skew * US // 256
        theirs = adv.advbase * US + adv.advskew * US // 256
        my_demote, ch_demote = self.demote, adv.demote
        if state == MASTER:
            if pol.is_tie(mine, theirs, my_demote, ch_demote):
                return self._yield_tie(now_us, src, local)
            if pol.master_yields(mine, theirs, my_demote, ch_demote):
                self.last_heard, self.master_src = now_us, src
                return self._become_backup(R_MORE_FREQUENT, now_us)
            return self.announcer.split_brain(now_us, self.ad_interval_us())
        self.last_heard, self.master_src = now_us, src
        # A BACKUP only ever takes over from a slower or a more demoted master, in every
        # BSD: the usual advert (faster, no more demoted) skips the policy's rules.
        if theirs > mine or ch_demote > my_demote:
            reason = pol.backup_takes_over(
                mine, theirs, my_demote, ch_demote, self.env.preempt, self.advbase
            )
            if reason is not None:
                return self._become_master(reason, now_us)
        md = self._md
        if md is None or self._md_for != (self.advbase, self.advskew):
            self._md_for = (self.advbase, self.advskew)
            md = self._md = self.master_down_us()
        self.down.restart(now_us + md, family)
        return []
