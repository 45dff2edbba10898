"""Shared pieces of the namespace tests (the fixtures themselves live in each test module,
so that ruff sees them used; conftest.py belongs to the daemon tests)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from carp.lab import Capture, Host, Lab
from carp.lab.scenario import manpage_pair
from carp.personality import policy

VIP = "192.168.1.1"
DROPS = ("badif", "badttl", "hdrops", "badsum", "badver", "badlen", "badauth", "badvhid",
         "badaddrs")


@contextlib.contextmanager
def open_lab(**kwargs: Any) -> Iterator[Lab]:
    """A lab that dumps every carpd log at teardown (pytest shows it when a test fails)
    and proves it left nothing behind."""
    kwargs.setdefault("carpd_args", ("-d",))  # debug log: the first thing to read on failure
    with Lab(**kwargs) as lab:
        try:
            yield lab
        finally:
            for host in lab.hosts:
                print(f"----- carpd log of {host.name} ({host.ns})\n{host.log()}")
    assert lab.leftovers() == [], "lab namespaces left behind"


@contextlib.contextmanager
def manpage_lab() -> Iterator[tuple[Lab, Capture]]:
    """Two hosts running the carp(4) example, A MASTER and B BACKUP, capture running."""
    with open_lab(hosts=2, lans=2) as lab:
        cap = lab.capture()
        manpage_pair(lab)
        yield lab, cap


def port_owners(lab: Lab, records: list[dict[str, Any]]) -> set[str]:
    return {lab.port_owner(r["port"]) for r in records}


def assert_clean(host: Host, carp_ifaces: set[str], vip_held: bool, vip: str = VIP) -> None:
    """No orphan macvlan and no duplicate address: what `ip -n host` shows."""
    assert set(host.links()) == {"lo", "em0", "em1"} | carp_ifaces, host.links()
    addrs = host.addresses()
    assert len(addrs) == len(set(addrs)), f"{host.name}: duplicate addresses {addrs}"
    assert len(host.holds(vip)) == (1 if vip_held else 0), f"{host.name}: {addrs}"


def carp_counters(host: Host, personality: str = "openbsd") -> dict[str, int]:
    """carpd's counters as `netstat -s -p carp` prints them (that personality's layout)."""
    out = host.netstat("-s", "-p", "carp").stdout
    counters = {}
    for stat, fmt in policy(personality).netstat_carp_layout:
        pat = re.escape(fmt.strip()).replace(r"\{n\}", r"(\d+)").replace(r"\{s\}", "s?")
        m = re.search(rf"^\s*{pat}$", out, re.MULTILINE)
        assert m is not None, f"no {stat} line in:\n{out}"
        counters[stat] = int(m.group(1))
    return counters


def drops(counters: dict[str, int]) -> dict[str, int]:
    """The counters of dropped advertisements that are not zero."""
    return {k: v for k, v in counters.items() if k in DROPS and v}
