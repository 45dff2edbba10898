"""An attacker on the LAN, as a lab client: forged advertisements, and a replayed capture
of the master's advertisements after the master is killed (tests/sim/test_attacks.py has
the exact timing; here the real programs, without timed assertions: each check is on the
order of events)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from carp.lab import Host, Lab, netns
from carp.lab.scenario import (
    BACKUP,
    MASTER,
    configure_carp,
    vhid_states,
    wait_states,
    wait_until,
)
from tests.netns.lab_fixtures import manpage_lab, open_lab

pytestmark = pytest.mark.netns

BADAUTH = re.compile(r"^\t\t(\d+) (?:packets? )?discarded for bad authentication$", re.M)


def badauth(host: Host) -> int:
    found = BADAUTH.findall(host.netstat("-s", "-p", "carp").stdout)
    assert len(found) == 1
    return int(found[0])


@contextmanager
def attacker(lab: Lab, *args: str) -> Iterator[subprocess.Popen[str]]:
    """`python -m carp.lab.attacker ARGS` in LAN 1's client, stopped by PID on the way out."""
    argv = netns.exec_argv(lab.client(1).ns, netns.python_argv("carp.lab.attacker", *args))
    proc = subprocess.Popen(argv, env=netns.child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        print(f"attacker {args[0]}: {out.strip()} {err.strip()}")


def since(host: Host) -> float:
    status = host.status() or {}
    return float(status["vhosts"]["carp0"]["1"]["since"])


def test_forged_adverts_for_every_vhid_move_nobody() -> None:
    """advskew 0, demote 0, any vhid, from the master's own address, no passphrase: the
    master stays, the backup stays, and takes over when the master is killed."""
    with manpage_lab() as (lab, _cap):
        a, b = lab.hosts
        was = {a: since(a), b: since(b)}
        before = {a: badauth(a), b: badauth(b)}
        args = ["--src-ip", a.ip(), "--seconds", "120", "--interval", "0.1", "--sweep-every", "20"]
        with attacker(lab, "forge", *args) as forger:
            refused = wait_until(lambda: all(badauth(h) >= before[h] + 60 for h in (a, b)), 60)
            assert refused, (badauth(a), badauth(b))
            assert (vhid_states(a), vhid_states(b)) == ({1: MASTER}, {1: BACKUP})
            assert {a: since(a), b: since(b)} == was  # neither moved at all
            a.kill_carpd()
            assert wait_states({b: {1: MASTER}}, 60), vhid_states(b)
            assert forger.poll() is None  # the forgery was still going on
            out = b.ifconfig("carp0").stdout
            assert "carp: MASTER" in out, out


def _pair(lab: Lab) -> tuple[Host, Host]:
    a, b = lab.hosts
    for host, skew in ((a, 0), (b, 100)):
        host.start_carpd()
        configure_carp(host, advskew=skew)
    assert wait_states({a: {1: MASTER}, b: {1: BACKUP}}, 15), (vhid_states(a), vhid_states(b))
    return a, b


@pytest.mark.parametrize("personality", ["freebsd", "netbsd"])
def test_a_replayed_capture_does_not_hold_the_backup(personality: str) -> None:
    """Record A's advertisements, kill A, replay them for two minutes: B takes over while
    the replay goes on, counts the replays as badauth, and stays MASTER."""
    with open_lab(hosts=2, lans=1, personality=personality) as lab:
        a, b = _pair(lab)
        frames = lab.tmp / "a-adverts.hex"
        argv = netns.exec_argv(lab.client(1).ns, netns.python_argv(
            "carp.lab.attacker", "record", "--src-ip", a.ip(), "--count", "5",
            "--out", str(frames),
        ))
        rec = netns.run(argv, env=netns.child_env(), timeout=60)
        assert json.loads(rec.stdout) == {"recorded": 5}
        before = badauth(b)
        a.kill_carpd()
        args = ["--file", str(frames), "--seconds", "120", "--interval", "0.2"]
        with attacker(lab, "replay", *args) as replayer:
            assert wait_states({b: {1: MASTER}}, 90), (vhid_states(b), b.log())
            assert replayer.poll() is None  # the replay was still going on
            assert badauth(b) > before
            became = since(b)
        # a burst of the faster master's adverts at the new master: it stays
        argv = netns.exec_argv(lab.client(1).ns, netns.python_argv(
            "carp.lab.attacker", "replay", "--file", str(frames), "--seconds", "2",
            "--interval", "0.02",
        ))
        netns.run(argv, env=netns.child_env(), timeout=60)
        assert vhid_states(b) == {1: MASTER} and since(b) == became
