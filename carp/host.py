"""The carp part of one host's kernel, pure: every virtual host, the sysctls, demotion.

CONTRACT (implemented by the protocol-core work; carpd and tests/sim drive only this):

    host = CarpHost(personality="openbsd", name="hostA")
    acts = host.configure(state.sysctl, interfaces, groups, now)   # from the store
    acts = host.packet(carpdev, family, src, dst, ttl, payload, now)  # one received IP payload
    acts = host.link(carpdev, up, now)                              # parent link state
    acts = host.timeout(now)                                        # run every due timer
    host.next_deadline() -> float | None                            # absolute, same clock as now
    acts = host.shutdown(now)                                       # bow-out + INIT everywhere
    host.status() -> dict                                           # see below

* `now` is a float in seconds on any monotonic clock; the core never reads a clock.
* `configure` is idempotent and applies only the difference: a vhid whose parameters did
  not change keeps its state (no flap on reload); changed vhid/addresses/key go INIT and
  restart; changed advbase/advskew just take effect.  Interfaces whose carpdev is down
  (as last reported by `link`) stay INIT.  `state_request` with a new seq is applied once.
* `packet` follows the personality's validation order (carp-protocol.md section 7), returns
  Count actions for every counter (ipackets, badttl, badsum, badvhid, badauth, ...), Log
  actions for the diagnostics of section 8, and the state logic of section 4.4.
* Demotion per personality (section 5): OpenBSD group carpdemote (store groups + kernel +1
  on carpdev down), FreeBSD net.inet.carp.demotion (+ifdown factor), legacy/NetBSD
  suppress_preempt (advskew 240 on every vhid while >0).  Any rise sends ads at once.
* status() -> {"vhosts": {iface_key: {str(vhid): {"state", "since", "reason"}}},
               "counters": {stat: n}, "demotion": int, "groups": {name: demote},
               "suppress_preempt": int}
"""

from __future__ import annotations

import copy
import errno
import heapq
import itertools
import random
from collections.abc import Iterable, Mapping
from functools import lru_cache

from carp import states as st
from carp.actions import (
    LOG_ERR,
    LOG_INFO,
    LOG_NOTICE,
    LOG_WARNING,
    Action,
    Count,
    Log,
    Send,
)
from carp.balance import ArpMember, arp_responder
from carp.config import CarpInterface
from carp.vhost import BACKUP, INIT, MASTER, Env, Params, VirtualHost
from carp.wire import (
    STAT_FIELDS,
    Reject,
    decode,
    hmac_key,
    is_multicast,
    mac_bytes,
    virtual_mac,
)

try:  # sysctl/tree.py is the MIB; fall back to reference section 9 if it is absent
    from sysctl.tree import DEFAULTS as _TREE_DEFAULTS
except ImportError:  # pragma: no cover - only while the tree is being written
    _TREE_DEFAULTS = {}

CARP = "net.inet.carp"
_FALLBACK_DEFAULTS: dict[str, dict[str, int]] = {
    "openbsd": {f"{CARP}.allow": 1, f"{CARP}.preempt": 0, f"{CARP}.log": 2},
    "freebsd": {
        f"{CARP}.allow": 1, f"{CARP}.preempt": 0, f"{CARP}.log": 1, f"{CARP}.demotion": 0,
        f"{CARP}.ifdown_demotion_factor": 240, f"{CARP}.senderr_demotion_factor": 240,
        f"{CARP}.dscp": 56,
    },
    "netbsd": {f"{CARP}.allow": 1, f"{CARP}.preempt": 0, f"{CARP}.log": 0},
}  # fmt: skip

VKey = tuple[str, int]  # (carp interface key, vhid)

# Count is frozen: share one instance per counter instead of building one per packet.
_COUNT: dict[str, Count] = {stat: Count(stat) for stat in STAT_FIELDS}

# decode is pure and Advert is frozen: hosts on one LAN share the work (simulator speed).
_decode = lru_cache(maxsize=4096)(decode)


