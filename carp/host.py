"""The carp part of one host's kernel, pure: every virtual host, the sysctls, demotion.

carpd and the simulator (tests/sim) drive only this:

    host = CarpHost(personality="openbsd", name="hostA")
    acts = host.configure(state.sysctl, interfaces, groups, now)   # from the store
    acts = host.packet(carpdev, family, src, dst, ttl, payload, now, local)  # one IP payload
    acts = host.link(carpdev, up, now)                              # parent link state
    acts = host.timeout(now)                                        # run every due timer
    host.next_deadline() -> float | None                            # absolute, same clock as now
    acts = host.shutdown(now)                                       # bow-out + INIT everywhere
    host.status() -> dict                                           # carp.host_status

* `now` is a float in seconds on any monotonic clock; the core reads no clock but the
  wall clock, once per vhid, for where its counter starts (see `wall` below).
* `configure` is idempotent and applies only the difference: a vhid whose parameters did
  not change keeps its state (no flap on reload); changed vhid/addresses/key go INIT and
  restart; changed advbase/advskew just take effect; an interface equal to the one
  configured last costs one comparison (a thousand vhids, one changed by a write).
  Interfaces whose carpdev is down
  (as last reported by `link`) stay INIT.  `state_request` with a new seq is applied once.
* `packet` follows the personality's validation order (§7), returns
  Count actions for every counter (ipackets, badttl, badsum, badvhid, badauth, ...), Log
  actions for the diagnostics of §8, and the state logic of §4.4.
* Demotion per personality (§5): OpenBSD group carpdemote (store groups + kernel +1
  on carpdev down), FreeBSD net.inet.carp.demotion (+ifdown factor), legacy/NetBSD
  suppress_preempt (advskew 240 on every vhid while >0).  Any rise sends ads at once.
* What is not reconciliation, timers or status lives beside it: demotion (carp.demotion,
  the scheme the personality picks), receive validation (carp.validation, the order it
  picks), making vhids (carp.vhid_factory), the timer heap (carp.deadlines), balancing
  membership (carp.membership) and the status records (carp.host_status).

§N refers to the protocol notes in docs/protocol.md.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterable, Mapping

from carp import mib
from carp import states as st
from carp.actions import (
    NOT_SENT,
    Action,
    Count,
    Log,
    Send,
)
from carp.config import CarpInterface
from carp.deadlines import ADVERT_SLACK_US, Deadlines
from carp.host_status import host_status
from carp.membership import Membership
from carp.personality import DEFAULT
from carp.validation import COUNT, bad_ttl_seen
from carp.vhid_factory import identity, make_vhost, retime, speaks
from carp.vhost import BACKUP, INIT, MASTER, Env, VirtualHost
from carp.wire import STAT_FIELDS

CARP = "net.inet.carp"
VKey = tuple[str, int]  # (carp interface key, vhid)


class CarpHost:
    """All virtual hosts of one host and its carp sysctls: reconciliation, timers, status.

    Beyond the contract above:
    * Log actions are already filtered by this personality's net.inet.carp.log.
    * `carpdev` arguments are interface names as the store spells them (BSD names).
    * `send_result(send, errno_or_None, now)` feeds send-error demotion (optional); an
      advert that never left (carp.actions.NOT_SENT) is not counted as sent.
    * status() is carp.host_status's; `balancing` (carp.membership) answers what carpd
      answers and filters itself (answered, neighbour_answer, shares and state_word here
      ask it: carpd's calls).
    * `rng` seeds the counters (the simulator's determinism); default os.urandom.
    * `wall` is the wall clock an incrementing counter starts from (carp.wire.counter_start),
      read once per vhid; default time.time.  The simulator passes its own.
    """

    def __init__(
        self, personality: str = DEFAULT, name: str = "", rng: random.Random | None = None,
        wall: Callable[[], float] | None = None,
    ) -> None:
        self.personality = personality
        self.name = name
        self.rng = rng
        self.env = Env(personality)
        if wall is not None:
            self.env.wall = wall
        self.policy = self.env.policy
        self.sysctl = mib.defaults(self.policy)
        self._allow = True  # net.inet.carp.allow, cached: read on every packet
        self.ifaces: dict[str, CarpInterface] = {}
        self.vhosts: dict[VKey, VirtualHost] = {}
        self._ident: dict[VKey, tuple[object, ...]] = {}
        self._by_dev: dict[tuple[str, int], list[VirtualHost]] = {}
        self._devs: set[str] = set()  # parents that carry carp
        self.link_down: set[str] = set()
        self.counters: dict[str, int] = dict.fromkeys(STAT_FIELDS, 0)
        self._seq: dict[str, int] = {}
        self._configured = False
        self.demotion = self.policy.demotion(self)
        self.deadlines = Deadlines(self.vhosts.values)
        self.balancing = Membership(self)
        self._validate = self.policy.validator()

    # -- sysctl helpers -------------------------------------------------------------

    def _sc(self, short: str) -> int:
        return self.sysctl.get(f"{CARP}.{short}", 0)

    @property
    def allow(self) -> bool:
        return self._allow

    def _post(
        self, acts: list[Action], touched: Iterable[VirtualHost] | None = None
    ) -> list[Action]:
        """Count every Count, drop Log lines the log level hides, and requeue the
        deadlines of the vhids `touched` (None: any vhid may have changed)."""
        out: list[Action] = []
        for a in acts:
            if isinstance(a, Count):
                self.counters[a.stat] = self.counters.get(a.stat, 0) + 1
            elif isinstance(a, Log):
                prio = self.policy.log_priority(self._sc("log"), a.priority, a.kind)
                if prio is None:
                    continue
                if prio != a.priority:
                    a = Log(prio, a.kind, a.text)
            out.append(a)
        if touched is None:
            self.deadlines.invalidate()
        else:
            self.deadlines.touch(touched)
        return out

    # -- configuration -----------------------------------------------------------------

    def configure(
        self,
        sysctl: Mapping[str, int],
        interfaces: Mapping[str, CarpInterface] | Iterable[CarpInterface],
        groups: Mapping[str, Mapping[str, int]] | None,
        now: float,
    ) -> list[Action]:
        """Apply the store: only the difference (see the contract above)."""
        before = self.demotion.snapshot()
        self.sysctl = {**mib.defaults(self.policy), **dict(sysctl)}
        self.env.preempt = self._sc("preempt") != 0
        self.env.tos4 = self.policy.tos(4, self.sysctl)
        self.env.tclass6 = self.policy.tos(6, self.sysctl)
        self._allow = self._sc("allow") != 0
        demotes = {g: int(attrs.get("carpdemote", 0)) for g, attrs in (groups or {}).items()}
        acts = self.demotion.configure(self.sysctl, demotes)
        items = interfaces.values() if isinstance(interfaces, Mapping) else interfaces
        new: dict[str, CarpInterface] = {}
        same: set[str] = set()  # interfaces as they were: their vhids are left alone
        for ci in items:
            old = self.ifaces.get(ci.key)
            if old is not None and old == ci:
                new[ci.key] = old
                same.add(ci.key)
            else:
                new[ci.key] = copy.deepcopy(ci)
        acts += self._reconcile_vhosts(new, same, now)
        acts += self.demotion.update(before, now)
        acts += self._run_all(now)
        acts += self._state_requests(now)
        self._configured = True
        return self._post(acts)

    def _reconcile_vhosts(
        self, new: dict[str, CarpInterface], same: set[str], now: float
    ) -> list[Action]:
        """Stop, start or adjust the vhids of the interfaces not in `same` (unchanged
        since the last configure: a write at a thousand vhids touches one)."""
        acts: list[Action] = []
        wanted: dict[VKey, CarpInterface] = {
            (key, n.vhid): ci for key, ci in new.items() for n in ci.nodes if n.vhid > 0
        }
        for vkey in list(self.vhosts):
            if vkey[0] in same:
                continue
            ci = wanted.get(vkey)
            if ci is None or identity(ci, vkey[1]) != self._ident[vkey]:
                old = self.vhosts.pop(vkey)
                del self._ident[vkey]
                reason = st.R_REMOVED if ci is None else st.R_USER
                acts += old.stop(now, reason, bow_out=self._bows_out())
        for vkey, ci in wanted.items():
            if vkey[0] in same and vkey in self.vhosts:
                continue
            node = next(n for n in ci.nodes if n.vhid == vkey[1])
            if vkey in self.vhosts:
                retime(self.vhosts[vkey], ci, node.advskew)
            else:
                self.vhosts[vkey] = make_vhost(self.env, ci, vkey[1], node.advskew, self.rng)
                self._ident[vkey] = identity(ci, vkey[1])
        self.ifaces = new
        self._by_dev = {}
        for (_key, vhid), v in self.vhosts.items():
            self._by_dev.setdefault((v.p.carpdev, vhid), []).append(v)
        self._devs = {d for ci in new.values() if (d := ci.parent)}
        return acts

    def _bows_out(self) -> bool:
        return self.policy.bows_out

    def runnable(self, vkey: VKey) -> str | None:
        """None if the vhid may run, else the reason it must stay (or go) INIT."""
        ci = self.ifaces.get(vkey[0])
        parent = ci.parent if ci else None
        if ci is None or not parent or not speaks(self.policy, ci):
            return st.R_USER
        if parent in self.link_down:
            return st.R_IF_DOWN
        if self.policy.allow_stops_vhids and not self.allow:
            return st.R_IF_DOWN
        if not ci.up or not ci.addresses_for(vkey[1]):
            return st.R_USER
        return None

    def _run_all(self, now: float) -> list[Action]:
        """setrun for every vhid: INIT -> BACKUP when it may run, -> INIT when it may not."""
        acts: list[Action] = []
        for vkey, v in self.vhosts.items():
            why = self.runnable(vkey)
            if why is None and v.state == INIT:
                was_down = v.reason == st.R_IF_DOWN
                acts += v.start(now, st.R_IF_UP if was_down else st.R_INIT_DONE)
            elif why is not None and v.state != INIT:
                bow = why == st.R_USER and self._bows_out()
                acts += v.stop(now, why, bow_out=bow)
        return acts

    def _state_requests(self, now: float) -> list[Action]:
        """`state master|backup`: applied once per new seq (not replayed at carpd start)."""
        acts: list[Action] = []
        for key, ci in self.ifaces.items():
            req = ci.state_request
            if req is None or self._seq.get(key) == req.seq:
                continue
            self._seq[key] = req.seq
            if not self._configured:
                continue
            for (k, vhid), v in self.vhosts.items():
                if k == key and (req.vhid is None or req.vhid == vhid):
                    acts += v.request(req.state.upper(), now)
        return acts

    def send_result(self, act: Send, error: int | None, now: float) -> list[Action]:
        """How one Send went (`error` = errno, None = sent): send-error demotion.
        An advert that never left (NOT_SENT) takes back the opackets counted with it."""
        if error == NOT_SENT:
            self.counters["opackets" if act.family == 4 else "opackets6"] -= 1
        acts = self.demotion.send_result(act, error, now)
        return self._post(acts) if acts else []

    # -- events ------------------------------------------------------------------------

    def link(self, carpdev: str, up: bool, now: float) -> list[Action]:
        """Parent link state: down -> INIT + demotion; up -> BACKUP, demotion undone."""
        if up == (carpdev not in self.link_down):
            return []
        before = self.demotion.snapshot()
        if up:
            self.link_down.discard(carpdev)
        else:
            self.link_down.add(carpdev)
        # OpenBSD order: INIT first, then demote; on recovery setrun, then undo demotion.
        return self._post(self._run_all(now) + self.demotion.update(before, now))

    def timeout(self, now: float) -> list[Action]:
        """Run every timer due at `now`, and the MASTER advertisements within their slack
        (carp.deadlines): their phases merge, so carpd wakes less often."""
        acts: list[Action] = []
        fired: list[VirtualHost] = []
        for v in self.deadlines.due(st.to_us(now), ADVERT_SLACK_US):
            acts += v.timeout(now, slack=True)
            fired.append(v)
        return self._post(acts, fired)

    def next_deadline(self) -> float | None:
        """The earliest timer of any vhid (absolute, same clock as `now`), or None."""
        us = self.deadlines.next_us()
        return None if us is None else us / st.US

    def shutdown(self, now: float) -> list[Action]:
        """carpd exits: MASTERs bow out (OpenBSD/NetBSD), every vhid goes INIT."""
        acts: list[Action] = []
        for v in self.vhosts.values():
            acts += v.stop(now, st.R_SHUTDOWN, bow_out=self._bows_out())
        return self._post(acts)

    def packet(
        self,
        carpdev: str,
        family: int,
        src: str,
        dst: str,
        ttl: int,
        payload: bytes,
        now: float,
        local: str = "",
    ) -> list[Action]:
        """One received CARP payload, validated in the personality's order (§7).

        `local` is our own address on `carpdev` in that family, the one our
        advertisements leave from: it breaks ties between two MASTERs (carp.vhost)."""
        acts: list[Action] = [COUNT["ipackets" if family == 4 else "ipackets6"]]
        if not self._allow:
            return self._post(acts, ())
        if type(payload) is not bytes:  # the decode cache needs a hashable payload
            payload = bytes(payload)
        reached = self._validate(
            acts, self._by_dev, self._devs, carpdev, family, src, dst, ttl, payload, now, local
        )
        return self._post(acts, (reached,) if reached else ())

    def bad_ttl(self, carpdev: str, ttls: list[int]) -> list[Action]:
        """IPv4 advertisements received on `carpdev` whose TTL (each of `ttls`) is not
        255, where the personality checks the TTL first (policy.ttl_first_v4): what
        `packet` would do with each (count and log it), without parsing them."""
        acts: list[Action] = []
        bad_ttl_seen(acts, ttls, carpdev, self._allow)
        return self._post(acts, ())

    # -- status and balancing ---------------------------------------------------------

    def status(self) -> dict[str, object]:
        """Runtime status carpd publishes (shape in carp.host_status)."""
        return host_status(self)

    def states(self) -> dict[VKey, str]:
        """(interface key, vhid) -> state: a compact view for tests and the simulator."""
        return {vk: v.state for vk, v in self.vhosts.items()}


__all__ = ["BACKUP", "INIT", "MASTER", "CarpHost"]  # states re-exported
