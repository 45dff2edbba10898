"""A flood of bad advertisements at a MASTER (issue 8, "Flood"), short: 2 s of them.

A client sends advertisements for the MASTER's vhid that must all be dropped, in turn:
TTL 64, a wrong checksum, a digest made with another key, an unknown vhid, version 4.
The MASTER stays MASTER (no transition at all), keeps advertising, and counts every one
of them in its own carpstats counter, exactly.  The 30 s flood at 20,000 a second, with
the timing of the advertisements and carpd's CPU, is `make bench` (bench/bench_flood.py).
"""

from __future__ import annotations

import time

import pytest

from carp.lab.probe import FLOOD_KINDS
from carp.lab.scenario import configure_carp, wait_states
from carp.states import MASTER
from tests.netns.lab_fixtures import open_lab

pytestmark = pytest.mark.netns

RATE, SECONDS = 10_000, 2.0


@pytest.mark.parametrize("pers", ["openbsd", "freebsd"])
def test_a_master_under_a_flood_stays_master_and_counts_every_drop(pers: str) -> None:
    with open_lab(hosts=1, lans=1, personality=pers, carpd_args=()) as lab:
        host = lab.hosts[0]
        host.start_carpd()
        configure_carp(host)
        assert wait_states({host: {1: MASTER}}, 6)
        cap = lab.capture(ports=[host.port()])  # what the master sends, not the flood
        before = host.status() or {}
        since = next(iter(before["vhosts"].values()))["1"]["since"]
        t0 = time.time()
        flood = lab.client(1).flood(RATE, SECONDS)
        t1 = time.time()
        sent = flood["sent"]
        assert sorted(sent) == sorted(FLOOD_KINDS) and sum(sent.values()) == RATE * SECONDS

        def counted() -> dict[str, int]:
            now = (host.status() or {}).get("counters", {})
            return {k: now.get(k, 0) - before["counters"].get(k, 0) for k in [*sent, "ipackets"]}

        want = {**sent, "ipackets": sum(sent.values())}
        deadline = time.monotonic() + 5  # status.json: at most a second behind
        while counted() != want and time.monotonic() < deadline:
            time.sleep(0.2)
        assert counted() == want
        after = host.status() or {}
        vhost = next(iter(after["vhosts"].values()))["1"]
        assert (vhost["state"], vhost["since"]) == (MASTER, since)  # never left MASTER
        adverts = cap.adverts(since=t0, until=t1)
        assert len(adverts) >= int(SECONDS) - 1  # and kept advertising through it