def defaults(personality: str) -> dict[str, int]:
    return dict(_TREE_DEFAULTS.get(personality) or _FALLBACK_DEFAULTS[personality])



def _parent(ci: CarpInterface) -> str | None:
    """The physical interface a vhid lives on (FreeBSD vhid style: the interface itself)."""
    return ci.name if ci.style == "vhid" else ci.carpdev


def _identity(ci: CarpInterface, vhid: int) -> tuple[object, ...]:
    """Everything whose change restarts a vhid (advbase/advskew/up only take effect)."""
    addrs = tuple(sorted((a.address, a.prefixlen) for a in ci.addresses_for(vhid)))
    return (
        ci.style, _parent(ci), vhid, addrs, ci.passphrase, ci.lladdr, ci.effective_balancing,
        ci.peer, ci.peer6, ci.vhid, len(ci.nodes), ci.version,
    )  # fmt: skip




class CarpHost:
    """All virtual hosts of one host, its carp sysctls, demotion and receive validation.

    Beyond the contract above:
    * Log actions are already filtered by this personality's net.inet.carp.log.
    * `carpdev` arguments are interface names as the store spells them (BSD names).
    * `send_result(send, errno_or_None, now)` feeds send-error demotion (optional).
    * status() vhost entries also carry "advbase", "advskew" (as sent) and "demote";
      "demotion" is carpd's own FreeBSD demotion (ifdown + senderr), the admin part
      stays in the store; "groups" are OpenBSD's effective counters (store + kernel).
    * `rng` seeds the counters (the simulator's determinism); default os.urandom.
    """

    def __init__(
        self, personality: str = "openbsd", name: str = "", rng: random.Random | None = None
    ) -> None:
        self.personality = personality
        self.name = name
        self.rng = rng
        self.env = Env(personality)
        self.policy = self.env.policy
        self.sysctl = defaults(personality)
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
        # demotion state (reference section 5)
        self._store_groups: dict[str, int] = {}
        self._kernel_groups: dict[str, int] = {}  # OpenBSD kernel "+1 carpdev" per group
        self._suppressed: set[object] = set()  # OpenBSD: iface keys; others: VKeys
        self._members: dict[str, tuple[str, list[str]]] = {}  # OpenBSD: name, groups
        self._own: dict[str, int] = {}  # OpenBSD: each carp interface's own demote count
        self._senderr: dict[object, list[int]] = {}  # unit -> [errors, successes]
        self._fb_admin = 0  # FreeBSD: the store's net.inet.carp.demotion
        self._fb_kernel = 0  # FreeBSD: ifdown (and senderr) demotion carpd added
        # Lazy min-heap of (deadline_us, seq, vhost): an entry is live while the vhost
        # still has that deadline.  Scanning every vhid per wake-up was O(n^2) a second.
        self._heap: list[tuple[int, int, VirtualHost]] = []
        self._heap_seq = itertools.count()
        self._dirty = True  # rebuild the heap from every vhid before the next use
        self._receiver: VirtualHost | None = None  # the vhid the last packet reached

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
        acts: list[Action] = []
        before = self._demote_snapshot()
        self.sysctl = {**defaults(self.personality), **dict(sysctl)}
        self.env.preempt = self._sc("preempt") != 0
        self._allow = self._sc("allow") != 0
        if self.personality == "freebsd":
            admin = self._sc("demotion")
            if admin != self._fb_admin:
                delta, self._fb_admin = admin - self._fb_admin, admin
                acts.append(self._fb_log(delta, "sysctl"))
        self._store_groups = {
            g: int(attrs.get("carpdemote", 0)) for g, attrs in (groups or {}).items()
        }
        items = interfaces.values() if isinstance(interfaces, Mapping) else interfaces
        new = {ci.key: copy.deepcopy(ci) for ci in items}
        acts += self._reconcile_vhosts(new, now)
        acts += self._update_demotion(before, now)
        acts += self._run_all(now)
        acts += self._state_requests(now)
        self._configured = True
        return self._post(acts)

    def _reconcile_vhosts(self, new: dict[str, CarpInterface], now: float) -> list[Action]:
        acts: list[Action] = []
        wanted: dict[VKey, CarpInterface] = {
            (key, n.vhid): ci for key, ci in new.items() for n in ci.nodes if n.vhid > 0
        }
        for vkey in list(self.vhosts):
            ci = wanted.get(vkey)
            if ci is None or _identity(ci, vkey[1]) != self._ident[vkey]:
                old = self.vhosts.pop(vkey)
                del self._ident[vkey]
                reason = st.R_REMOVED if ci is None else st.R_USER
                acts += old.stop(now, reason, bow_out=self._bows_out())
        for vkey, ci in wanted.items():
            node = next(n for n in ci.nodes if n.vhid == vkey[1])
            if vkey in self.vhosts:
                v = self.vhosts[vkey]
                v.advbase, v.advskew = ci.advbase, node.advskew
            else:
                self.vhosts[vkey] = self._make_vhost(ci, vkey[1], node.advskew)
                self._ident[vkey] = _identity(ci, vkey[1])
        self.ifaces = new
        self._by_dev = {}
        for (_key, vhid), v in self.vhosts.items():
            self._by_dev.setdefault((v.p.carpdev, vhid), []).append(v)
        self._devs = {d for ci in new.values() if (d := _parent(ci))}
        return acts

    def _make_vhost(self, ci: CarpInterface, vhid: int, advskew: int) -> VirtualHost:
        addrs = ci.addresses_for(vhid)
        leader = vhid == ci.vhid
        balancing = ci.effective_balancing
        default_mac = virtual_mac(vhid)
        mac = ci.lladdr or virtual_mac(vhid, multicast=leader and balancing == "ip")
        hmac_mac = None
        if self.policy.hashes_lladdr and leader and ci.lladdr and ci.lladdr.lower() != default_mac:
            hmac_mac = mac_bytes(ci.lladdr)  # reference 2.2 step 2 (realmac case ignored)
        params = Params(
            ifname=ci.key, logname=ci.name, carpdev=_parent(ci) or "", vhid=vhid,
            v4=tuple(a.address for a in addrs if a.family == 4),
            v6=tuple(a.address for a in addrs if a.family == 6),
            key=hmac_key(ci.passphrase), mac=mac, hmac_mac=hmac_mac, leader=leader,
            nodes=len(ci.nodes), balancing=balancing, dst4=ci.peer, dst6=ci.peer6,
        )  # fmt: skip
        return VirtualHost(self.env, params, ci.advbase, advskew, rng=self.rng)

    def _bows_out(self) -> bool:
        return self.policy.bows_out

    def _runnable(self, vkey: VKey) -> str | None:
        """None if the vhid may run, else the reason it must stay (or go) INIT."""
        ci = self.ifaces.get(vkey[0])
        parent = _parent(ci) if ci else None
        if ci is None or not parent or ci.version != 2:
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

    # -- demotion (reference section 5) ----------------------------------------------------

    def _should_suppress(self) -> set[object]:
        down = self.link_down
        if self.personality == "openbsd":
            return {k for k, ci in self.ifaces.items() if _parent(ci) in down}
        return {vk for vk, v in self.vhosts.items() if v.p.carpdev in down}

    def _group_value(self, group: str) -> int:
        raw = self._store_groups.get(group, 0) + self._kernel_groups.get(group, 0)
        return max(0, min(raw, 255))

    def _iface_demote(self, ci: CarpInterface) -> int:
        """OpenBSD: sum of the interface's group counters, else its own count, cap 255."""
        total = sum(self._group_value(g) for g in ci.groups)
        if total == 0:
            total = self._own.get(ci.key, 0)
        return min(total, 255)

    def _publish_demotion(self, before: dict[object, int], now: float) -> list[Action]:
        """Hand each vhid its demote count; any rise is advertised at once (section 5)."""
        openbsd = self.personality == "openbsd"
        for vkey, v in self.vhosts.items():
            ci = self.ifaces.get(vkey[0])
            v.demote = self._iface_demote(ci) if openbsd and ci else 0
        after = self._demote_snapshot()
        acts: list[Action] = []
        if any(after[k] > before.get(k, 0) for k in after):
            for v in self.vhosts.values():
                acts += v.advertise_now(now)
        return acts

    def _demote_snapshot(self) -> dict[object, int]:
        if self.personality == "openbsd":
            return {vk: v.demote for vk, v in self.vhosts.items()}
        if self.personality == "freebsd":
            return {"all": self.env.demotion}
        return {"all": self.env.suppress_preempt}

    def _fb_log(self, delta: int, reason: str) -> Log:
        total = self._fb_admin + self._fb_kernel
        return Log(LOG_INFO, "demote", f"carp: demoted by {delta} to {total} ({reason})")

    def _update_demotion(self, before: dict[object, int], now: float) -> list[Action]:
        """Re-derive suppression from link state; adjust counters; ads at once on a rise."""
        acts: list[Action] = []
        want = self._should_suppress()
        gone, came = self._suppressed - want, want - self._suppressed
        pers = self.personality
        if pers == "openbsd":
            for key in sorted(map(str, came)):
                acts += self._obsd_adjust(key, +1, "carpdev")
            for key in sorted(map(str, gone)):
                if key in self.ifaces:
                    acts += self._obsd_adjust(key, -1, "carpdev")
            acts += self._obsd_members()
        elif pers == "freebsd":
            factor = self._sc("ifdown_demotion_factor")
            for vkey in sorted(gone, key=str):
                self._fb_kernel -= factor
                why = "interface up" if vkey in self.vhosts else "vhid removed"
                acts.append(self._fb_log(-factor, why))
            for _ in came:
                self._fb_kernel += factor
                acts.append(self._fb_log(factor, "interface down"))
        else:
            self.env.suppress_preempt += len(came) - len(gone)
        if pers != "openbsd":  # a removed vhid takes its send-error demotion along
            for unit in [u for u in self._senderr if u not in self.vhosts]:
                if self._senderr.pop(unit)[0] >= 3:
                    acts += self._senderr_adjust(unit, -1, "vhid removed")
        self._suppressed = want
        if pers == "freebsd":
            self.env.demotion = self._fb_admin + self._fb_kernel
        return acts + self._publish_demotion(before, now)

    def _obsd_adjust(self, key: str, adj: int, reason: str) -> list[Action]:
        """carp_group_demote_adj: the interface's own count and every group but `all`."""
        ci = self.ifaces.get(key)
        if ci is not None:
            self._members[key] = (ci.name, list(ci.groups))
        name, groups = self._members.get(key, (key, ["carp"]))
        self._own[key] = max(0, self._own.get(key, 0) + adj)
        return self._obsd_groups(name, groups, adj, reason)

    def _obsd_groups(self, name: str, groups: list[str], adj: int, reason: str) -> list[Action]:
        acts: list[Action] = []
        for g in groups:
            if g == "all":
                continue
            self._kernel_groups[g] = max(0, self._kernel_groups.get(g, 0) + adj)
            text = f"carp: {name} demoted group {g} by {adj} to {self._group_value(g)} ({reason})"
            acts.append(Log(LOG_ERR, "demote", text))
        return acts

    def _obsd_members(self) -> list[Action]:
        """Destroyed interfaces take their own count along ("detach"); an interface that
        joins or leaves a group carries its own count with it."""
        acts: list[Action] = []
        for key, own in list(self._own.items()):
            name, old = self._members.get(key, (key, ["carp"]))
            ci = self.ifaces.get(key)
            if ci is None:
                if own:
                    acts += self._obsd_groups(name, old, -own, "detach")
                del self._own[key]
                self._members.pop(key, None)
                self._senderr.pop(key, None)
            elif own and list(ci.groups) != old:
                acts += self._obsd_groups(name, [g for g in old if g not in ci.groups], -own,
                                          "carpdev")  # fmt: skip
                acts += self._obsd_groups(name, [g for g in ci.groups if g not in old], own,
                                          "carpdev")  # fmt: skip
                self._members[key] = (ci.name, list(ci.groups))
        return acts

    def _senderr_adjust(self, unit: object, sign: int, reason: str) -> list[Action]:
        """Raise (+1) or undo (-1) the send-error demotion of one unit (section 5)."""
        if self.personality == "openbsd":
            return self._obsd_adjust(str(unit), sign, reason)
        if self.personality == "freebsd":
            factor = sign * self._sc("senderr_demotion_factor")
            self._fb_kernel += factor
            self.env.demotion = self._fb_admin + self._fb_kernel
            return [self._fb_log(factor, reason)]
        self.env.suppress_preempt += sign
        return []

    def send_result(self, act: Send, error: int | None, now: float) -> list[Action]:
        """How one Send went (`error` = errno, None = sent): send-error demotion.

        OpenBSD counts per carp interface (limit 3 x its vhids, group demote +1, reasons
        "> snderrors" / "< snderrors", "snd6errors" for IPv6); FreeBSD per vhid (3 errors
        add senderr_demotion_factor); NetBSD per vhid (3 errors suppress preemption).
        As many successes as the limit undo it.  ENOBUFS/ENOMEM count onomem; EHOSTDOWN
        to a unicast peer is not an error (OpenBSD)."""
        pers = self.personality
        failed: list[Action] = []
        if error is not None:
            if error == errno.EHOSTDOWN and not is_multicast(act.dst):
                return []
            if error in (errno.ENOBUFS, errno.ENOMEM):
                failed.append(Count("onomem"))
            if pers != "freebsd":  # FreeBSD only speaks through its demotion lines
                out = "ip6_output" if act.family == 6 else "ip_output"
                failed.append(Log(LOG_WARNING, "error", f"{act.ifname}: {out} failed: {error}"))
        if pers == "openbsd":
            unit: object = act.ifname
            ci = self.ifaces.get(act.ifname)
            if ci is None:
                return []
            limit = 3 * len(ci.nodes)
            tag = "snd6errors" if act.family == 6 else "snderrors"
            up, down = f"> {tag}", f"< {tag}"
        else:
            unit = (act.ifname, act.vhid)
            if unit not in self.vhosts:
                return []
            limit = 3
            up, down = f"send error {error} on {act.carpdev}", f"send ok on {act.carpdev}"
        st = self._senderr.setdefault(unit, [0, 0])
        change = 0
        if error is not None:
            st[0] += 1
            st[1] = 0
            change = 1 if st[0] == limit else 0
        elif st[0] >= limit:
            st[1] += 1
            if st[1] >= limit:
                change = -1
                st[0] = st[1] = 0
        else:
            st[0] = 0
        acts: list[Action] = []
        if change:  # snapshot only then: this runs for every advertisement sent
            before = self._demote_snapshot()
            acts = self._senderr_adjust(unit, change, up if change > 0 else down)
            if acts:
                acts += self._publish_demotion(before, now)
        return self._post(failed + acts) if failed or acts else []

    # -- events ------------------------------------------------------------------------

    def link(self, carpdev: str, up: bool, now: float) -> list[Action]:
        """Parent link state: down -> INIT + demotion; up -> BACKUP, demotion undone."""
        if up == (carpdev not in self.link_down):
            return []
        before = self._demote_snapshot()
        if up:
            self.link_down.discard(carpdev)
        else:
            self.link_down.add(carpdev)
        # OpenBSD order: INIT first, then demote; on recovery setrun, then undo demotion.
        return self._post(self._run_all(now) + self._update_demotion(before, now))

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
        """One received CARP payload, validated in the personality's order (section 7).

        `local` is our own address on `carpdev` in that family, the one our
        advertisements leave from: it breaks ties between two MASTERs (carp.vhost)."""
        acts: list[Action] = [_COUNT["ipackets" if family == 4 else "ipackets6"]]
        self._receiver = None
        if self._allow:
            acts += self._validate(carpdev, family, src, dst, ttl, payload, now, local)
        return self._post(acts, (self._receiver,) if self._receiver else ())

    def _drop(self, stat: str, prio: int, kind: str, text: str | None) -> list[Action]:
        acts: list[Action] = [_COUNT[stat]]
        if text is not None:
            acts.append(Log(prio, kind, text))
        return acts

    def _lookup(self, carpdev: str, vhid: int, family: int, dst: str) -> VirtualHost | None:
        """The vhid on that parent whose peer kind (multicast/unicast) fits `dst`;
        None also when it is not running (INIT), as "not UP+RUNNING" is badvhid."""
        for v in self._by_dev.get((carpdev, vhid), ()):
            if dst and is_multicast(dst) != is_multicast(v.p.dst4 if family == 4 else v.p.dst6):
                continue
            return v if v.state != INIT else None
        return None

    def _validate(
        self,
        dev: str,
        family: int,
        src: str,
        dst: str,
        ttl: int,
        payload: bytes,
        now: float,
        local: str,
    ) -> list[Action]:
        pers = self.personality
        if type(payload) is not bytes:  # the decode cache needs a hashable payload
            payload = bytes(payload)
        if pers == "freebsd":
            ver = payload[0] >> 4 if payload else 0
            return self._validate_freebsd(dev, family, src, dst, ttl, payload, ver, now, local)
        if (family == 6 or pers == "netbsd") and dev not in self._devs:
            return self._drop(
                "badif", LOG_INFO, "packet", f"carp: packet received on non-carp interface: {dev}"
            )
        if ttl != 255:
            return self._drop(
                "badttl", LOG_NOTICE, "packet", f"carp: received ttl {ttl} != 255 on {dev}"
            )
        adv = _decode(payload)
        if isinstance(adv, Reject):
            return self._drop(
                adv.stat, LOG_INFO, "packet", self._reject_text(adv, family, dev, len(payload))
            )
        v = self._lookup(dev, adv.vhid, family, dst)
        if v is None:
            return [_COUNT["badvhid"]]
        name = v.p.logname
        if adv.version != 2:
            return self._drop(
                "badver", LOG_NOTICE, "packet", f"{name}: invalid version {adv.version} != 2"
            )
        if not v.signer.verify(adv):
            text = (
                f"{name}: incorrect hash"
                if pers == "openbsd"
                else f"{name}: incorrect hash from {src}"
            )
            return self._drop("badauth", LOG_INFO, "packet", text)
        if v.is_own(adv):
            return self._drop(
                "badauth", LOG_WARNING, "error", f"{name}: replay or network loop detected"
            )
        self._receiver = v
        return v.receive(adv, now, src, local)

    def _validate_freebsd(
        self,
        dev: str,
        family: int,
        src: str,
        dst: str,
        ttl: int,
        payload: bytes,
        ver: int,
        now: float,
        local: str,
    ) -> list[Action]:
        if family == 6 and dev not in self._devs:
            return self._drop(
                "badif",
                LOG_INFO,
                "packet",
                f"carp6_input: packet received on non-carp interface: {dev}",
            )
        if len(payload) < 8:
            return self._drop(
                "badlen",
                LOG_INFO,
                "packet",
                f"carp_input: received len {len(payload)} < sizeof(struct vrrpv3_header) on {dev}",
            )
        if ver not in (2, 3):
            return self._drop(
                "badver", LOG_INFO, "packet", f"carp_input: unsupported version {ver} on {dev}"
            )
        if ver == 3:  # VRRPv3 is not implemented: its vhids do not exist here
            v3 = self._by_dev.get((dev, payload[1]))
            return [_COUNT["badver" if v3 else "badvhid"]]
        adv = _decode(payload, whole_payload=family == 4)
        if isinstance(adv, Reject):
            text = f"carp_input: checksum failed on {dev}" if adv is Reject.BAD_CHECKSUM else None
            return self._drop(adv.stat, LOG_INFO, "packet", text)
        v = self._lookup(dev, adv.vhid, family, dst)
        if v is None:
            return [_COUNT["badvhid"]]
        if is_multicast(v.p.dst4 if family == 4 else v.p.dst6) and ttl != 255:
            return self._drop(
                "badttl", LOG_INFO, "packet", f"carp_input_c: received ttl {ttl} != 255 on {dev}"
            )
        if not v.signer.verify(adv):
            return self._drop(
                "badauth",
                LOG_INFO,
                "packet",
                f"carp_input_c: incorrect hash for VHID {adv.vhid}@{dev}",
            )
        self._receiver = v
        return v.receive(adv, now, src, local)

    def _reject_text(self, rej: Reject, family: int, dev: str, length: int) -> str | None:
        if rej is Reject.BAD_CHECKSUM:
            sep = "," if family == 6 and self.personality == "openbsd" else ""
            return f"carp: checksum failed{sep} on {dev}"
        if rej is Reject.TOO_SHORT:
            if family == 6 and self.personality == "openbsd":
                return f"carp: packet size {length} too small"
            return f"carp: packet too short {length} on {dev}"
        return None

    # -- status ------------------------------------------------------------------------

    def status(self) -> dict[str, object]:
        """Runtime status carpd publishes (shape in the module docstring)."""
        vhosts: dict[str, dict[str, dict[str, object]]] = {}
        for (key, vhid), v in sorted(self.vhosts.items()):
            vhosts.setdefault(key, {})[str(vhid)] = {
                "state": v.state, "since": v.since, "reason": v.reason,
                "advbase": v.advbase, "advskew": v.sent_advskew(), "demote": v.demote,
            }  # fmt: skip
        groups = sorted(set(self._store_groups) | set(self._kernel_groups))
        return {
            "vhosts": vhosts,
            "counters": dict(self.counters),
            "demotion": self._fb_kernel,
            "groups": {g: self._group_value(g) for g in groups},
            "suppress_preempt": self.env.suppress_preempt,
        }

    # -- ARP balancing (net.inet.carp.arpbalance, ref 6.3/6.4) ------------------------

    def _arp_members(self) -> dict[tuple[str, str], list[ArpMember]]:
        """(carpdev, IPv4 address) -> the runnable carp interfaces holding it there."""
        out: dict[tuple[str, str], list[ArpMember]] = {}
        if not self._sc("arpbalance"):
            return out
        for key, ci in self.ifaces.items():
            if ci.style != "clone" or len(ci.nodes) != 1 or self._runnable((key, ci.vhid)):
                continue
            v = self.vhosts.get((key, ci.vhid))
            member = ArpMember(ci.vhid, hmac_key(ci.passphrase),
                               ci.lladdr or virtual_mac(ci.vhid),
                               v is not None and v.state == MASTER)  # fmt: skip
            for a in ci.addresses:
                if a.family == 4:
                    out.setdefault((str(ci.carpdev), a.address), []).append(member)
        return out

    def arp_balanced(self) -> dict[str, set[str]]:
        """carpdev -> the addresses whose ARP requests carpd answers itself: shared by
        two or more carp interfaces while arpbalance is on (one alone answers as usual)."""
        out: dict[str, set[str]] = {}
        for (dev, addr), members in self._arp_members().items():
            if len(members) > 1:
                out.setdefault(dev, set()).add(addr)
        return out

    def arp_answer(self, dev: str, target_ip: str, sender_mac: str, sender_ip: str) -> str | None:
        """The MAC this host answers a balanced who-has with, or None (stay silent)."""
        members = self._arp_members().get((dev, target_ip), [])
        chosen = arp_responder(self.personality, members, mac_bytes(sender_mac), sender_ip)
        return chosen.mac if chosen else None

    def states(self) -> dict[VKey, str]:
        """(interface key, vhid) -> state: a compact view for tests and the simulator."""
        return {vk: v.state for vk, v in self.vhosts.items()}


__all__ = ["BACKUP", "INIT", "MASTER", "CarpHost", "defaults"]  # states re-exported
