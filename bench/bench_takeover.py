"""Takeover after kill -9 of the master, and where its milliseconds go (issue 11 §3).

The testbed of reference/peers.md: hosts A (advskew 0) and B (advskew 100) on one
bridge, and two stations on the LAN (the client and a macvlan station beside it) each
asking who-has the address and pinging it every 10 ms while the master is killed.

overshoot = the backup's first MASTER advertisement - (the dead master's last
            advertisement + master-down), both from one capture on the bridge.
outage    = the longest wait of a station from its last echo reply from the old master
            to its first from the new one, shown less master-down: negative as a rule,
            as the master dies some time after its last advertisement, from which
            master-down runs; what is left over is the takeover's overshoot and the
            time the new master takes to put the address in place.

The overshoot is split, per run, with the backup's `carpd --trace` (carp/daemon/trace.py)
lined up with the capture (one wall clock for every namespace):

    bridge -> backup's kernel    the last advertisement crossing the veth pair
    arrival -> deadline          how much later than (kernel arrival + master-down) carpd
                                 set its master-down deadline (reading late, rounding)
    timer late                   the timer ran this long after its deadline
    protocol core                CarpHost.timeout: the takeover's actions
    core -> sendto call          building the frame
    sendto call -> bridge        the kernel's send path and the veth pair

Figures are medians of RUNS runs (worst too), for CARP at advbase 1 and then VRRPv3
(FreeBSD's carpver 3, priorities 150 / 100).  Roles alternate: the killed host comes
back as BACKUP.  Environment: CARP_BENCH_TAKEOVER_RUNS (default 10),
CARP_BENCH_VRRPINTERVAL (centiseconds, default 10; 0: CARP only), CARP_BENCH_CARPD_ARGS
(extra carpd options, e.g. "--rtprio 10 --mlock").
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from carp.daemon.trace import read_trace
from carp.lab import Capture, Host, Lab
from carp.lab.hosts import Station
from carp.lab.netns import stop
from carp.lab.scenario import master_down, vhid_states, wait_states

Figure = tuple[str, float, str, str]
VIP = "192.168.1.1"
PROBE_EVERY = 0.01
PROBE_LEAD = 0.5  # seconds the probes run before the kill, once answered
AFTER = 1.0  # seconds they run after the takeover
PARTS = ("bridge -> backup's kernel", "arrival -> deadline", "timer late",
         "protocol core", "core -> sendto call", "sendto call -> bridge")


@dataclass(frozen=True)
class Protocol:
    """How the pair is configured, and the master-down interval each host waits."""

    label: str
    configure: Callable[[Host, int], None]  # (host, rank 0 = preferred master)
    master_down: Callable[[int], float]  # rank -> seconds
    interval: float  # the master's advertisement interval, seconds
    personality: str | None = None


def carp_advbase1() -> Protocol:
    from carp.lab.scenario import configure_carp

    return Protocol("CARP advbase 1",
                    lambda host, rank: configure_carp(host, advskew=100 * rank),
                    lambda rank: master_down(1, 100 * rank), 1.0)


def vrrp(interval_cs: int) -> Protocol:
    """VRRPv3 (FreeBSD's carpver 3): priorities 150 / 100, like keepalived's testbed."""

    def configure(host: Host, rank: int) -> None:
        host.ifconfig("em0", "vhid", "1", "carpver", "3", "vrrpprio", str(150 - 50 * rank),
                      "vrrpinterval", str(interval_cs), f"{VIP}/24")

    def down(rank: int) -> float:  # 3 intervals + skew time, as carpd computes it
        from carp.personality import policy
        from carp.states import US

        return policy("freebsd").vrrp_master_down_us(150 - 50 * rank, interval_cs) / US

    return Protocol(f"VRRPv3 vrrpinterval {interval_cs}", configure, down, interval_cs / 100,
                    "freebsd")


def trace_path(host: Host) -> str:
    return str(host.lab.tmp / f"trace-{host.letter}.jsonl")


def start(host: Host) -> None:
    extra = os.environ.get("CARP_BENCH_CARPD_ARGS", "").split()
    host.start_carpd("--trace", trace_path(host), *extra)


def pair(lab: Lab, proto: Protocol) -> Capture:
    """A preferred master and a backup, a capture on the bridge; once converged."""
    cap = lab.capture()
    for rank_, host in enumerate(lab.hosts):
        start(host)
        proto.configure(host, rank_)
    a, b = lab.hosts
    if not wait_states({a: {1: "MASTER"}, b: {1: "BACKUP"}}, 10):
        raise RuntimeError(f"no election: {vhid_states(a)} {vhid_states(b)}")
    return cap


def rank(host: Host) -> int:
    return 0 if host.letter == "A" else 1


def roles(lab: Lab) -> tuple[Host, Host]:
    a, b = lab.hosts
    return (a, b) if vhid_states(a).get(1) == "MASTER" else (b, a)


def settle(cap: Capture, master: Host, backup: Host) -> None:
    """The restarted host is BACKUP and has heard the master since (see bench_carpd)."""
    if not wait_states({master: {1: "MASTER"}, backup: {1: "BACKUP"}}, 10):
        raise RuntimeError(f"no convergence: {vhid_states(master)} {vhid_states(backup)}")
    if cap.wait_for(lambda r: r["kind"] == "carp" and r["port"] == master.port(),
                    timeout=5, since=time.time()) is None:
        raise RuntimeError(f"{master.name} does not advertise")
    time.sleep(0.2)


def probes(lab: Lab, station: Station, seconds: float) -> list[Any]:
    """The client and `station` each ask who-has VIP and ping it every PROBE_EVERY."""
    client = lab.client(1)
    count = int(seconds / PROBE_EVERY)
    return [client.arp_background(VIP, count, PROBE_EVERY),
            client.arp_background(VIP, count, PROBE_EVERY, src_ip=station.ip,
                                  src_mac=station.mac),
            client.echo_stream(VIP, client.ip, seconds, PROBE_EVERY),
            client.echo_stream(VIP, station.source(), seconds, PROBE_EVERY)]


def outage(cap: Capture, old: str, new: str, since: float, takeover: float,
           until: float) -> float | None:
    """The longest wait of a station from its last echo reply through the old master's
    port (before the takeover) to its first through the new one's (`until` if none
    came); None if no station had a reply from the old master to start from."""
    replies = cap.select("icmp_reply", since=since, until=until, src_ip=VIP)
    worst: float | None = None
    for dst in {r["dst_ip"] for r in replies}:
        mine = [r for r in replies if r["dst_ip"] == dst]
        before = [r["t"] for r in mine if r["port"] == old and r["t"] <= takeover]
        after = [r["t"] for r in mine if r["port"] == new and r["t"] >= before[-1]] if before \
            else []
        if before:
            gap = (after[0] if after else until) - before[-1]
            worst = gap if worst is None else max(worst, gap)
    return worst


def breakdown(events: list[dict[str, Any]], last: float, first: float,
              md: float) -> dict[str, float]:
    """The parts of one overshoot (PARTS) from the backup's trace; {} if it lacks them."""
    rx = [e for e in events if e["ev"] == "rx" and e.get("kernel")
          and last - 0.001 <= e["kernel"] <= last + 0.05]
    timers = [e for e in events if e["ev"] == "timer" and last < e["fired"] <= first]
    if not rx or not timers:
        return {}
    arrival, timer = rx[0]["kernel"], timers[-1]
    sends = [e for e in events if e["ev"] == "send" and timer["fired"] <= e["at"] <= first]
    if not sends:
        return {}
    return dict(zip(PARTS, (arrival - last, timer["deadline"] - (arrival + md),
                            timer["fired"] - timer["deadline"], timer["core"] - timer["fired"],
                            sends[0]["at"] - timer["core"], first - sends[0]["at"]),
                    strict=True))


