"""Prometheus metrics (`carpd --metrics ADDR:PORT`), off unless asked for.

The official client's own HTTP server runs in its own thread; a scrape never calls
into the protocol loop.  The loop publishes each status document it builds (at once on
a state change, at most a second apart while only counters move: carp/daemon/status.py)
by swapping one reference, and never changes a document once published; the collector
reads whichever document is current.  A scrape therefore costs the loop nothing but the
GIL for the time it takes to format (about 2 ms for 255 vhids), and what it shows is at
most a second old, as status.json.

Every name has the `carp_` prefix; per-vhid series carry the labels `interface` (as
ifconfig names it) and `vhid`.  Every carpstats counter (carp.wire.STAT_FIELDS) is one
of the host-wide counters below (COUNTERS); a test holds that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from carp.states import BACKUP, INIT, MASTER

STATES = (INIT, BACKUP, MASTER)
DEFAULT_HOST = "127.0.0.1"
VHID_LABELS = ("interface", "vhid")

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
              (("reason", stat),))
       for stat in ("badif", "badttl", "hdrops", "badsum", "badver", "badlen", "badauth",
                    "badvhid", "badaddrs")},
}


def parse_listen(arg: str) -> tuple[str, int]:
    """`PORT`, `ADDR:PORT` or `[V6ADDR]:PORT` -> (address, port); ValueError if not."""
    host, sep, port = arg.rpartition(":")
    if not sep:
        host, port = DEFAULT_HOST, arg
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{arg}: write an IPv6 address in brackets, [::1]:PORT")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{arg}: bad port")
    return host or DEFAULT_HOST, int(port)


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
                                     "advbase + advskew/256", labels=VHID_LABELS)
        demote = GaugeMetricFamily("carp_vhid_demote", "the demote counter sent",
                                   labels=VHID_LABELS)
        drops = CounterMetricFamily("carp_vhid_packets_dropped",
                                    "packets dropped after they reached the vhid",
                                    labels=(*VHID_LABELS, "reason"))
        for key, per_vhid in sorted((doc.get("vhosts") or {}).items()):
            for vhid, e in sorted(per_vhid.items()):
                labels = (str(e.get("name") or key), str(vhid))
                for s in STATES:
                    state.add_metric((*labels, s), 1.0 if e.get("state") == s else 0.0)
                trans.add_metric(labels, float(e.get("transitions", 0)))
                if e.get("since_wall"):
                    last.add_metric(labels, float(e["since_wall"]))
                base, skew = float(e.get("advbase", 0)), float(e.get("advskew", 0))
                advbase.add_metric(labels, base)
                advskew.add_metric(labels, skew)
                interval.add_metric(labels, base + skew / 256)
                demote.add_metric(labels, float(e.get("demote", 0)))
                for reason, n in sorted((e.get("drops") or {}).items()):
                    drops.add_metric((*labels, reason), float(n))
        yield from (state, trans, last, advbase, advskew, interval, demote, drops)

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


def serve(listen: str, current: Callable[[], Mapping[str, Any] | None]) -> Callable[[], None]:
    """Start the client library's HTTP server on `listen` in a thread; returns its stop."""
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
