"""One virtual host: the CARP state machine of one vhid (pure, sans-IO).

Events are methods that take `now` and return actions; every state change goes
through `_set_state` (the model is OpenBSD's carp_set_state / h11's single transition
point).  Where the BSDs differ (timers, the election, counters, log texts) the vhid asks
its personality's policy object (carp.personality).

Time: `now` is float seconds on any monotonic clock.  Internally everything is integer
microseconds (`to_us`), the way the kernels compute `advskew*1000000/256`, so a
simulator passing `us / 1e6` gets deadlines back that round to the exact microsecond.

Master-down timers: one per address family, as every BSD keeps (sc_md_tmo, sc_md6_tmo).
Becoming BACKUP arms the timer of each family the vhid advertises in; an advertisement
restarts only the timer of its own family; either timer running out makes the vhid
MASTER.  So a backup that stops hearing the master in one family takes over although the
other family still gets through, as a BSD backup does (a VRRPv3 vhid waits for an
IPv6 advert before it times IPv6: carp.vrrp).

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

from carp.actions import Action, Announce, Count, Lease, Log, Send, StateChange
from carp.config import CARP_GROUP_V4, CARP_GROUP_V6
from carp.lease import LeasePlan, plan
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
from carp.wire import (
    Advert,
    Signer,
    counter_start,
    int_to_counter,
    is_multicast,
    make_advert,
    random_counter,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.personality.base import Personality

BOW_OUT = 255  # advbase = advskew = 255 in a leaving master's last advertisement
# Counters compare in RFC 1982 serial-number order on 64 bits: c comes after d when
# 0 < (c - d) mod 2**64 < 2**63, so a counter that wraps past 2**64 - 1 still comes after.
# Written out where it is used, as 0 < (c - d) & 0xFFFF_FFFF_FFFF_FFFF < 1 << 63 (folded
# into constants when compiled: the receive path runs it for every advert).

# Replay protection is per sender (the advert's IP source) within a vhid; what is known of
# a sender is [newest counter accepted, kind]:
ONCE = 0  # one counter heard (once or more: not yet told apart)
COOKIE = 1  # one counter repeated: OpenBSD's constant cookie, no protection possible
INCREMENTING = 2  # two different counters accepted: each must now be newer (FreeBSD, NetBSD)
MAX_SENDERS = 8  # senders remembered per vhid; a new one makes the vhid forget the oldest

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
        self.cookie: bytes | None = None  # OpenBSD: random once, then constant
        self.counter = 0  # FreeBSD/NetBSD: incrementing, takes a newer peer's
        self.init_counter = True
        # Per sender (IP source) since the vhid left INIT: [newest counter accepted, kind]
        # (ONCE, COOKIE, INCREMENTING; at most MAX_SENDERS, in the order first heard);
        # and the counter of our last advertisement.
        self.senders: dict[str, list[int]] = {}
        self.sent: int | None = None
        self.mcast4 = is_multicast(params.dst4)  # multicast or unicast peer, per family
        self.mcast6 = is_multicast(params.dst6)
        pol = env.policy  # read on every advert received: kept here
        self._cookie_counter = pol.cookie_counter
        self._refuses_replays = pol.refuses_replays and not pol.cookie_counter
        self.ad_at: int | None = None  # MASTER: next advertisement (us)
        # BACKUP: master-down deadline (us) per family; None where not armed
        self.down4: int | None = None
        self.down6: int | None = None
        sends6 = bool(params.v6) and env.policy.sends_ipv6
        # the families whose master-down timer BACKUP arms (IPv4's alone for a vhid
        # that advertises in neither: NetBSD sends no IPv6 adverts)
        self.down_families = (4,) * bool(params.v4) + (6,) * sends6 or (4,)
        self.lease_at: int | None = None  # MASTER: next renewal between two adverts (us)
        self.lease_left = 0  # renewals still due before the next advertisement
        self._plan: tuple[tuple[int, int, int], LeasePlan] | None = None  # lease_plan's
        self.delayed_arp = -1  # OpenBSD leader: ads left before the second ARP round
        self.last_heard: int | None = None  # us of the last accepted advertisement
        self.master_src = ""  # source of the last advert accepted from another master
        self.transitions = 0  # state changes since the vhid was made (carpd status/metrics)
        self.drops: dict[str, int] = {}  # carpstats counter -> drops that reached this vhid
        self.reannounced_at: int | None = None  # MASTER: last announcement after a split brain
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

    @property
    def down_at(self) -> int | None:
        """The earlier of the two master-down deadlines (None: neither armed)."""
        d4, d6 = self.down4, self.down6
        if d4 is None or (d6 is not None and d6 < d4):
            return d6
        return d4

    @down_at.setter
    def down_at(self, at: int | None) -> None:
        """carp_setrun(sc, 0): arm every family's timer at `at`; None stops both."""
        fams = self.down_families if at is not None else ()
        self.down4 = at if 4 in fams else None
        self.down6 = at if 6 in fams else None

    def _restart_down(self, at: int, family: int) -> None:
        """carp_setrun(sc, af): an advertisement of `family` restarts that family's timer
        (every armed one when the vhid keeps no timer for that family)."""
        if family == 4 and self.down4 is not None:
            self.down4 = at
        elif family == 6 and self.down6 is not None:
            self.down6 = at
        else:
            self.down_at = at

    def next_deadline_us(self) -> int | None:
        d, down = self.ad_at, self.down_at
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

    def _next_counter(self) -> bytes:
        if self.env.policy.cookie_counter:
            if self.cookie is None:
                self.cookie = random_counter(self.rng)
            return self.cookie
        if self.init_counter:  # first ad: the start (wall second, random), then counter++
            self.counter = counter_start(self.env.wall(), self.rng)
            self.init_counter = False
        else:
            self.counter = (self.counter + 1) & 0xFFFF_FFFF_FFFF_FFFF
        self.sent = self.counter
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
                        p.src_mac)
            acts += [send, _OPACKETS]
        if p.v6 and env.policy.sends_ipv6:
            send = Send(p.ifname, p.carpdev, 6, p.dst6, payload, p.vhid, env.tclass6, zero_id,
                        p.src_mac)
            acts += [send, _OPACKETS6]
        return acts

    def _announce(self) -> list[Action]:
        p = self.p
        return [Announce(p.ifname, p.carpdev, p.vhid, p.mac, p.v4 + p.v6)]

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
        acts += self._lease(now_us, with_advert=True)
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
        self.ad_at = self.lease_at = None
        self.delayed_arp = -1
        self.down_at = now_us + self.master_down_us()
        return acts

    def _reannounce(self, now_us: int) -> list[Action]:
        """We stay MASTER over another one, which yields on our next advertisement: a split
        brain is healing.  Clients and switches that followed the other master (its
        gratuitous ARP, its frames) are told again where the addresses are, as on a
        takeover, at most once per advertisement interval (a peer that never hears us
        would otherwise draw one round per advertisement it sends)."""
        last = self.reannounced_at
        if last is not None and now_us - last < self.ad_interval_us():
            return []
        if self.env.policy.delayed_announce and not (
            self.p.leader and self.p.balancing == "none"
        ):
            return []  # OpenBSD announces only there on a takeover too
        self.reannounced_at = now_us
        return self._announce()

    def tie_jitter_us(self) -> int:
        """Extra wait after yielding on a tie: 1/8 to 1/4 of master-down, at random.

        Far above userland timing noise (ms), so a peer that yields on ties too times
        out first and is heard before we do; random, so two such peers drift apart."""
        eighth = self.master_down_us() // 8
        return eighth + (self.rng or random).randrange(eighth + 1)

    def _yield_tie(self, now_us: int, src: str, local: str) -> list[Action]:
        """Equal timing and demotion from another MASTER (module docstring)."""
        if outranks(local, src):
            return self._reannounce(now_us)
        self.last_heard, self.master_src = now_us, src
        acts = self._become_backup(R_MORE_FREQUENT, now_us)
        self.down_at = now_us + self.master_down_us() + self.tie_jitter_us()
        return acts

    # -- events ---------------------------------------------------------------------------

    def start(self, now: float, reason: str = R_INIT_DONE) -> list[Action]:
        """setrun while up: INIT -> BACKUP, arm master-down.  What the vhid heard before
        it went INIT is forgotten: the group may have restarted meanwhile."""
        if self.state != INIT:
            return []
        self.senders.clear()
        return self._become_backup(reason, to_us(now))

    def stop(self, now: float, reason: str, bow_out: bool = False) -> list[Action]:
        """-> INIT, all timers off; a MASTER first sends the 255/255 bow-out if asked."""
        if self.state == INIT:
            return []
        acts = self._advertise(bow_out=True) if bow_out and self.state == MASTER else []
        self.ad_at = self.down_at = self.lease_at = None
        self.delayed_arp = -1
        return acts + self._set_state(INIT, reason, to_us(now))

    def timeout(self, now: float) -> list[Action]:
        """Run whichever timer is due at `now`."""
        now_us = to_us(now)
        acts: list[Action] = []
        down = self.down_at
        if down is not None and down <= now_us and self.state == BACKUP:
            acts += self._become_master(R_MASTER_TIMEOUT, now_us)
        if self.ad_at is not None and self.ad_at <= now_us and self.state == MASTER:
            acts += self._send_tick(now_us)
        if self.lease_at is not None and self.lease_at <= now_us and self.state == MASTER:
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

    def is_own(self, adv: Advert) -> bool:
        """OpenBSD: our own cookie came back (a loop or a replay)."""
        return self.env.policy.cookie_counter and adv.counter == self.cookie

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

        "loop": OpenBSD's own cookie came back (§3).  "replay" (policy.refuses_replays,
        this implementation's rule, not a BSD's; carp.4, "Replay"): the sender (`src`)
        is INCREMENTING, two of its accepted adverts having carried different counters,
        and this counter is not newer, in serial-number order, than the newest accepted
        from it since the vhid left INIT.  A sender that only repeats one counter is an
        OpenBSD cookie (a replay of it is the same bytes): always accepted; one whose
        repeated counter changes got a new cookie (OpenBSD recreated its vhost) and is
        heard afresh.  Each sender is compared with its own history only, so hosts that
        count and hosts with a constant cookie share a vhid.

        `src` is the sender's address, `local` ours on the carpdev in that family (the
        source of our own advertisements): they break ties between two MASTERs.
        `family` (4 or 6) is the advert's: a BACKUP restarts that family's master-down
        timer (0: every timer)."""
        state = self.state
        if state == INIT:
            return []
        if self._cookie_counter:
            if check and adv.counter == self.cookie:
                return "loop"
        else:
            c = int.from_bytes(adv.counter, "big")  # hot: no length check
            rec = self.senders.get(src)
            if rec is None:
                senders = self.senders
                if len(senders) >= MAX_SENDERS:
                    del senders[next(iter(senders))]  # forget the oldest
                senders[src] = [c, ONCE]
            else:
                last, kind = rec
                if c == last:
                    if kind == INCREMENTING:
                        if check and self._refuses_replays:
                            return "replay"
                    else:
                        rec[1] = COOKIE
                elif 0 < (c - last) & 0xFFFF_FFFF_FFFF_FFFF < 1 << 63:  # newer
                    rec[0] = c
                    rec[1] = ONCE if kind == COOKIE else INCREMENTING
                elif kind == INCREMENTING:
                    if check and self._refuses_replays:
                        return "replay"
                elif kind == ONCE:
                    rec[1] = INCREMENTING  # its newest stays the newest
                else:  # a new cookie
                    rec[0] = c
                    rec[1] = ONCE
            # FreeBSD and NetBSD copy the peer's counter; we take it only if it is newer,
            # so that what we send never goes back (the wire does not show the difference).
            if self.init_counter:
                self.counter = c
                self.init_counter = False
            elif 0 < (c - self.counter) & 0xFFFF_FFFF_FFFF_FFFF < 1 << 63:
                self.counter = c
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
            return self._reannounce(now_us)
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
        self._restart_down(now_us + md, family)
        return []
