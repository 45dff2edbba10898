"""The metrics process: `python -m carp.daemon.metrics_server ADDR:PORT RUNDIR`, which
carpd starts with --metrics (carp/daemon/metrics.py says why a process).

The official client library's HTTP server, with one Collector that reads status.json
as carpd last wrote it (at once on a state change, a second or, where a write is costly,
a few seconds apart while only counters move: carp/daemon/status.py), decoded again
only when the file changed.  The process binds, then drops to nobody (status.json is
readable by all: it holds no key) and a lower priority, and leaves when carpd's end of
its stdin closes, kill -9 included.

Every name has the `carp_` prefix; per-vhid series carry the labels `interface` (as
ifconfig names it) and `vhid`.  Every carpstats counter (carp.wire.STAT_FIELDS) is one
of the host-wide counters below (COUNTERS); a test holds that.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from carp.daemon.metrics import parse_listen
from carp.states import BACKUP, INIT, MASTER
from carp.wire import DROP_FIELDS

STATES = (INIT, BACKUP, MASTER)
VHID_LABELS = ("interface", "vhid")
NOBODY = 65534
NICE = 10  # a scrape must never compete with carpd for a core

# carpstats counter -> (metric name without _total, help, extra labels)
COUNTERS: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "ipackets": ("carp_packets_received", "CARP packets received", (("family", "inet"),)),
    "ipackets6": ("carp_packets_received", "CARP packets received", (("family", "inet6"),)),
    "opackets": ("carp_packets_sent", "CARP advertisements sent", (("family", "inet"),)),
    "opackets6": ("carp_packets_sent", "CARP advertisements sent", (("family", "inet6"),)),
    "onomem": ("carp_send_failed", "advertisements that could not be sent", ()),
    "ostates": ("carp_state_updates_sent", "state updates sent (carpstats ostates)", ()),
    "preempt": ("carp_transitions_to_master", "transitions to master (carpstats preempt)", ()),
    **{stat: ("carp_packets_dropped", "received CARP packets dropped, by carpstats counter",
              (("reason", stat),)) for stat in DROP_FIELDS},
}


class CarpCollector(Collector):
    """Reads the current status document (status.json's shape) at each scrape."""

    def __init__(self, current: Callable[[], Mapping[str, Any] | None]) -> None:
        self.current = current

    def collect(self) -> Iterator[Metric]:
        doc = self.current()
        if doc is None:
            return
        yield from self._vhids(doc)
        yield from self._host(doc)

    def _vhids(self, doc: Mapping[str, Any]) -> Iterator[Metric]:
        state = GaugeMetricFamily("carp_vhid_state", "1 for the vhid's current state",
                                  labels=(*VHID_LABELS, "state"))
        trans = CounterMetricFamily("carp_vhid_transitions", "state changes of the vhid",
                                    labels=VHID_LABELS)
        last = GaugeMetricFamily("carp_vhid_last_transition_timestamp_seconds",
                                 "wall time of the vhid's last state change",
                                 labels=VHID_LABELS)
        advbase = GaugeMetricFamily("carp_vhid_advbase_seconds", "advbase", labels=VHID_LABELS)
        advskew = GaugeMetricFamily("carp_vhid_advskew", "advskew as sent (demotion included)",
                                    labels=VHID_LABELS)
        interval = GaugeMetricFamily("carp_vhid_advertisement_interval_seconds",
                                     "advbase + advskew/256 (VRRPv3: vrrpinterval)",
                                     labels=VHID_LABELS)
        prio = GaugeMetricFamily("carp_vhid_priority", "VRRPv3 vrrpprio", labels=VHID_LABELS)
        master_interval = GaugeMetricFamily(
            "carp_vhid_master_interval_seconds",
            "VRRPv3: the interval learned from the master's advertisements",
            labels=VHID_LABELS)
        demote = GaugeMetricFamily("carp_vhid_demote", "the demote counter sent",
                                   labels=VHID_LABELS)
        drops = CounterMetricFamily("carp_vhid_packets_dropped",
                                    "packets dropped after they reached the vhid",
                                    labels=(*VHID_LABELS, "reason"))
        for key, per_vhid in sorted((doc.get("vhosts") or {}).items()):
            for vhid, e in sorted(per_vhid.items(), key=lambda kv: int(kv[0])):
                labels = (str(e.get("name") or key), str(vhid))
                for s in STATES:
                    state.add_metric((*labels, s), 1.0 if e.get("state") == s else 0.0)
                trans.add_metric(labels, float(e.get("transitions", 0)))
                if e.get("since_wall"):
                    last.add_metric(labels, float(e["since_wall"]))
                if "prio" in e:  # VRRPv3: advbase/advskew are unused; centiseconds
                    prio.add_metric(labels, float(e["prio"]))
                    interval.add_metric(labels, float(e.get("interval", 0)) / 100)
                    master_interval.add_metric(labels, float(e.get("master_interval", 0)) / 100)
                else:
                    base, skew = float(e.get("advbase", 0)), float(e.get("advskew", 0))
                    advbase.add_metric(labels, base)
                    advskew.add_metric(labels, skew)
                    interval.add_metric(labels, base + skew / 256)
                demote.add_metric(labels, float(e.get("demote", 0)))
                for reason, n in sorted((e.get("drops") or {}).items()):
                    drops.add_metric((*labels, reason), float(n))
        yield from (state, trans, last, advbase, advskew, interval, prio, master_interval,
                    demote, drops)

    def _host(self, doc: Mapping[str, Any]) -> Iterator[Metric]:
        counters = doc.get("counters") or {}
        families: dict[str, CounterMetricFamily] = {}
        for stat, (name, doc_text, extra) in COUNTERS.items():
            fam = families.get(name)
            if fam is None:
                fam = families[name] = CounterMetricFamily(
                    name, doc_text, labels=[k for k, _ in extra])
            fam.add_metric([v for _, v in extra], float(counters.get(stat, 0)))
        yield from families.values()
        demotion = GaugeMetricFamily("carp_demotion", "carpd's own demotion (FreeBSD)",
                                     value=float(doc.get("demotion", 0)))
        groups = GaugeMetricFamily("carp_group_demotion", "interface group carpdemote",
                                   labels=("group",))
        for group, n in sorted((doc.get("groups") or {}).items()):
            groups.add_metric((group,), float(n))
        yield from (demotion, groups)


def start_server(
    listen: str, current: Callable[[], Mapping[str, Any] | None]
) -> Callable[[], None]:
    """The client library's HTTP server on `listen`, in a thread; returns its stop."""
    from prometheus_client import start_http_server

    host, port = parse_listen(listen)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CarpCollector(current))
    server, thread = start_http_server(port, host, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)

    return stop


