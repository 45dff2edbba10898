"""carpd's Prometheus metrics: what the collector makes of a status document, read back
with the client library's own parser, and the server on a loopback port."""

from __future__ import annotations

import os
import socket
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from carp.daemon import metrics, metrics_server
from carp.store import Store
from carp.wire import STAT_FIELDS
from tests.unprivileged import public_dir


def doc(state: str = "BACKUP", transitions: int = 1) -> dict[str, Any]:
    return {
        "pid": 1, "demotion": 240, "groups": {"carp": 1},
        "counters": {stat: 10 + i for i, stat in enumerate(STAT_FIELDS)},
        "vhosts": {"em0:1": {"1": {
            "name": "em0", "state": state, "since_wall": 1700000000.5, "reason": "x",
            "transitions": transitions, "advbase": 2, "advskew": 64, "demote": 3,
            "drops": {"badauth": 4},
        }}},
    }


def scrape_text(current: Mapping[str, Any] | None) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics_server.CarpCollector(lambda: current))
    return generate_latest(registry).decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def vhid(**extra: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"interface": "em0", "vhid": "1", **extra}.items()))


def test_per_vhid_series() -> None:
    got = samples(scrape_text(doc("MASTER", 2)))
    assert [got[("carp_vhid_state", vhid(state=s))] for s in ("INIT", "BACKUP", "MASTER")] \
        == [0.0, 0.0, 1.0]
    assert got[("carp_vhid_transitions_total", vhid())] == 2
    assert got[("carp_vhid_last_transition_timestamp_seconds", vhid())] == 1700000000.5
    assert got[("carp_vhid_advbase_seconds", vhid())] == 2
    assert got[("carp_vhid_advskew", vhid())] == 64
    assert got[("carp_vhid_advertisement_interval_seconds", vhid())] == 2.25
    assert got[("carp_vhid_demote", vhid())] == 3
    assert got[("carp_vhid_packets_dropped_total", vhid(reason="badauth"))] == 4
    assert got[("carp_demotion", ())] == 240
    assert got[("carp_group_demotion", (("group", "carp"),))] == 1


def test_vrrp_vhid_timing() -> None:
    """A VRRPv3 vhid (status "prio"): its interval in centiseconds, its priority and the
    learned master interval; no advbase/advskew (unused in that mode)."""
    d = doc("BACKUP")
    d["vhosts"]["em0:1"]["1"].update(prio=150, interval=10, master_interval=40)
    got = samples(scrape_text(d))
    assert got[("carp_vhid_advertisement_interval_seconds", vhid())] == 0.1
    assert got[("carp_vhid_priority", vhid())] == 150
    assert got[("carp_vhid_master_interval_seconds", vhid())] == 0.4
    assert ("carp_vhid_advbase_seconds", vhid()) not in got
    assert ("carp_vhid_advskew", vhid()) not in got
    carp = samples(scrape_text(doc()))  # a CARP vhid has no VRRPv3 series
    assert ("carp_vhid_priority", vhid()) not in carp
    assert ("carp_vhid_master_interval_seconds", vhid()) not in carp


def test_every_carpstats_counter_is_one_series() -> None:
    got = samples(scrape_text(doc()))
    host = {k: v for k, v in got.items()
            if k[0].endswith("_total") and not k[0].startswith("carp_vhid_")}
    # each counter's distinct value shows up exactly once: none lost, none merged
    assert sorted(host.values()) == [float(10 + i) for i in range(len(STAT_FIELDS))]
    assert all(name.startswith("carp_") for name, _ in got)
    assert set(metrics_server.COUNTERS) == set(STAT_FIELDS)


def test_nothing_before_the_first_status() -> None:
    assert samples(scrape_text(None)) == {}


@pytest.mark.parametrize(("arg", "want"), [
    ("9798", ("127.0.0.1", 9798)), ("0.0.0.0:80", ("0.0.0.0", 80)),
    ("[::1]:9798", ("::1", 9798)), (":9798", ("127.0.0.1", 9798)),
])
def test_parse_listen(arg: str, want: tuple[str, int]) -> None:
    assert metrics.parse_listen(arg) == want


