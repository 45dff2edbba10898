"""Three hosts, 32 vhids each, preempt on: exactly one MASTER per vhid, the lowest skew."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from carp.lab import Capture, Host, Lab
from carp.lab.scenario import configure_carp, masters, wait_until
from tests.netns.lab_fixtures import open_lab, port_owners

pytestmark = pytest.mark.netns

VHIDS = range(1, 33)


def skew(host: Host, vhid: int) -> int:
    """Masters rotate: vhid v belongs to host (v % 3), the others back it up."""
    return ((vhid - host.index) % 3) * 50


def expected_master(vhid: int) -> str:
    return "ABC"[vhid % 3]


def configure(host: Host) -> None:
    # preempt: the lowest skew wins whatever order the three carpds start in
    host.sysctl("-w", "net.inet.carp.preempt=1")
    for vhid in VHIDS:
        configure_carp(host, f"carp{vhid - 1}", vhid, f"192.168.1.{150 + vhid}/24", "em0",
                       advskew=skew(host, vhid))


@pytest.fixture
def cluster() -> Iterator[tuple[Lab, Capture]]:
    with open_lab(hosts=3, lans=1) as lab:
        cap = lab.capture()
        # The store is written before carpd starts (as at boot), in parallel per host.
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(configure, lab.hosts))
        for host in lab.hosts:
            host.start_carpd()
        yield lab, cap


def test_one_master_per_vhid(cluster: tuple[Lab, Capture]) -> None:
    lab, cap = cluster
    want = {v: [expected_master(v)] for v in VHIDS}
    assert wait_until(lambda: masters(lab.hosts) == want, 15), masters(lab.hosts)
    time.sleep(1.5)  # and it stays that way
    assert masters(lab.hosts) == want

    since = time.time() - 1.2
    for vhid in VHIDS:
        assert port_owners(lab, cap.adverts(vhid=vhid, since=since)) == {expected_master(vhid)}
    for host in lab.hosts:
        shown = host.ifconfig_states("-a")
        assert sorted(shown) == list(VHIDS)
        assert {v for v, s in shown.items() if s == "MASTER"} == {
            v for v in VHIDS if expected_master(v) == host.letter}
