"""The carp part of one host's kernel, pure: every virtual host, the sysctls, demotion.

carpd and the simulator (tests/sim) drive only this:

    host = CarpHost(personality="openbsd", name="hostA")
    acts = host.configure(state.sysctl, interfaces, groups, now)   # from the store
    acts = host.packet(carpdev, family, src, dst, ttl, payload, now, local)  # one IP payload
    acts = host.link(carpdev, up, now)                              # parent link state
    acts = host.timeout(now)                                        # run every due timer
    host.next_deadline() -> float | None                            # absolute, same clock as now
    acts = host.shutdown(now)                                       # bow-out + INIT everywhere
    host.status() -> dict                                           # see below

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
* status() -> {"vhosts": {iface_key: {str(vhid): {"state", "since", "reason", ...}}},
               "counters": {stat: n}, "demotion": int, "groups": {name: demote},
               "suppress_preempt": int}

§N refers to the protocol notes in docs/protocol.md.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import random
import socket
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
from carp.balance import (
    Answer,
    ArpMember,
    Share,
    advert_source,
    arp_members,
    arp_responder,
    balanced_addresses,
    neighbour_answer,
    share,
    state_word,
)
from carp.config import CARP_GROUP_V4, CARP_GROUP_V6, CarpInterface, macvlan_mac
from carp.mac import PARENT_MAC
from carp.personality import DEFAULT
from carp.validation import COUNT, bad_ttl_seen
from carp.vhost import BACKUP, INIT, MASTER, Env, Params, VirtualHost
from carp.vrrp import VrrpHost
from carp.wire import (
    STAT_FIELDS,
    hmac_key,
    mac_bytes,
    virtual_mac,
)

CARP = "net.inet.carp"
VKey = tuple[str, int]  # (carp interface key, vhid)



def _canonical(addr: str) -> str:
    """The one spelling of an address (inet_ntop's), as the neighbour sockets see it."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return socket.inet_ntop(family, socket.inet_pton(family, addr))


def _identity(ci: CarpInterface, vhid: int) -> tuple[object, ...]:
    """Everything whose change restarts a vhid (advbase/advskew/up only take effect)."""
    addrs = tuple(sorted((a.address, a.prefixlen) for a in ci.addresses_for(vhid)))
    return (
        ci.style, ci.parent, vhid, addrs, ci.passphrase, ci.lladdr, ci.effective_balancing,
        ci.peer, ci.peer6, ci.vhid, len(ci.nodes), ci.version,
    )




class CarpHost:
    """All virtual hosts of one host, its carp sysctls, demotion and receive validation.

    Beyond the contract above:
    * Log actions are already filtered by this personality's net.inet.carp.log.
    * `carpdev` arguments are interface names as the store spells them (BSD names).
    * `send_result(send, errno_or_None, now)` feeds send-error demotion (optional); an
      advert that never left (carp.actions.NOT_SENT) is not counted as sent.
    * status() vhost entries also carry "transitions" (state changes so far), "master" (the
      source of the last advertisement accepted from another master, "" if none) and
      "heard" (when, on the clock of `now`, or None), "drops" (counter -> packets dropped
      after they reached this vhid), "carpdev" and "name" (the interface as ifconfig
      names it), "advbase", "advskew" (as sent) and "demote", and the
      lease plan of carp.lease: "lease" (seconds), "lease_renewals" (per interval),
      "lease_bound" (s from an advert to the addresses gone) and "lease_any_backup";
      A VRRPv3 vhid (carp.vrrp, `carpver 3` where the personality speaks it) adds
      "prio", "interval" and "master_interval" (the learned one), in centiseconds.
      "demotion" is carpd's own FreeBSD demotion (ifdown + senderr), the admin part
      stays in the store; "groups" are OpenBSD's effective counters (store + kernel).
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
        # Lazy min-heap of (deadline_us, seq, vhost): an entry is live while the vhost
        # still has that deadline.  Scanning every vhid per wake-up was O(n^2) a second.
        self._heap: list[tuple[int, int, VirtualHost]] = []
        self._heap_seq = itertools.count()
        self._dirty = True  # rebuild the heap from every vhid before the next use
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
            self._dirty = True
        else:
            for v in touched:
                self._push(v)
        return out

    def _push(self, v: VirtualHost) -> None:
        d = v.next_deadline_us()
        if d is not None:
            heapq.heappush(self._heap, (d, next(self._heap_seq), v))

    def _live_heap(self) -> list[tuple[int, int, VirtualHost]]:
        """The heap, rebuilt when stale, with dead entries popped off its top."""
        if self._dirty or len(self._heap) > 4 * len(self.vhosts) + 64:
            self._heap = []
            for v in self.vhosts.values():
                self._push(v)
            self._dirty = False
        heap = self._heap
        while heap and heap[0][2].next_deadline_us() != heap[0][0]:
            heapq.heappop(heap)
        return heap

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
            if ci is None or _identity(ci, vkey[1]) != self._ident[vkey]:
                old = self.vhosts.pop(vkey)
                del self._ident[vkey]
                reason = st.R_REMOVED if ci is None else st.R_USER
                acts += old.stop(now, reason, bow_out=self._bows_out())
        for vkey, ci in wanted.items():
            if vkey[0] in same and vkey in self.vhosts:
                continue
            node = next(n for n in ci.nodes if n.vhid == vkey[1])
            if vkey in self.vhosts:
                v = self.vhosts[vkey]
                v.advbase, v.advskew = ci.advbase, node.advskew
                if isinstance(v, VrrpHost):
                    v.prio, v.interval_cs = ci.vrrp_prio, ci.vrrp_interval
            else:
                self.vhosts[vkey] = self._make_vhost(ci, vkey[1], node.advskew)
                self._ident[vkey] = _identity(ci, vkey[1])
        self.ifaces = new
        self._by_dev = {}
        for (_key, vhid), v in self.vhosts.items():
            self._by_dev.setdefault((v.p.carpdev, vhid), []).append(v)
        self._devs = {d for ci in new.values() if (d := ci.parent)}
        return acts

    def _make_vhost(self, ci: CarpInterface, vhid: int, advskew: int) -> VirtualHost:
        addrs = ci.addresses_for(vhid)
        leader = vhid == ci.vhid
        balancing = ci.effective_balancing
        default_mac = virtual_mac(vhid)
        mac = ci.lladdr or virtual_mac(vhid, multicast=leader and balancing == "ip")
        hmac_mac = None
        if self.policy.hashes_lladdr and leader and ci.lladdr and ci.lladdr.lower() != default_mac:
            hmac_mac = mac_bytes(ci.lladdr)  # §2.2 step 2 (realmac case ignored)
        src_mac = "" if self.policy.vmac_source else macvlan_mac(ci)
        if (sh := share(ci)) is not None:  # carp_start: balancing modes choose themselves
            src_mac = advert_source(sh.mode, leader, vhid, macvlan_mac(ci)) or PARENT_MAC
        vrrp = self._speaks(ci) and ci.version == 3
        params = Params(
            ifname=ci.key, logname=ci.name, carpdev=ci.parent or "", vhid=vhid,
            v4=tuple(a.address for a in addrs if a.family == 4),
            v6=tuple(a.address for a in addrs if a.family == 6),
            key=hmac_key(ci.passphrase), mac=mac, hmac_mac=hmac_mac, leader=leader,
            nodes=len(ci.nodes), balancing=balancing,
            dst4=CARP_GROUP_V4 if vrrp else ci.peer,  # VRRPv3 ignores the peer (§1.7)
            dst6=CARP_GROUP_V6 if vrrp else ci.peer6,
            src_mac=src_mac,
        )
        if vrrp:
            return VrrpHost(self.env, params, ci.vrrp_prio, ci.vrrp_interval, rng=self.rng)
        return VirtualHost(self.env, params, ci.advbase, advskew, rng=self.rng)

    def _speaks(self, ci: CarpInterface) -> bool:
        """This kernel runs vhids of the interface's protocol version (3: VRRPv3)."""
        return ci.version == 2 or (ci.version == 3 and self.policy.speaks_vrrp)

    def _bows_out(self) -> bool:
        return self.policy.bows_out

    def _runnable(self, vkey: VKey) -> str | None:
        """None if the vhid may run, else the reason it must stay (or go) INIT."""
        ci = self.ifaces.get(vkey[0])
        parent = ci.parent if ci else None
        if ci is None or not parent or not self._speaks(ci):
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
            why = self._runnable(vkey)
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
        """Run every timer due at `now`."""
        now_us = st.to_us(now)
        heap = self._live_heap()
        acts: list[Action] = []
        fired: dict[int, VirtualHost] = {}
        while heap and heap[0][0] <= now_us:
            d, _, v = heapq.heappop(heap)
            if id(v) in fired or v.next_deadline_us() != d:
                continue  # a stale entry
            acts += v.timeout(now)
            fired[id(v)] = v
        return self._post(acts, fired.values())

    def next_deadline(self) -> float | None:
        """The earliest timer of any vhid (absolute, same clock as `now`), or None."""
        heap = self._live_heap()
        return heap[0][0] / st.US if heap else None

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

    # -- status ------------------------------------------------------------------------

    def status(self) -> dict[str, object]:
        """Runtime status carpd publishes (shape in the module docstring)."""
        vhosts: dict[str, dict[str, dict[str, object]]] = {}
        for (key, vhid), v in sorted(self.vhosts.items()):
            lease = v.lease_plan()
            vhosts.setdefault(key, {})[str(vhid)] = {
                "state": v.state, "since": v.since, "reason": v.reason,
                "transitions": v.transitions, "master": v.master_src,
                "heard": None if v.last_heard is None else v.last_heard / st.US,
                "drops": dict(v.drops), "carpdev": v.p.carpdev, "name": v.p.logname,
                "advbase": v.advbase, "advskew": v.sent_advskew(), "demote": v.demote,
                "lease": lease.seconds, "lease_renewals": lease.renewals,
                "lease_bound": lease.bound_us / st.US, "lease_any_backup": lease.any_backup,
            }
            if isinstance(v, VrrpHost):
                vhosts[key][str(vhid)].update(
                    prio=v.prio, interval=v.interval_cs, master_interval=v.master_cs)
        return {"vhosts": vhosts, "counters": dict(self.counters), **self.demotion.status()}

    # -- ARP balancing (net.inet.carp.arpbalance, §6.3/6.4) ---------------------------

    def _arp_members(self) -> dict[tuple[str, str], list[ArpMember]]:
        if not self._sc("arpbalance"):
            return {}
        masters = {vk for vk, v in self.vhosts.items() if v.state == MASTER}
        runnable = [ci for k, ci in self.ifaces.items() if not self._runnable((k, ci.vhid))]
        return arp_members(runnable, masters)

    def arp_balanced(self) -> dict[str, set[str]]:
        """carpdev -> the addresses whose ARP requests carpd answers itself."""
        return balanced_addresses(self._arp_members())

    def arp_answer(self, dev: str, target_ip: str, sender_mac: str, sender_ip: str) -> str | None:
        """The MAC this host answers a balanced who-has with, or None (stay silent)."""
        members = self._arp_members().get((dev, target_ip), [])
        chosen = arp_responder(self.policy, members, mac_bytes(sender_mac), sender_ip)
        return chosen.mac if chosen else None

    # -- carpnodes balancing (§6.1, §6.2): what carpd puts in the kernel filter ----------

    def shares(self) -> dict[str, Share]:
        """Interface key -> its Share, for every carp interface in a balancing mode."""
        out: dict[str, Share] = {}
        for key, ci in self.ifaces.items():
            sh = share(ci)
            if sh is not None:
                out[key] = sh
        return out

    def masters(self, key: str) -> list[bool]:
        """Node i of interface `key` (vhid order) is MASTER here."""
        ci = self.ifaces.get(key)
        if ci is None:
            return []
        vhosts = self.vhosts
        return [(v := vhosts.get((key, vhid))) is not None and v.state == MASTER
                for vhid in sorted(n.vhid for n in ci.nodes)]

    def state_word(self, key: str) -> int:
        """The filter's state word of interface `key` (balance.state_word)."""
        ci = self.ifaces.get(key)
        vhids = sorted(n.vhid for n in ci.nodes) if ci else []
        return state_word(self.masters(key), vhids)

    def answered(self) -> dict[str, set[str]]:
        """carpdev -> the addresses whose ARP requests / solicitations carpd answers
        itself: net.inet.carp.arpbalance's and those of balanced interfaces."""
        out = {dev: set(addrs) for dev, addrs in self.arp_balanced().items()}
        for key, sh in self.shares().items():
            for a in self.ifaces[key].addresses:
                out.setdefault(sh.carpdev, set()).add(_canonical(a.address))
        return out

    def neighbour_answer(self, dev: str, target: str, sender_mac: str | None,
                         sender_ip: str) -> tuple[str, Answer] | None:
        """How this host answers a who-has / solicitation for `target` on `dev`:
        (interface key, answer), or None for silence."""
        for key, sh in self.shares().items():
            if sh.carpdev != dev:
                continue
            if any(_canonical(a.address) == target for a in self.ifaces[key].addresses):
                ans = neighbour_answer(sh, self.masters(key), sender_mac)
                return None if ans is None else (key, ans)
        if sender_mac is None or ":" in target:
            return None
        mac = self.arp_answer(dev, target, sender_mac, sender_ip)
        return ("", Answer(mac, mac, -1)) if mac else None

    def states(self) -> dict[VKey, str]:
        """(interface key, vhid) -> state: a compact view for tests and the simulator."""
        return {vk: v.state for vk, v in self.vhosts.items()}


__all__ = ["BACKUP", "INIT", "MASTER", "CarpHost"]  # states re-exported
