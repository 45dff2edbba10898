"""Equal advskew on real hosts settles on exactly one MASTER (carp.4, "Equal advskew").

A tie needs two carpds whose master-down timers run out closer together than an
advertisement takes to reach the other one.  Freezing both backups (SIGSTOP) while
their master dies, and thawing them together, makes that happen: both wake with the
timer overdue, both become MASTER and advertise at once -- unless the second to run has
the first one's advert queued already, which carpd reads before an overdue timer."""

from __future__ import annotations

import os
import signal
import time

import pytest

from carp.lab import Capture, Host, Lab
from carp.lab.scenario import configure_carp, master_down, masters, wait_until
from tests.netns.lab_fixtures import open_lab

pytestmark = pytest.mark.netns


def advertisers(lab: Lab, cap: Capture, since: float, until: float) -> list[str]:
    """Hosts seen advertising vhid 1 on the wire in [since, until], one entry per advert."""
    return [lab.port_owner(r["port"]) for r in cap.adverts(vhid=1, since=since, until=until)]


def agreed_master(hosts: list[Host], lab: Lab, cap: Capture, since: float) -> str:
    """The one host that advertised since `since`, once every host's status agrees."""
    seen = set(advertisers(lab, cap, since, time.time()))
    assert len(seen) == 1, f"advertising since the check began: {sorted(seen)}"
    assert wait_until(lambda: masters(hosts).get(1) == sorted(seen), 2), masters(hosts)
    return seen.pop()


@pytest.mark.parametrize("pers", ["openbsd", "freebsd", "netbsd"])
def test_equal_hosts_started_together_then_a_forced_tie(pers: str) -> None:
    with open_lab(hosts=3, lans=1, personality=pers) as lab:
        cap = lab.capture()
        hosts = lab.hosts
        md = master_down(1, 0, pers)
        for host in hosts:  # the same hostname.carp0 everywhere, written before carpd runs
            configure_carp(host)
        for host in hosts:
            host.start_carpd(wait=False)
        for host in hosts:
            host.wait_carpd_ready()
        # Within two master-down intervals of a common start: one MASTER, and it stays.
        time.sleep(2 * md)
        check = time.time()
        time.sleep(md)
        first = agreed_master(hosts, lab, cap, check)

        rest = [h for h in hosts if h.letter != first]
        pids = [h.carpd_pid for h in rest]
        for pid in pids:
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
        try:
            lab.host(first).kill_carpd()
            time.sleep(md + 0.5)
        finally:
            thawed = time.time()
            for pid in pids:
                os.kill(pid, signal.SIGCONT)  # type: ignore[arg-type]
        # Both took over at once and advertised; one of them never stops, the other
        # yields on the first advert it hears and is silent from then on.
        time.sleep(md + 1)
        ads = advertisers(lab, cap, thawed, time.time())
        # Mostly both woke overdue and advertised (a tie); but one whose thread ran second
        # may first read the other's advert, queued behind its overdue timer, and stay
        # BACKUP (carpd.8, TIMING): no tie then, and the same end.
        assert set(ads[:2]) <= {h.letter for h in rest}, ads[:2]
        winner = agreed_master(rest, lab, cap, thawed + 0.5)
        times = [r["t"] for r in cap.adverts(vhid=1, since=thawed)
                 if lab.port_owner(r["port"]) == winner]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert max(gaps) < 1.5, f"{winner} stopped advertising for {max(gaps):.2f}s"
