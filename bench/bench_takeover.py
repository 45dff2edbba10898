"""Takeover after kill -9 of the master, and where its milliseconds go (issue 11 §3).

The testbed of reference/peers.md: hosts A (advskew 0) and B (advskew 100) on one
bridge, and two stations on the LAN (the client and a macvlan station beside it) each
asking who-has the address and pinging it every 10 ms while the master is killed.

overshoot = the backup's first MASTER advertisement - (the dead master's last
            advertisement + master-down), both from one capture on the bridge.
outage    = the longest wait of a station between two echo replies around the kill,
            shown less master-down: negative as a rule, as the master dies some time
            after its last advertisement, from which master-down runs.

The overshoot is split, per run, with the backup's `carpd --trace` (carp/daemon/trace.py)
lined up with the capture (one wall clock for every namespace):

    bridge -> backup's kernel    the last advertisement crossing the veth pair
    arrival -> deadline          how much later than (kernel arrival + master-down) carpd
                                 set its master-down deadline (reading late, rounding)
    timer late                   the timer ran this long after its deadline
    protocol core                CarpHost.timeout: the takeover's actions
    core -> sendto call          building the frame
    sendto call -> bridge        the kernel's send path and the veth pair

Figures are medians of RUNS runs (worst too).  Roles alternate: the killed host comes
back as BACKUP.  Environment: CARP_BENCH_TAKEOVER_RUNS (default 10),
CARP_BENCH_VRRPINTERVAL (centiseconds: run VRRPv3 with that interval instead of CARP at
advbase 1), CARP_BENCH_CARPD_ARGS (extra carpd options, e.g. "--realtime --mlock").
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
from carp.lab.scenario import master_down, vhid_states, wait_states

Figure = tuple[str, float, str, str]
VIP = "192.168.1.1"
PROBE_EVERY = 0.01
PARTS = ("bridge -> backup's kernel", "arrival -> deadline", "timer late",
         "protocol core", "core -> sendto call", "sendto call -> bridge")


@dataclass(frozen=True)
class Protocol:
    """How the pair is configured, and the master-down interval each host waits."""

    label: str
    configure: Callable[[Host, int], None]  # (host, rank 0 = preferred master)
    master_down: Callable[[int], float]  # rank -> seconds
    personality: str | None = None


def carp_advbase1() -> Protocol:
    from carp.lab.scenario import configure_carp

    return Protocol("CARP advbase 1",
                    lambda host, rank: configure_carp(host, advskew=100 * rank),
                    lambda rank: master_down(1, 100 * rank))


def vrrp(interval_cs: int) -> Protocol:
    """VRRPv3 (FreeBSD's carpver 3): priorities 150 / 100, like keepalived's testbed."""

    def configure(host: Host, rank: int) -> None:
        host.ifconfig("em0", "vhid", "1", "carpver", "3", "vrrpprio", str(150 - 50 * rank),
                      "vrrpinterval", str(interval_cs), f"{VIP}/24")

    def down(rank: int) -> float:  # RFC 9568 §6.1: 3 intervals + skew time
        prio = 150 - 50 * rank
        return (3 * interval_cs + (256 - prio) * interval_cs / 256) / 100

    return Protocol(f"VRRPv3 vrrpinterval {interval_cs}", configure, down, "freebsd")


def protocol() -> Protocol:
    interval = os.environ.get("CARP_BENCH_VRRPINTERVAL")
    return vrrp(int(interval)) if interval else carp_advbase1()


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


def outage(cap: Capture, since: float, until: float) -> float:
    """The longest wait, over both stations, between two echo replies in the window
    (its ends count as replies: a station never answered again shows the whole wait)."""
    replies = cap.select("icmp_reply", since=since, until=until, src_ip=VIP)
    worst = 0.0
    for dst in {r["dst_ip"] for r in replies}:
        times = [since] + [r["t"] for r in replies if r["dst_ip"] == dst] + [until]
        worst = max([worst, *(b - a for a, b in zip(times, times[1:], strict=False))])
    return worst if replies else until - since


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


def one_run(lab: Lab, cap: Capture, proto: Protocol,
            station: Station) -> tuple[float, float, dict[str, float]]:
    master, backup = roles(lab)
    md = proto.master_down(rank(backup))
    running = probes(lab, station, md + 1.5)
    time.sleep(0.5)
    t_kill = master.kill_carpd()
    first = cap.wait_for(lambda r: r["kind"] == "carp" and r["port"] == backup.port(),
                         timeout=md + 3, since=t_kill)
    for proc in running:
        proc.communicate(timeout=30)
    if first is None:
        raise RuntimeError(f"{backup.name} did not take over")
    last = max(r["t"] for r in cap.adverts(port=master.port(), until=t_kill + 0.5))
    parts = breakdown(read_trace(trace_path(backup)), last, first["t"], md)
    gap = outage(cap, t_kill - 0.2, t_kill + md + 0.9)  # the probes run until +1 s
    start(master)
    settle(cap, backup, master)
    return first["t"] - (last + md), gap - md, parts


def run() -> list[Figure]:
    proto = protocol()
    runs = int(os.environ.get("CARP_BENCH_TAKEOVER_RUNS", "10"))
    with Lab(hosts=2, lans=1, personality=proto.personality) as lab:
        cap = pair(lab, proto)
        station = lab.client(1).stations(1)[0]
        time.sleep(1.2)
        results = [one_run(lab, cap, proto, station) for _ in range(runs)]
    over = [1000 * o for o, _g, _p in results]
    gaps = [1000 * g for _o, g, _p in results]
    traced = [p for _o, _g, p in results if p]
    extra = os.environ.get("CARP_BENCH_CARPD_ARGS", "").strip()
    label = proto.label + (f" [{extra}]" if extra else "")
    out: list[Figure] = [
        (f"kill -9 overshoot, {label}, median ({runs})", statistics.median(over), "ms",
         "<= 2 ms (keepalived 0.9)"),
        (f"kill -9 overshoot, {label}, worst", max(over), "ms", "<= 4 ms"),
        (f"kill -9 station outage - master-down, {label}, worst", max(gaps), "ms",
         "<= 20 ms"),
    ]
    for part in PARTS:
        values = [1000 * p[part] for p in traced]
        if values:
            out.append((f"  {part}, median / worst ({len(values)} traced)",
                        statistics.median(values), "ms", f"worst {max(values):.3f}"))
    return out


if __name__ == "__main__":
    for name, value, unit, target in run():
        print(f"{name:<66} {value:>10.3f} {unit:<7} {target}")
