"""The fuzz target: one input through carpd's receive path into one CarpHost, checked.

The path is carpd's (carp/daemon/carpdev_io.py): an IPv4 datagram goes through
wire.parse_ipv4, whose refusal carpd counts itself (ipackets and hdrops); the payload
then goes to CarpHost.packet with the TTL and addresses of the header.  An IPv6
datagram is split the way the kernel hands it to carpd (oracle.split).

Checked for every input:
* nothing raises (a crash);
* the counters that move are exactly the expected ones: ipackets or ipackets6, and the
  one drop counter docs/protocol.md §7 gives (oracle.py), or none for an accepted
  advertisement, plus what the state change it causes counts (opackets, preempt);
* a dropped packet returns only Count and Log actions and leaves every vhid's state,
  reason, timers, counter, cookie and the host's demotion exactly as they were;
* an accepted one moves its vhid to the state §4.4 gives; a BACKUP that stays BACKUP
  restarts its master-down timer from now.

A target whose state an input changed is rebuilt before the next input for it, so
every input meets a MASTER or a BACKUP as the target says.
"""

from __future__ import annotations

import socket
import traceback
from collections import Counter
from dataclasses import dataclass, field

from carp.actions import Count, Log
from carp.host import CarpHost
from carp.wire import Reject, parse_ipv4
from tests.fuzz import oracle
from tests.fuzz.world import LOCAL4, LOCAL6, T0, VHIDS, Target

DROPS = frozenset({"badif", "badttl", "hdrops", "badsum", "badver", "badlen", "badauth",
                   "badvhid", "badaddrs"})
NOW_US = round(T0 * 1_000_000)


@dataclass
class Failure:
    kind: str  # "crash" or "invariant"
    target: str
    data: bytes
    detail: str


@dataclass
class Result:
    inputs: int = 0
    crashes: int = 0
    violations: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)


def snapshot(host: CarpHost) -> tuple[object, ...]:
    """Everything a dropped packet must leave alone (the counters are checked apart)."""
    vs = tuple(
        (vk, v.state, v.since, v.reason, v.ad_at, v.down.at4, v.down.at6, repr(vars(v.counter)),
         v.last_heard, v.announcer.delayed_arp, v.demote, v.advbase, v.advskew)
        for vk, v in host.vhosts.items()
    )
    env = host.env
    demotion = tuple(sorted(host.demotion.snapshot().items(), key=repr))
    return vs, env.preempt, env.demotion, env.suppress_preempt, demotion, host.next_deadline()


def _addr(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def deliver(target: Target, data: bytes) -> tuple[dict[str, int], list[object]]:
    """Run the input; the counters that moved (carpd's own IPv4 header count included)
    and the actions CarpHost returned."""
    pkt = oracle.split(data)
    host = target.host
    if pkt.family == 4:
        dgram = data[1:]
        info = parse_ipv4(dgram)
        if isinstance(info, Reject):  # carp/daemon/carpdev_io.py counts these itself
            return {"ipackets": 1, info.stat: 1}, []
        before = dict(host.counters)
        acts = host.packet(pkt.dev, 4, info.src, info.dst, info.ttl, info.payload, T0, LOCAL4)
    else:
        if not pkt.delivered:
            return {}, []
        before = dict(host.counters)
        acts = host.packet(pkt.dev, 6, _addr(pkt.src), _addr(pkt.dst), pkt.ttl, pkt.payload,
                           T0, LOCAL6)
    moved = {k: n - before.get(k, 0) for k, n in host.counters.items() if n != before.get(k, 0)}
    return moved, list(acts)


def expected_counts(
    target: Target, pkt: oracle.Packet, exp: oracle.Expect, running: dict[int, str]
) -> dict[str, int]:
    if not pkt.delivered:
        return {}
    out = {"ipackets" if pkt.family == 4 else "ipackets6": 1}
    if pkt.ip_drop:
        return {"ipackets": 1, pkt.ip_drop: 1}
    if exp.drop:
        out[exp.drop] = 1
    elif exp.state == "MASTER" and running[exp.vhid] == "BACKUP":
        conf = VHIDS[exp.vhid]  # the takeover advertises at once (§4.3)
        if conf.v4:
            out["opackets"] = 1
        if conf.v6 and target.personality != "netbsd":  # NetBSD never sends IPv6
            out["opackets6"] = 1
        if target.personality == "openbsd":
            out["preempt"] = 1  # carps_preempt, "transitions to master"
    return out


def check(target: Target, data: bytes) -> tuple[str, str | None]:
    """(outcome, what went wrong or None) for one input; resets the target if needed."""
    pkt = oracle.split(data)
    running = target.running()
    exp = oracle.Expect(None)
    if pkt.delivered and not pkt.ip_drop:
        cookies = {v: target.cookie(v) for v in VHIDS}
        exp = oracle.expect(target.personality, target.state, target.preempt, pkt, running,
                            cookies, target.senders)
    before = snapshot(target.host)
    moved, acts = deliver(target, data)
    want = expected_counts(target, pkt, exp, running)
    outcome = (pkt.ip_drop or exp.drop or ("accept" if pkt.delivered else "undelivered"))
    problems = []
    if moved != want:
        problems.append(f"counters moved {moved}, expected {want}")
    if pkt.ip_drop or exp.drop or not pkt.delivered:
        if snapshot(target.host) != before:
            problems.append("a dropped packet changed the host's state or timers")
        odd = [a for a in acts if not isinstance(a, Count | Log)]
        if odd:
            problems.append(f"a dropped packet asked for {odd}")
    else:
        outcome = f"accept:{running[exp.vhid]}->{exp.state}"
        after = target.running()[exp.vhid]
        if after != exp.state:
            problems.append(f"vhid {exp.vhid}: {running[exp.vhid]} -> {after}, §4.4 says "
                            f"{exp.state}")
        elif after == "BACKUP":
            v = next(v for (_, n), v in target.host.vhosts.items() if n == exp.vhid)
            md = oracle.master_down_us(target.personality, exp.vhid)
            # the timer of the advert's family (§4.4 step 4), where the vhid keeps one
            down = v.down.at4 if pkt.family == 4 else v.down.at6
            if down is None:
                down = v.down.at
            if down != NOW_US + md and running[exp.vhid] == "BACKUP":
                problems.append(f"vhid {exp.vhid}: master-down at {down}, "
                                f"expected {NOW_US + md}")
        target.heard[exp.vhid] = exp.counter
        oracle.remember(target.senders, exp.vhid, pkt.src, exp.counter)
        if after != running[exp.vhid]:
            target.reset()
    return outcome, "; ".join(problems) or None


def run_one(target: Target, data: bytes, result: Result) -> str | None:
    """`check` with crash handling; records failures in `result`; the outcome or None."""
    result.inputs += 1
    try:
        outcome, problem = check(target, data)
    except Exception:
        result.crashes += 1
        result.failures.append(Failure("crash", target.name, data, traceback.format_exc()))
        target.reset()
        return None
    result.outcomes[outcome] += 1
    if problem is not None:
        result.violations += 1
        result.failures.append(Failure("invariant", target.name, data, problem))
        target.reset()
    return outcome
