"""One virtual host: the CARP state machine of one vhid (pure, sans-IO).

Events are methods that take `now` and return actions; every state change goes
through `_set_state` (the model is OpenBSD's carp_set_state / h11's single transition
point).  Where the BSDs differ (timers, the election, counters, log texts) the vhid asks
its personality's policy object (carp.personality).

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

§N refers to the protocol notes in docs/protocol.md.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from carp.actions import Action, Announce, Count, Log, Send, StateChange
from carp.config import CARP_GROUP_V4, CARP_GROUP_V6
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
from carp.wire import Advert, Signer, int_to_counter, make_advert, random_counter

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

    # -- timing (§4.2) ---------------------------------------------------------------

    def sent_advskew(self) -> int:
        """The advskew put in our packets."""
        return self.env.policy.sent_advskew(self.advskew, self.env)

    def ad_interval_us(self) -> int:
        """advbase + advskew/256 of the advskew we send; 1/256 s at least."""
        us = self.advbase * US + skew_us(self.sent_advskew())
        return us or SKEW_US

    def master_down_us(self) -> int:
        return self.env.policy.master_down_us(self.advbase, self.advskew)

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
        pol = self.env.policy
        acts: list[Action] = [StateChange(p.ifname, p.carpdev, p.vhid, old, new, reason)]
        for prio, text in pol.transition_logs(p, old, new, reason):
            acts.append(Log(prio, "state", text))
        if pol.counts_preempt and old == BACKUP and new == MASTER:
            acts.append(_PREEMPT)
        return acts

    # -- sending --------------------------------------------------------------------------

    def _next_counter(self) -> bytes:
        if self.env.policy.cookie_counter:
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
        demote = min(self.demote, 255) if self.env.policy.sends_demote else 0
        payload = make_advert(self.signer, p.vhid, advbase, advskew, self._next_counter(), demote)
        acts: list[Action] = []
        env = self.env
        zero_id = env.policy.zero_ip_id
        if p.v4:
            send = Send(p.ifname, p.carpdev, 4, p.dst4, payload, p.vhid, env.tos4, zero_id,
                        p.src_mac)  # fmt: skip
            acts += [send, _OPACKETS]
        if p.v6 and env.policy.sends_ipv6:
            send = Send(p.ifname, p.carpdev, 6, p.dst6, payload, p.vhid, env.tclass6, zero_id,
                        p.src_mac)  # fmt: skip
            acts += [send, _OPACKETS6]
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
        if self.p.balancing != "none":
            pass  # §6.2: no announcement; carpd's neighbour answers (balance.py) decide
        elif not self.env.policy.delayed_announce:
            acts += self._announce()
        elif self.p.leader:
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
        return self.env.policy.cookie_counter and adv.counter == self.cookie

    def receive(self, adv: Advert, now: float, src: str = "", local: str = "") -> list[Action]:
        """An authenticated advertisement for this vhid (§4.4).  Hot path.

        `src` is the sender's address, `local` ours on the carpdev in that family (the
        source of our own advertisements): they break ties between two MASTERs."""
        state = self.state
        if state == INIT:
            return []
        now_us = round(now * US)
        pol = self.env.policy
        if not pol.cookie_counter:  # own counter := received counter
            self.counter = int.from_bytes(adv.counter, "big")
            self.init_counter = False
        mine = self.advbase * US + pol.election_skew(self.advskew, self.env) * US // 256
        theirs = adv.advbase * US + adv.advskew * US // 256
        my_demote, ch_demote = self.demote, adv.demote
        if state == MASTER:
            if pol.is_tie(mine, theirs, my_demote, ch_demote):
                return self._yield_tie(now_us, src, local)
            if pol.master_yields(mine, theirs, my_demote, ch_demote):
                return self._become_backup(R_MORE_FREQUENT, now_us)
            return []
        self.last_heard = now_us
        reason = pol.backup_takes_over(
            mine, theirs, my_demote, ch_demote, self.env.preempt, self.advbase
        )
        if reason is not None:
            return self._become_master(reason, now_us)
        md = self._md
        if md is None or self._md_for != (self.advbase, self.advskew):
            self._md_for = (self.advbase, self.advskew)
            md = self._md = self.master_down_us()
        self.down_at = now_us + md
        return []