class StatusFile:
    """status.json as carpd last wrote it, decoded again only when the file changed."""

    def __init__(self, rundir: str) -> None:
        from carp.store import Store

        self.store = Store(rundir)
        self._stamp: tuple[int, int, int] | None = None
        self._doc: dict[str, Any] | None = None

    def __call__(self) -> dict[str, Any] | None:
        try:
            st = os.stat(self.store.status_path)
        except OSError:
            return None
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._doc, self._stamp = self.store.read_status(), stamp
        return self._doc


def drop_privileges() -> None:
    """After the bind: nobody, no groups, a lower priority."""
    os.nice(NICE)
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def warm_up(listen: str) -> None:
    """One scrape of our own before dropping privileges: whatever a scrape imports
    lazily (codecs, the status reader's helpers) is loaded while root can still read
    it (the interpreter may live under /root, 0700).  Straight to our own port, whatever
    http_proxy the environment holds."""
    import urllib.request

    host, port = parse_listen(listen)
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    url = f"http://{f'[{host}]' if ':' in host else host}:{port}/metrics"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(url, timeout=5) as reply:
        reply.read()


def main(argv: list[str]) -> int:
    """`python -m carp.daemon.metrics_server ADDR:PORT RUNDIR`, as carpd runs it."""
    listen, rundir = argv
    try:
        start_server(listen, StatusFile(rundir))
        warm_up(listen)
    except (OSError, ValueError) as exc:
        print(f"carpd: metrics: cannot serve on {listen}: {exc}", file=sys.stderr)
        return 1
    try:
        drop_privileges()
    except OSError as exc:  # a container without setuid: serve on, and say so
        print(f"carpd: metrics: still root: {exc.strerror}", file=sys.stderr)
    while sys.stdin.buffer.read(4096):  # carpd writes nothing: EOF when it is gone
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