@dataclass(frozen=True)
class Run:
    overshoot: float
    outage: float | None  # less master-down
    answering: float | None  # the new master's first echo reply - its first advertisement
    parts: dict[str, float]


def one_run(lab: Lab, cap: Capture, proto: Protocol, station: Station) -> Run:
    master, backup = roles(lab)
    md = proto.master_down(rank(backup))
    t_start = time.time()
    running = probes(lab, station, md + PROBE_LEAD + 10)
    try:
        for ip in (lab.client(1).ip, station.ip):  # a loaded host starts them slowly
            if cap.wait_for(lambda r, ip=ip: r["kind"] == "icmp_reply" and r["dst_ip"] == ip
                            and r["port"] == master.port(), timeout=10, since=t_start) is None:
                raise RuntimeError(f"{ip} gets no echo reply from {master.name}")
        time.sleep(PROBE_LEAD)
        t_kill = master.kill_carpd()
        first = cap.wait_for(lambda r: r["kind"] == "carp" and r["port"] == backup.port(),
                             timeout=md + 3, since=t_kill)
        time.sleep(AFTER)
    finally:
        for proc in running:
            stop(proc)
    if first is None:
        raise RuntimeError(f"{backup.name} did not take over")
    last = max(r["t"] for r in cap.adverts(port=master.port(), until=t_kill + 0.5))
    parts = breakdown(read_trace(trace_path(backup)), last, first["t"], md)
    gap = outage(cap, master.port(), backup.port(), t_start, first["t"], first["t"] + AFTER)
    echo = cap.select("icmp_reply", since=first["t"], port=backup.port(), src_ip=VIP)
    start(master)
    settle(cap, backup, master)
    return Run(first["t"] - (last + md), None if gap is None else gap - md,
               echo[0]["t"] - first["t"] if echo else None, parts)


