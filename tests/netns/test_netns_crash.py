"""kill -9 at random moments during 1,000 configuration changes (issue 8, "Crash").

One lab host runs carpd while tests/netns/crash_driver.py types random ifconfig commands
(create, destroy, vhid, advskew, address and up/down changes) through the real front end.
Meanwhile carpd -- or carpd together with its watchdog -- is killed with SIGKILL at
random moments and started again.  Afterwards the host's interfaces must match the last
acknowledged store exactly: one tagged macvlan with the right MAC per configured vhid,
every MASTER's addresses (as leases) and nothing else, no orphan macvlan, address or
lease.  CARP_CRASH_CHANGES, CARP_CRASH_KILLS and CARP_CRASH_SEED make a longer run."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from typing import Any

import pytest

from carp.config import macvlan_mac
from carp.lab import Host
from carp.lab.scenario import wait_until
from carp.states import INIT, MASTER
from carp.store import Store
from tests.netns.lab_fixtures import open_lab

pytestmark = pytest.mark.netns

CHANGES = int(os.environ.get("CARP_CRASH_CHANGES", "1000"))
KILLS = int(os.environ.get("CARP_CRASH_KILLS", "10"))
SEED = os.environ.get("CARP_CRASH_SEED", "")
FOREVER = 4294967295
HOST_ADDRESS = "192.168.1.2/24"  # em0's own (carp.lab): never touched


def links(host: Host) -> dict[str, dict[str, Any]]:
    data = json.loads(host.iproute("-j", "-d", "link", "show").stdout)
    return {link["ifname"]: link for link in data}


def addresses(host: Host) -> dict[str, list[tuple[str, int]]]:
    """link -> [(address/prefix, valid lifetime)] without the kernel's IPv6 link-locals."""
    data = json.loads(host.iproute("-j", "addr", "show").stdout)
    return {link["ifname"]: [(f"{a['local']}/{a['prefixlen']}", a["valid_life_time"])
                             for a in link.get("addr_info", [])
                             if not a["local"].startswith("fe80:") and link["ifname"] != "lo"]
            for link in data}


def mismatches(host: Host) -> list[str]:
    """What differs between the store and the host's Linux interfaces (empty: none)."""
    state = Store(host.rundir).load()
    vstates = host.states()
    wrong: list[str] = []
    have = links(host)
    addrs = addresses(host)
    wanted = {"lo", "em0"}
    for key, ci in state.interfaces.items():
        if not ci.parent or not ci.nodes:
            continue  # no vhid or no carpdev: nothing to realise
        wanted.add(ci.linux_name)
        link = have.get(ci.linux_name)
        if link is None:
            wrong.append(f"{key}: no macvlan {ci.linux_name}")
            continue
        if link.get("ifalias") != "carpd" or link.get("address") != macvlan_mac(ci).lower():
            wrong.append(f"{key}: {ci.linux_name} alias {link.get('ifalias')} "
                         f"mac {link.get('address')} (want {macvlan_mac(ci)})")
        states = {vstates.get((key, n.vhid)) for n in ci.nodes}
        runnable = ci.up and bool(ci.addresses)
        if (states != {MASTER}) if runnable else (states != {INIT}):
            wrong.append(f"{key}: states {states}, up {ci.up}, addresses {ci.addresses}")
        want = sorted(f"{a.address}/{a.prefixlen}" for a in ci.addresses) if runnable else []
        held = addrs.get(ci.linux_name, [])
        if sorted(a for a, _ in held) != want:
            wrong.append(f"{key}: holds {held}, want {want}")
        if any(valid == FOREVER for _, valid in held):
            wrong.append(f"{key}: an address without a lease: {held}")
    for name in sorted(set(have) - wanted):
        wrong.append(f"orphan link {name} ({have[name].get('ifalias')})")
    for name, held in sorted(addrs.items()):
        if name not in wanted:
            continue
        if name == "em0" and [a for a, _ in held] != [HOST_ADDRESS]:
            wrong.append(f"em0 holds {held}")
    return wrong


@pytest.mark.parametrize("whole", [False, True], ids=["carpd", "carpd+watchdog"])
def test_kill9_during_configuration_changes_leaves_exactly_the_store(whole: bool) -> None:
    rng = random.Random(f"crash/{whole}/{SEED}")
    with open_lab(hosts=1, lans=1) as lab:
        host = lab.hosts[0]
        host.start_carpd()
        driver = subprocess.Popen(
            ["ip", "netns", "exec", host.ns, sys.executable, "-m", "tests.netns.crash_driver",
             str(rng.randrange(1 << 30)), str(CHANGES)],
            env=host_env(host), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        kills = 0
        try:
            while driver.poll() is None and kills < KILLS:
                time.sleep(rng.uniform(0.05, 0.6))
                if driver.poll() is not None:
                    break
                if whole:
                    host.kill_service()
                else:
                    host.kill_carpd()
                kills += 1
                host.start_carpd(timeout=20)
            out, err = driver.communicate(timeout=300)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.communicate()
        assert driver.returncode == 0, err
        done = [json.loads(line) for line in out.splitlines()]
        assert len(done) == CHANGES and kills >= min(KILLS, 3), (len(done), kills)
        acked = [d for d in done if d["rc"] == 0]
        assert len(acked) > CHANGES // 2  # the commands mostly make sense
        # one more kill after the last change, then the restart everything is judged on
        host.kill_service() if whole else host.kill_carpd()
        host.start_carpd(timeout=20)
        state = Store(host.rundir).load()
        from tests.netns.crash_driver import summary

        assert summary(Store(host.rundir)) == acked[-1]["summary"]  # the last acknowledged
        assert wait_until(lambda: (host.status() or {}).get("applied_generation")
                          == state.generation, 10)
        # every runnable vhid becomes MASTER (one host) one master-down interval later
        settled = wait_until(lambda: mismatches(host) == [], 15, step=0.25)
        assert settled, "\n".join(mismatches(host))


def host_env(host: Host) -> dict[str, str]:
    from carp.lab import netns

    return netns.child_env()


def test_a_macvlan_carpd_had_not_tagged_yet_is_removed_at_start() -> None:
    """carpd creates a macvlan as "carpd~N" and names and tags it in one request: one
    killed in between leaves that name, which the next carpd (or the watchdog) removes."""
    with open_lab(hosts=1, lans=1) as lab:
        host = lab.hosts[0]
        host.iproute("link", "add", "link", "em0", "name", "carpd~3", "address",
                      "00:00:5e:00:01:07", "type", "macvlan", "mode", "bridge")
        host.iproute("link", "add", "link", "em0", "name", "mv9", "type", "macvlan")
        host.start_carpd()
        assert wait_until(lambda: "carpd~3" not in links(host), 5)
        assert "mv9" in links(host)  # not carpd's: left alone
        assert "removed interfaces left by a previous carpd: carpd~3" in host.log()
