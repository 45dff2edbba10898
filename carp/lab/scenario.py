"""The man-page cluster and the waits every lab user needs (tests, demo, benchmarks).

§N refers to the protocol notes in docs/protocol.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from carp.lab.hosts import Host
from carp.lab.lab import Lab
from carp.mac import virtual_mac as virtual_mac
from carp.personality import DEFAULT, policy
from carp.states import BACKUP, MASTER, US

PASS = "mekmitasdigoat"  # carp(4)'s example passphrase
VMAC1 = virtual_mac(1)
Echo = Callable[[Host, list[str]], None]


def master_down(advbase: int, advskew: int, personality: str = DEFAULT) -> float:
    """Seconds a BACKUP waits after the last advertisement (§4.2, KA-3): the
    personality's own rule, as carpd computes it."""
    return policy(personality).master_down_us(advbase, advskew) / US


def ifconfig(host: Host, args: list[str], echo: Echo | None = None) -> str:
    if echo:
        echo(host, ["ifconfig", *args])
    return host.ifconfig(*args).stdout


def configure_carp(
    host: Host,
    iface: str = "carp0",
    vhid: int = 1,
    vip: str = "192.168.1.1/24",
    carpdev: str = "em0",
    advskew: int = 0,
    advbase: int | None = None,
    echo: Echo | None = None,
) -> None:
    """The carp(4) EXAMPLES commands: create, then vhid/pass/carpdev/address in one line."""
    ifconfig(host, [iface, "create"], echo)
    args = [iface, "vhid", str(vhid)]
    if advbase is not None:
        args += ["advbase", str(advbase)]
    if advskew:
        args += ["advskew", str(advskew)]
    ifconfig(host, [*args, "pass", PASS, "carpdev", carpdev, vip], echo)


def vhid_states(host: Host) -> dict[int, str]:
    """vhid -> state from carpd's status.json (empty while no carpd runs)."""
    return {vhid: state for (_key, vhid), state in host.states().items()}


def wait_until(cond: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def wait_states(expected: dict[Host, dict[int, str]], timeout: float) -> bool:
    """Until every host reports the given state for each of the given vhids."""

    def ok() -> bool:
        for host, want in expected.items():
            have = vhid_states(host)
            if any(have.get(v) != s for v, s in want.items()):
                return False
        return True

    return wait_until(ok, timeout)


def masters(hosts: Iterable[Host]) -> dict[int, list[str]]:
    """vhid -> letters of the hosts that say MASTER for it."""
    out: dict[int, list[str]] = {}
    for host in hosts:
        for vhid, state in vhid_states(host).items():
            out.setdefault(vhid, [])
            if state == MASTER:
                out[vhid].append(host.letter)
    return out


def manpage_pair(lab: Lab, echo: Echo | None = None, timeout: float = 10.0) -> None:
    """carp(4): A (advskew 0) and B (advskew 100) share 192.168.1.1 as carp0 vhid 1.
    Returns once A is MASTER and B BACKUP."""
    a, b = lab.hosts[0], lab.hosts[1]
    for host in (a, b):
        if not host.carpd_running:
            host.start_carpd()
    configure_carp(a, echo=echo)
    configure_carp(b, advskew=100, echo=echo)
    if not wait_states({a: {1: MASTER}, b: {1: BACKUP}}, timeout):
        raise TimeoutError(f"no election: A {vhid_states(a)} B {vhid_states(b)}")
