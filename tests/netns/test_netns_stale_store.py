"""A network namespace deleted and made again under the same name is a new host.

Its store directory (/run/carp/netns/<name>) still holds the old host's store, and the new
namespace may even get the old one's nsfs inode number back.  The front ends read that
store as absent (`ifconfig carp0` finds no carp0, `ifconfig carp0 create` works), and the
first writer -- carpd at start, or a front end -- moves it, keys included, into
stale-<time>/ beside it; carpd's log says where.  Nothing is deleted.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from carp import store as store_mod
from carp.lab import Host, netns
from carp.lab.scenario import PASS, configure_carp
from tests.netns.lab_fixtures import open_lab

pytestmark = pytest.mark.netns


def make_again(host: Host) -> None:
    """The old host shuts down, its namespace is deleted, a new one takes its name."""
    host.stop_carpd()
    netns.run(["ip", "netns", "del", host.ns])
    netns.add(host.ns)


def set_aside(host: Host) -> list[Path]:
    return sorted(p for p in host.rundir.iterdir() if p.name.startswith(store_mod.STALE_PREFIX))


def kept_config(directory: Path) -> dict[str, object]:
    """The interfaces a set-aside store holds, with their keys (read as root)."""
    doc = store_mod._decode((directory / "store.json").read_bytes(), "kept")
    [keys] = [p for p in directory.iterdir() if p.name.startswith(store_mod.KEYS_PREFIX)]
    assert keys.stat().st_mode & 0o077 == 0  # still root's alone
    phrases = store_mod._decode(keys.read_bytes(), "keys")["keys"]
    return {name: phrases.get(name, "") for name in doc["interfaces"]}


def test_a_namespace_made_again_starts_clean_and_keeps_the_old_store_aside() -> None:
    with open_lab(hosts=1, lans=1, personality="openbsd") as lab:
        host = lab.hosts[0]
        configure_carp(host)
        host.start_carpd()
        old_ino = os.stat(f"/run/netns/{host.ns}").st_ino

        # 1. carpd is the first to start in the new namespace: it sets the store aside
        make_again(host)
        shown = host.ifconfig("carp0", check=False)
        assert (shown.returncode, shown.stderr) == (1, "carp0: no such interface\n")
        assert host.sysctl("net.inet.carp.preempt").stdout == "net.inet.carp.preempt=0\n"
        assert set_aside(host) == []  # reading moves nothing
        host.start_carpd()
        [first] = set_aside(host)
        log = host.log()
        assert re.search(rf"store\.json: written in another network namespace .*"
                         rf"set aside in {re.escape(str(first))}\n", log), log
        assert kept_config(first) == {"carp0": PASS}
        assert host.ifconfig("carp0", "create").returncode == 0  # no "File exists"
        assert host.ifconfig("carp0", "vhid", "2", "pass", "second").stderr == ""

        # 2. a front end is the first writer: the same, and it says where (no syslog here)
        make_again(host)
        created = host.ifconfig("carp0", "create")
        assert created.returncode == 0
        [second] = [p for p in set_aside(host) if p != first]
        if not os.path.exists("/dev/log"):
            assert f"set aside in {second}\n" in created.stderr
        assert kept_config(second) == {"carp0": "second"}
        assert kept_config(first) == {"carp0": PASS}  # the first one is untouched
        # the inode number alone could not have told: say whether it came back this time
        print(f"nsfs inode {old_ino} -> {os.stat(f'/run/netns/{host.ns}').st_ino}")
