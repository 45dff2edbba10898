"""A thousand vhids on one host: 4 carpdevs x 250 (issue 11, part 4).

(a) writes: with carpd running, 1,000 `ifconfig carpN vhid V carpdev emK pass P ADDR`
    commands, one vhid each, run in order inside the host (bench.timing --each); the
    median of the first and of the last ten writes, their ratio (target <= 2), the total.
(b) idle: the same carpd once all 1,000 vhids are MASTER at advbase 1: CPU % of one core
    (median of three 10 s windows, as bench_carpd), RSS.  The kernel forwards what carpd
    sends in carpd's own time, and the lab's switch is a Linux bridge that also hands
    every multicast frame (1,000 a second here) to its own namespace's stack: measured
    again with that copy dropped (Lab.quiet_switch, as bench_balance), after (c).
(c) punctuality: a capture on the switch over 10 s: advertisements per second, vhids
    heard, and per vhid the gaps between its advertisements (1 s expected): the worst
    gap and how many were over 1.1 s.
(d) boot replay: 1,000 OpenBSD /etc/hostname.carpN files of one line each (so 2,000
    steps with the implied `create`s) under `carpd -R`: carpd start until it publishes
    its status (the replay runs before the daemon), target <= 30 s.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from bench import timing
from bench.procstat import cpu_pct, kernel_share, rss_mb
from carp.lab import Host, Lab
from carp.lab.netns import BIN
from carp.lab.scenario import PASS, wait_until

Figure = tuple[str, float, str, str]
DEVS = 4
PER_DEV = 250
N = DEVS * PER_DEV
EDGE = 10  # writes at each end whose median is compared
IDLE_SECONDS = 10.0
IDLE_WINDOWS = 3
CAPTURE_SECONDS = 10.0
LATE = 1.1  # s: an advertisement gap beyond this is late (advbase 1)


def _vhids() -> list[tuple[int, int, int]]:
    """(interface number, carpdev number, vhid) for every vhid."""
    return [(i, i // PER_DEV, i % PER_DEV + 1) for i in range(N)]


def _address(dev: int, vhid: int) -> str:
    return f"10.{dev + 1}.0.{vhid}"


def _commands() -> list[list[str]]:
    return [[str(BIN / "ifconfig"), f"carp{i}", "vhid", str(vhid), "carpdev", f"em{dev}",
             "pass", PASS, f"{_address(dev, vhid)}/16"] for i, dev, vhid in _vhids()]


def _masters(host: Host) -> int:
    return sum(state == "MASTER" for state in host.states().values())


def _writes(lab: Lab) -> list[Figure]:
    host = lab.hosts[0]
    plan = lab.tmp / "writes.json"
    plan.write_text(json.dumps(_commands()))
    t0 = time.monotonic()
    out = host.run([timing.venv_python(), "-m", "bench.timing", "--each", str(plan)],
                   timeout=3600)
    total = time.monotonic() - t0
    times: list[float] = json.loads(out.stdout)
    first, last = statistics.median(times[:EDGE]), statistics.median(times[-EDGE:])
    middle = [(f"write {k - EDGE + 1}..{k}, median", 1000 * statistics.median(times[k - EDGE:k]),
               "ms", "") for k in (N // 4, N // 2, 3 * N // 4)]
    return [
        (f"write 1..{EDGE} (carpd acknowledged), median", 1000 * first, "ms", ""),
        *middle,
        (f"write {N - EDGE + 1}..{N}, median", 1000 * last, "ms", ""),
        (f"  write {N} / write 1", last / first, "x", "<= 2"),
        (f"{N} writes, one vhid each, total", total, "s", "(was 295 s)"),
    ]


def _idle(lab: Lab, quiet: bool) -> list[Figure]:
    host = lab.hosts[0]
    pid = host.carpd_pid
    assert pid is not None
    if not wait_until(lambda: _masters(host) == N, 30):
        raise RuntimeError(f"{_masters(host)} of {N} vhids MASTER")
    time.sleep(3)  # the macvlans' addresses and announcements settle
    if quiet:
        lab.quiet_switch()
    windows = sorted(cpu_pct(pid, IDLE_SECONDS) for _ in range(IDLE_WINDOWS))
    switch = "quiet switch" if quiet else "lab switch"
    figures = [
        (f"idle carpd, {N} MASTER vhids at advbase 1, {switch}: CPU",
         statistics.median(windows), "% core", "<= 5 %"),
        (f"  windows: {' / '.join(f'{w:.2f}' for w in windows)} % core", windows[-1],
         "% max", ""),
    ]
    figures.append(("  of which in the kernel", kernel_share(pid, IDLE_SECONDS), "% of it", ""))
    if not quiet:
        figures.append((f"idle carpd, {N} MASTER vhids: RSS", rss_mb(pid), "MB", "<= 100 MB"))
    return figures


def _punctuality(lab: Lab) -> list[Figure]:
    cap = lab.capture()
    time.sleep(1.5)  # the capture's own start-up
    since = time.time()
    time.sleep(CAPTURE_SECONDS)
    seen: dict[tuple[str, int], list[float]] = {}
    for r in cap.adverts(since=since, until=since + CAPTURE_SECONDS):
        seen.setdefault((r["port"], r["vhid"]), []).append(r["t"])
    cap.stop()
    gaps = [b - a for ts in seen.values() for a, b in zip(ts, ts[1:], strict=False)]
    late = sum(g > LATE for g in gaps)
    return [
        ("advertisements on the wire per second", sum(map(len, seen.values()))
         / CAPTURE_SECONDS, "/s", f"{N} /s"),
        (f"vhids heard in {CAPTURE_SECONDS:.0f} s", len(seen), "vhids", f"{N}"),
        ("worst gap between one vhid's advertisements", max(gaps, default=0.0), "s",
         "advbase 1 s"),
        (f"  gaps over {LATE} s", late, "gaps", "0"),
    ]


def _boot_root(root: Path) -> None:
    etc = root / "etc"
    etc.mkdir(parents=True)
    for i, dev, vhid in _vhids():
        (etc / f"hostname.carp{i}").write_text(
            f"inet {_address(dev, vhid)} 255.255.0.0 NONE vhid {vhid} carpdev em{dev} "
            f"pass {PASS}\n")


def _boot(lab: Lab) -> list[Figure]:
    host = lab.hosts[0]
    root = lab.tmp / "root"
    _boot_root(root)
    t0 = time.monotonic()
    host.start_carpd("-R", str(root), timeout=600)
    replayed = time.monotonic() - t0
    configured = len(host.status() and host.states() or {})
    if configured != N:
        raise RuntimeError(f"boot replay configured {configured} of {N} vhids")
    return [(f"boot replay, {N} hostname.carpN lines, to carpd running", replayed, "s",
             "<= 30 s")]


def run() -> list[Figure]:
    figures: list[Figure] = []
    with Lab(hosts=1, lans=DEVS) as lab:
        lab.hosts[0].start_carpd()
        figures += _writes(lab)
        figures += _idle(lab, quiet=False)
        figures += _punctuality(lab)
        figures += _idle(lab, quiet=True)
    with Lab(hosts=1, lans=DEVS) as lab:
        figures += _boot(lab)
    return figures
