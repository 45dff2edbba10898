"""carpnodes load balancing on namespace hosts: the carp(4) example (host A `carpnodes
1:0,2:100`, host B `carpnodes 1:100,2:0`, 192.168.1.10) with STATIONS client stations.

(a) throughput: one iperf3 client per station, each to its own server port, all at once
    for SECONDS, to the balanced address, and in the same lab to a plain address with a
    single MASTER (carp1, vhid 9, 192.168.1.20, on host A): the sum, and the ratio
    balanced / single.  Per balancing mode, stations -> hosts (upload) and hosts ->
    stations (iperf3 -R), ROUNDS rounds of one run each, back to back and in alternating
    order; the ratio is the median of the rounds' ratios (a round's two runs share the
    machine's load of the moment, which others vary), the sums are medians.  Every
    namespace shares this machine's cores, so balancing cannot add capacity here: the
    ratio shows what the split costs (the flooding of ip modes, the filter), target
    >= 90 %.  The lab's switch is a Linux bridge, which passes a copy of every multicast
    frame (all of balancing ip's traffic) up to its own namespace's stack, on the same
    cores: ip mode is measured again with that copy dropped (Lab.quiet_switch), as a
    hardware switch would not spend the hosts' CPU on it.
(b) failover: a station whose flows host A owns sends an ICMP echo every 2 ms; A's carpd
    is killed (kill -9); the first echo reply entering the switch from B's port, minus
    (A's last advertisement of vhid 1 + B's master-down for vhid 1), both from one capture
    on the switch.  Target <= 10 ms.  A comes back (preempt) before the next run.
(c) carpd's CPU (% of one core, all threads, both hosts) during the balanced runs of (a)
    and in a window of the same length without traffic: the packets never reach Python.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time

from bench.bench_carpd import _pct
from bench.procstat import cpu_seconds
from carp.balance import ip_fold
from carp.lab import Capture, Lab, netns
from carp.lab.hosts import Station
from carp.lab.scenario import master_down, vhid_states, wait_states

Figure = tuple[str, float, str, str]
VIP, PLAIN = "192.168.1.10", "192.168.1.20"
STATIONS = 8
SECONDS = 4
ROUNDS = 6
FAILOVERS = 5
BASE_PORT = 5201
MODES = ("ip", "ip-stealth", "arp")


def _configure(lab: Lab, mode: str) -> None:
    a, b = lab.hosts
    for host, skews in ((a, "1:0,2:100"), (b, "1:100,2:0")):
        host.ifconfig("carp0", VIP, "carpnodes", skews, "balancing", mode)
    want = {a: {1: "MASTER", 2: "BACKUP"}, b: {1: "BACKUP", 2: "MASTER"}}
    if not wait_states(want, 15):
        raise RuntimeError(f"no election: {vhid_states(a)} {vhid_states(b)}")
    # the stations still know the MAC of the previous mode (its multicast MAC, or the
    # node they were given): OpenBSD's man page warns of this; here they forget it
    lab.client(1).forget_neighbours()


def _setup(lab: Lab, servers: list[subprocess.Popen[bytes]]) -> list[Station]:
    """carpd, the plain address and an iperf3 server per station port on both hosts."""
    for host, skew in zip(lab.hosts, ("0", "100"), strict=True):
        host.start_carpd()
        host.sysctl("-w", "net.inet.carp.preempt=1")
        host.ifconfig("carp1", "create")
        host.ifconfig("carp1", "vhid", "9", "advskew", skew, f"{PLAIN}/24")
        for i in range(STATIONS):
            servers.append(subprocess.Popen(
                netns.exec_argv(host.ns, ["iperf3", "-s", "-p", str(BASE_PORT + i)]),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return lab.client(1).stations(STATIONS)


def _iperf(lab: Lab, stations: list[Station], target: str, reverse: bool) -> tuple[float, float]:
    """(sum of what the receivers got in Gbit/s, carpd's CPU in % of a core on both hosts
    while the streams run, their first second and last half second left out)."""
    client = lab.client(1)
    procs = [subprocess.Popen(
        netns.exec_argv(client.ns, ["iperf3", "-c", target, "-p", str(BASE_PORT + i),
                                    "-B", f"{st.ip}%{st.dev}", "-t", str(SECONDS), "-J",
                                    "--connect-timeout", "3000",
                                    *(["-R"] if reverse else [])]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i, st in enumerate(stations)]
    time.sleep(1.0)
    c0, t0 = _carpd_cpu(lab), time.monotonic()
    time.sleep(SECONDS - 1.5)
    cpu = 100 * (_carpd_cpu(lab) - c0) / (time.monotonic() - t0)
    total = 0.0
    for proc in procs:
        out, err = proc.communicate(timeout=SECONDS + 30)
        data = json.loads(out)
        if "error" in data:
            raise RuntimeError(f"iperf3: {data['error']}")
        total += data["end"]["sum_received"]["bits_per_second"]
    return total / 1e9, cpu


def _carpd_cpu(lab: Lab) -> float:
    return sum(cpu_seconds(h.carpd_pid) for h in lab.hosts if h.carpd_pid)


def _throughput(lab: Lab, stations: list[Station], modes: tuple[str, ...], busy: list[float],
                switch: str = "") -> list[Figure]:
    figures: list[Figure] = []
    for mode in modes:
        _configure(lab, mode)
        for reverse in (False, True):
            way = ("hosts -> stations" if reverse else "stations -> hosts") + switch
            single, balanced = [], []
            for i in range(ROUNDS):
                if i % 2:
                    single.append(_iperf(lab, stations, PLAIN, reverse)[0])
                gbps, cpu = _iperf(lab, stations, VIP, reverse)
                balanced.append(gbps)
                busy.append(cpu)
                if not i % 2:
                    single.append(_iperf(lab, stations, PLAIN, reverse)[0])
            ratios = [100 * b / s for s, b in zip(single, balanced, strict=True)]
            s, b = statistics.median(single), statistics.median(balanced)
            figures.append((f"{mode}, {way}: single MASTER, {STATIONS} iperf3 streams", s,
                            "Gbit/s", ""))
            figures.append((f"{mode}, {way}: balanced over 2 hosts", b, "Gbit/s", ""))
            figures.append((f"{mode}, {way}: balanced / single, median of {ROUNDS} rounds",
                            statistics.median(ratios), "%", ">= 90 %"))
            figures.append((f"  rounds: {' / '.join(f'{r:.0f}' for r in ratios)} %",
                            min(ratios), "% min", ""))
    return figures


def _cpu(lab: Lab, busy: list[float]) -> list[Figure]:
    figures: list[Figure] = []
    idle = []
    for _ in range(min(len(busy), 12)):  # windows as long as the busy ones
        c0, t0 = _carpd_cpu(lab), time.monotonic()
        time.sleep(SECONDS - 1.5)
        idle.append(100 * (_carpd_cpu(lab) - c0) / (time.monotonic() - t0))
    figures.append((f"carpd CPU, both hosts, idle, median of {len(idle)} windows",
                    statistics.median(idle), "% core", ""))
    figures.append(("carpd CPU, both hosts, while the balanced streams run, median",
                    statistics.median(busy), "% core", "= idle"))
    figures.append(("  max idle / max busy", max(idle), "% core", f"{max(busy):.3f}"))
    return figures


def _one_failover(lab: Lab, cap: Capture, station: Station) -> tuple[float, float]:
    """(first reply from B - (A's last advert + md), B's first advert - same)."""
    a, b = lab.hosts
    md = master_down(1, 100)
    stream = lab.client(1).echo_stream(VIP, station.source(), duration=md + 3.0)
    try:
        time.sleep(1.1)  # an advertisement of A's is in the capture for sure
        t_kill = a.kill_carpd()
        reply = cap.wait_for(lambda r: r["kind"] == "icmp_reply" and r["port"] == b.port()
                             and r["dst_ip"] == station.ip, timeout=md + 3, since=t_kill)
        advert = cap.wait_for(lambda r: r["kind"] == "carp" and r["vhid"] == 1
                              and r["port"] == b.port(), timeout=1, since=t_kill)
    finally:
        stream.communicate(timeout=md + 10)
    if reply is None or advert is None:
        raise RuntimeError("B never took node 1 over")
    last = max(r["t"] for r in cap.adverts(vhid=1, port=a.port(), until=t_kill + 0.5))
    a.start_carpd()
    if not wait_states({a: {1: "MASTER", 2: "BACKUP"}, b: {1: "BACKUP", 2: "MASTER"}}, 15):
        raise RuntimeError(f"no preemption: {vhid_states(a)} {vhid_states(b)}")
    time.sleep(0.5)
    return reply["t"] - (last + md), advert["t"] - (last + md)


def _failover(lab: Lab, stations: list[Station]) -> list[Figure]:
    _configure(lab, "ip")
    cap = lab.capture()
    station = next(s for s in stations if ip_fold(s.ip, VIP) % 2 == 0)  # node 0 owns it
    runs = [_one_failover(lab, cap, station) for _ in range(FAILOVERS)]
    accepted = [1000 * r for r, _ in runs]
    adverts = [1000 * ad for _, ad in runs]
    return [
        (f"node death -> survivor accepts its share, over master-down, p50 ({FAILOVERS})",
         _pct(accepted, 50), "ms", "<= 10 ms"),
        ("  same, max", max(accepted), "ms", "<= 10 ms"),
        ("  survivor's first advertisement as MASTER, over master-down, p50",
         _pct(adverts, 50), "ms", ""),
    ]


def run() -> list[Figure]:
    servers: list[subprocess.Popen[bytes]] = []
    with Lab(hosts=2, lans=1) as lab:
        try:
            stations = _setup(lab, servers)
            busy: list[float] = []
            figures = _throughput(lab, stations, MODES, busy)
            lab.quiet_switch()
            figures += _throughput(lab, stations, ("ip",), busy, ", quiet switch")
            figures += _cpu(lab, busy)
            figures += _failover(lab, stations)
        finally:
            for proc in servers:  # by PID; the lab removes their namespaces next
                proc.kill()
                proc.wait()
    return figures


if __name__ == "__main__":
    for name, value, unit, target in run():
        print(f"{name:<66} {value:>10.3f} {unit:<7} {target}")
