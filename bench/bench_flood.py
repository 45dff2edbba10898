"""A MASTER under a flood of bad advertisements (issue 8, "Flood"), in namespaces.

One lab host holds carp0 vhid 1 (advbase 1, advskew 0) as MASTER; the LAN's client sends
20,000 advertisements a second for 30 s that carpd must drop (carp.lab.probe flood: TTL
64, wrong checksum, foreign key, unknown vhid, version 4, in turn, each frame with a
counter of its own so that no cache sees one twice).  Measured:

* whether the MASTER stays MASTER (no transition at all during the flood);
* advert lateness = the gap between two of the MASTER's advertisements on the wire (a
  capture on its switch port only) - its interval, p50/p95/max, for 10 s without the
  flood and during it: the figure of the carpd benchmark's overshoot (target p95 10 ms);
* carpd's CPU (% of one core, all threads, schedstat) over the flood;
* counted / sent: every one of them in its own carpstats counter;
* the CPU each kind costs carpd, 3 s of each alone at the same rate.
"""

from __future__ import annotations

import time

from bench.bench_carpd import _pct
from bench.procstat import cpu_seconds
from carp.lab import Host, Lab
from carp.lab.capture import Capture
from carp.lab.probe import FLOOD_KINDS
from carp.lab.scenario import configure_carp, wait_states
from carp.states import MASTER

Figure = tuple[str, float, str, str]
RATE = 20_000
SECONDS = 30.0
IDLE = 10.0
PER_KIND = 3.0


def _lateness(cap: Capture, host: Host, since: float, until: float) -> list[float]:
    times = [r["t"] for r in cap.adverts(port=host.port(), since=since, until=until)]
    return [1000 * (b - a - 1.0) for a, b in zip(times, times[1:], strict=False)]


def _vhost(host: Host) -> dict[str, object]:
    status = host.status() or {}
    entry: dict[str, object] = next(iter(status["vhosts"].values()))["1"]
    return entry


def _counters(host: Host) -> dict[str, int]:
    counters: dict[str, int] = (host.status() or {}).get("counters", {})
    return counters


def run() -> list[Figure]:
    out: list[Figure] = []
    with Lab(hosts=1, lans=1) as lab:
        host = lab.hosts[0]
        pid = host.start_carpd()
        configure_carp(host)
        if not wait_states({host: {1: MASTER}}, 6):
            raise RuntimeError("no MASTER")
        cap = lab.capture(ports=[host.port()])
        t0 = time.time()
        time.sleep(IDLE)
        idle = _lateness(cap, host, t0, time.time())
        client = lab.client(1)
        since, before = _vhost(host)["since"], _counters(host)
        c0, w0, t1 = cpu_seconds(pid), time.monotonic(), time.time()
        flood = client.flood(RATE, SECONDS)
        c1, w1, t2 = cpu_seconds(pid), time.monotonic(), time.time()
        time.sleep(1.5)  # status.json is at most a second behind
        sent = flood["sent"]
        after = _counters(host)
        counted = sum(after.get(k, 0) - before.get(k, 0) for k in sent)
        still = _vhost(host)["state"] == MASTER and _vhost(host)["since"] == since
        busy = _lateness(cap, host, t1, t2)
        total = sum(sent.values())
        out += [
            (f"flood {RATE:,} bad adverts/s for {SECONDS:.0f} s: MASTER throughout",
             float(still), "1 = yes", "1"),
            ("  flood rate reached", total / flood["seconds"], "pkt/s", f"{RATE:,}"),
            ("  counted in their carpstats counters / sent", counted / total, "", "1.000"),
            ("  carpd CPU under flood", 100 * (c1 - c0) / (w1 - w0), "% core", "bounded"),
        ]
        for label, lat in (("without flood", idle), ("under flood", busy)):
            for q in (50, 95):
                out.append((f"  advert lateness {label}, p{q} ({len(lat)} gaps)",
                            _pct(lat, q), "ms", "p95 <= 10 ms" if q == 95 else ""))
            out.append((f"  advert lateness {label}, max", max(lat), "ms", ""))
        for kind in FLOOD_KINDS:
            c0, w0 = cpu_seconds(pid), time.monotonic()
            sent = client.flood(RATE, PER_KIND, kinds=[kind])["sent"]
            c1 = cpu_seconds(pid)
            out.append((f"  carpd CPU per {kind} advert (alone, {RATE:,}/s)",
                        1e6 * (c1 - c0) / sent[kind], "us", ""))
    return out


if __name__ == "__main__":
    for name, value, unit, target in run():
        print(f"{name:<66} {value:>10.3f} {unit:<7} {target}")