def protocols() -> list[Protocol]:
    """CARP at advbase 1, then VRRPv3 at CARP_BENCH_VRRPINTERVAL (10; 0: CARP only)."""
    interval = int(os.environ.get("CARP_BENCH_VRRPINTERVAL", "10"))
    return [carp_advbase1(), *([vrrp(interval)] if interval else [])]


def measure(proto: Protocol, runs: int) -> list[Figure]:
    with Lab(hosts=2, lans=1, personality=proto.personality) as lab:
        cap = pair(lab, proto)
        station = lab.client(1).stations(1)[0]
        time.sleep(1.2)
        results = [one_run(lab, cap, proto, station) for _ in range(runs)]
    over = [1000 * r.overshoot for r in results]
    gaps = [1000 * r.outage for r in results if r.outage is not None]
    answering = [1000 * r.answering for r in results if r.answering is not None]
    traced = [r.parts for r in results if r.parts]
    extra = os.environ.get("CARP_BENCH_CARPD_ARGS", "").strip()
    label = proto.label + (f" [{extra}]" if extra else "")
    out: list[Figure] = [
        (f"kill -9 overshoot, {label}, median ({runs})", statistics.median(over), "ms",
         "<= 2 ms (keepalived 0.9)"),
        (f"kill -9 overshoot, {label}, worst", max(over), "ms", "<= 4 ms"),
        (f"kill -9 station outage - master-down, {label}, worst ({len(gaps)})",
         max(gaps, default=float("nan")), "ms", "<= 20 ms"),
        (f"  new master's first echo reply after its first advert, median ({len(answering)})",
         statistics.median(answering) if answering else float("nan"), "ms",
         f"worst {max(answering, default=float('nan')):.3f}"),
    ]
    for part in PARTS:
        values = [1000 * p[part] for p in traced]
        if values:
            out.append((f"  {part}, median / worst ({len(values)} traced)",
                        statistics.median(values), "ms", f"worst {max(values):.3f}"))
    return out


def run() -> list[Figure]:
    runs = int(os.environ.get("CARP_BENCH_TAKEOVER_RUNS", "10"))
    figures: list[Figure] = []
    for proto in protocols():
        figures += measure(proto, runs)
    figures.append(("load average (1 min) at the end", os.getloadavg()[0], "", ""))
    return figures


if __name__ == "__main__":
    for name, value, unit, target in run():
        print(f"{name:<66} {value:>10.3f} {unit:<7} {target}")