@pytest.mark.parametrize("arg", ["", "x", "1.2.3.4:0", "1.2.3.4:65536", "::1:9798", "h:p"])
def test_parse_listen_refuses(arg: str) -> None:
    with pytest.raises(ValueError):
        metrics.parse_listen(arg)


def free_port() -> int:
    """A loopback port nothing listens on (bound a moment, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def uids(pid: int) -> list[str]:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[1:]


def test_server_serves_the_current_document() -> None:
    """The library's own server, in its thread, reading whatever was published last."""
    port = free_port()
    current: dict[str, Any] = {"doc": doc("BACKUP", 1)}
    stop = metrics_server.start_server(f"127.0.0.1:{port}", lambda: current["doc"])
    try:
        def get() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return samples(r.read().decode())

        assert get()[("carp_vhid_state", vhid(state="BACKUP"))] == 1
        current["doc"] = doc("MASTER", 2)  # the loop publishes a new document
        after = get()
        assert after[("carp_vhid_state", vhid(state="MASTER"))] == 1
        assert after[("carp_vhid_transitions_total", vhid())] == 2
    finally:
        stop()


def test_status_file_is_decoded_again_only_when_it_changes(tmp_path: Path) -> None:
    store = Store(tmp_path)
    reader = metrics_server.StatusFile(str(tmp_path))
    assert reader() is None  # no carpd yet
    store.write_status({"pid": os.getpid(), "vhosts": {}})
    first = reader()
    assert first is not None and first["vhosts"] == {}
    assert reader() is first  # unchanged file: the same document
    store.write_status({"pid": os.getpid(), "vhosts": doc()["vhosts"]})
    second = reader()
    assert second is not None and "em0:1" in second["vhosts"]


def test_metrics_process_serves_as_nobody_and_leaves_with_carpd() -> None:
    """What carpd starts with --metrics: status.json served after the drop to nobody
    (a real scrape, after which nothing may need root's files), at a lower priority,
    and gone once carpd's end of its stdin closes.  The process serves before it drops
    (its warm-up scrape): the test waits for the drop, then scrapes."""
    port = free_port()
    nobody = [str(metrics_server.NOBODY)] * 4
    with public_dir() as rundir:
        Store(rundir).write_status({"pid": os.getpid(), **doc("MASTER", 2)})
        proc = metrics.spawn(f"127.0.0.1:{port}", rundir)
        try:
            deadline = time.monotonic() + 10
            while uids(proc.pid) != nobody and proc.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.02)
            assert uids(proc.pid) == nobody
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                got = samples(r.read().decode())
            assert got[("carp_vhid_state", vhid(state="MASTER"))] == 1
            assert os.getpriority(os.PRIO_PROCESS, proc.pid) >= metrics_server.NICE
            assert proc.stdin is not None
            proc.stdin.close()  # carpd is gone
            assert proc.wait(5) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_warm_up_goes_straight_to_our_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """http_proxy in carpd's environment (an unreachable proxy here) must not carry the
    warm-up scrape elsewhere: it reaches our own server."""
    proxy = free_port()  # nothing listens there: a proxy that refuses
    for var in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{proxy}")
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    port = free_port()
    scrapes: list[int] = []
    stop = metrics_server.start_server(f"127.0.0.1:{port}",
                                       lambda: (scrapes.append(1), doc())[1])
    try:
        metrics_server.warm_up(f"127.0.0.1:{port}")
    finally:
        stop()
    assert scrapes == [1]


def test_metrics_process_says_why_it_cannot_listen(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with public_dir() as rundir:
            assert metrics_server.main([f"127.0.0.1:{port}", str(rundir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"carpd: metrics: cannot serve on 127.0.0.1:{port}: ")
    assert "Address already in use" in err
