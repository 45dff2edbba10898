"""The operator's view of a failover: `carpd status` (root and nobody) and the Prometheus
metrics, scraped with the client library's own parser while the master is killed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from carp.lab import Host, Lab, netns
from carp.lab.scenario import manpage_pair, master_down, vhid_states, wait_until
from tests.netns.lab_fixtures import open_lab
from tests.unprivileged import NOBODY_ARGV, nobody_env

pytestmark = pytest.mark.netns

LISTEN = "127.0.0.1:9798"  # each namespace has a loopback of its own
SCRAPE = ("import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
          f"'http://{LISTEN}/metrics', timeout=5).read().decode())")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def lab() -> Iterator[Lab]:
    with open_lab(hosts=2, lans=1, personality="openbsd") as lab:
        for host in lab.hosts:
            host.start_carpd("--metrics", LISTEN)
        manpage_pair(lab)  # A MASTER, B BACKUP of vhid 1 on carp0
        yield lab


def scrape(host: Host) -> subprocess.CompletedProcess[str]:
    return host.run([sys.executable, "-c", SCRAPE], check=False)


def samples(host: Host) -> Samples:
    proc = scrape(host)
    assert proc.returncode == 0, proc.stderr
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(proc.stdout) for s in fam.samples}


def state_of(got: Samples) -> list[str]:
    return [dict(labels)["state"] for (name, labels), v in got.items()
            if name == "carp_vhid_state" and dict(labels)["vhid"] == "1" and v == 1]


def transitions(got: Samples) -> float:
    return got[("carp_vhid_transitions_total", (("interface", "carp0"), ("vhid", "1")))]


def status_json(host: Host, nobody: bool = False) -> dict[str, object]:
    argv = [str(netns.BIN / "carpd"), "status", "--json"]
    if nobody:
        env = nobody_env(netns.child_env({"CARP_PERSONALITY": "openbsd"}))
        proc = netns.run(netns.exec_argv(host.ns, [*NOBODY_ARGV, *argv]), check=False,
                         env=env)
    else:
        proc = host.run(argv, check=False)
    assert (proc.returncode, proc.stderr) == (0, ""), proc
    doc = json.loads(proc.stdout)
    assert isinstance(doc, dict)
    return doc


def test_failover_seen_in_metrics_and_status(lab: Lab) -> None:
    a, b = lab.hosts
    received = ("carp_packets_received_total", (("family", "inet"),))
    # counters are published at most a second late: A's advertisements show up in B's
    assert wait_until(lambda: samples(b)[received] >= 2, 4)
    before = samples(b)
    assert state_of(before) == ["BACKUP"] and state_of(samples(a)) == ["MASTER"]
    [row] = status_json(b)["vhids"]  # type: ignore[misc]
    assert (row["state"], row["master"], row["interface"]) == ("BACKUP", a.ip(1), "carp0")
    assert row["heard_ago"] is not None and row["heard_ago"] < 2.5

    t_kill = a.kill_carpd()  # its watchdog withdraws the address; B hears nothing more
    # A's metrics process leaves with it (its stdin, carpd's pipe, reads EOF)
    assert wait_until(lambda: scrape(a).returncode != 0, 3)
    assert wait_until(lambda: vhid_states(b).get(1) == "MASTER",
                      master_down(1, 100) + 3), (vhid_states(b), b.log())
    # the metrics show it as soon as the status is published (at once on a state change)
    assert wait_until(lambda: state_of(samples(b)) == ["MASTER"], 2)
    after = samples(b)
    assert transitions(after) == transitions(before) + 1
    last = after[("carp_vhid_last_transition_timestamp_seconds",
                  (("interface", "carp0"), ("vhid", "1")))]
    assert t_kill < last < t_kill + master_down(1, 100) + 3

    # the table, for root and for nobody (who reads status.json: no key in it)
    table = b.run([str(netns.BIN / "carpd"), "status"]).stdout
    [line] = [ln for ln in table.splitlines() if ln.startswith("carp0")]
    assert line.split()[:3] == ["carp0", "1", "MASTER"] and "master timed out" in line
    [row] = status_json(b, nobody=True)["vhids"]  # type: ignore[misc]
    assert (row["state"], row["reason"], row["transitions"]) == (
        "MASTER", "master timed out", int(transitions(after)))


def test_metrics_are_off_by_default(lab: Lab) -> None:
    a = lab.hosts[0]
    a.stop_carpd()
    a.start_carpd()  # no --metrics
    proc = scrape(a)
    assert proc.returncode != 0 and "Connection refused" in proc.stderr
