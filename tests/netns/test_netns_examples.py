"""The shipped examples (examples/), enabled in lab hosts as an admin enables them, and
the failovers they take part in.

Each example is copied without its `.example` suffix, its settings edited, and made
executable.  Stand-ins on carpd's PATH record what the hooks ask of systemctl, logger and
mail.  The health check runs directly (its timer's job): a failing check demotes the
MASTER, the BACKUP takes over, and a passing check lets the MASTER preempt back; running
it again changes nothing either way.  The lab removes its namespaces and their run
directories (where the health check keeps its note), also when a test fails.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from carp.lab import Host
from carp.lab.netns import BIN
from carp.lab.scenario import (
    PASS,
    configure_carp,
    manpage_pair,
    vhid_states,
    wait_states,
    wait_until,
)
from tests.examples import calls, enable, stand_ins
from tests.netns.lab_fixtures import VIP, open_lab

pytestmark = pytest.mark.netns

# The project's ifconfig and sysctl before Linux's, as carp-healthcheck.service has them.
FRONT_ENDS_FIRST = f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin"


def recorded_path(host: Host) -> tuple[dict[str, str], Path]:
    """carpd's PATH: recording stand-ins for systemctl, logger and mail first, then
    Linux's own directories only (carpd puts its front ends first for its hooks); the
    file the stand-ins record into."""
    out = host.lab.tmp / f"calls-{host.letter}"
    bindir = host.lab.tmp / f"bin-{host.letter}"
    stand_ins(bindir, out, {"systemctl": False, "logger": False, "mail": True})
    return {"PATH": f"{bindir}:/usr/sbin:/usr/bin:/sbin:/bin"}, out


def notified(out: Path) -> list[str]:
    """The states the notify hook logged, in order."""
    return [m.group(1) for line in calls(out, "logger")
            if (m := re.search(r"1@carp0 is now (\w+) on ", line))]


def test_service_and_notify_hooks_follow_a_failover() -> None:
    with open_lab(hosts=2, lans=1) as lab:
        a, b = lab.hosts
        outs: dict[Host, Path] = {}
        for host in lab.hosts:
            hooks = lab.tmp / f"hooks-{host.letter}"
            hooks.mkdir()
            enable("hooks.d/50-service.example", hooks / "50-service",
                   SERVICES="1@carp0=web.service 2@carp1=other.service")
            enable("hooks.d/90-notify.example", hooks / "90-notify", MAILTO="root")
            env, outs[host] = recorded_path(host)
            host.start_carpd("-H", str(hooks), env=env)
        manpage_pair(lab)  # A MASTER, B BACKUP
        start, stop = "--no-block start web.service", "--no-block stop web.service"
        assert wait_until(lambda: calls(outs[a], "systemctl") == [stop, start]
                          and calls(outs[b], "systemctl") == [stop], 5), outs

        a.stop_carpd(signal.SIGTERM, timeout=10)  # the failover: A bows out
        assert wait_states({b: {1: "MASTER"}}, 10), vhid_states(b)
        assert wait_until(lambda: calls(outs[b], "systemctl") == [stop, start], 5)
        assert calls(outs[a], "systemctl") == [stop, start, stop]  # INIT at the stop

        assert notified(outs[a]) == ["BACKUP", "MASTER", "INIT"]
        assert notified(outs[b]) == ["BACKUP", "MASTER"]
        [line, *_] = calls(outs[b], "logger")
        assert line.startswith("-t carp-notify -p daemon.notice -- 1@carp0 is now BACKUP")
        assert line.endswith("(vhid 1, interface carp0, carpdev em0)")
        # The mail goes out in the background, with what the BSD ifconfig showed then
        # (carpd's own PATH has only Linux's: net-tools' ifconfig would say otherwise).
        assert wait_until(lambda: len(calls(outs[b], "mail")) == 2, 5), calls(outs[b], "mail")
        body = outs[b].read_text().split("mail -s carp: 1@carp0 MASTER on ")[1]
        assert "| 1@carp0 is now MASTER" in body
        assert "| carp0: flags=" in body


# -- the health check ------------------------------------------------------------------


def openbsd_pair(a: Host, b: Host) -> None:
    configure_carp(a)
    configure_carp(b, advskew=100)


def freebsd_pair(a: Host, b: Host) -> None:
    for host, skew in ((a, []), (b, ["advskew", "100"])):
        host.ifconfig("em0", "vhid", "1", *skew, "pass", PASS, f"{VIP}/24", "alias")


def group_demotion(host: Host) -> int:
    m = re.search(r"carp demote count (\d+)", host.ifconfig("-g", "carp").stdout)
    assert m, host.ifconfig("-g", "carp").stdout
    return int(m.group(1))


def sysctl_demotion(host: Host) -> int:
    return int(host.sysctl("-n", "net.inet.carp.demotion").stdout)


ENV = {"PATH": FRONT_ENDS_FIRST}
Pair = Callable[[Host, Host], None]
Demotion = Callable[[Host], int]
PERSONALITIES = {
    "openbsd": (openbsd_pair, group_demotion, 50),
    "freebsd": (freebsd_pair, sysctl_demotion, 240),
}


def healthcheck(host: Host, healthy: Path) -> Path:
    """The script, enabled with a check that passes while `healthy` exists."""
    (host.lab.tmp / f"check-{host.letter}").mkdir()
    return enable("carp-healthcheck.example", host.lab.tmp / f"check-{host.letter}"
                  / "carp-healthcheck", CHECK=f"test -e {healthy}")


@pytest.mark.parametrize("personality", sorted(PERSONALITIES))
def test_healthcheck_demotes_the_master_while_failing(personality: str) -> None:
    pair, demotion, by = PERSONALITIES[personality]
    with open_lab(hosts=2, lans=1, personality=personality) as lab:
        a, b = lab.hosts
        for host in lab.hosts:
            host.start_carpd()
            host.sysctl("-w", "net.inet.carp.preempt=1")
        pair(a, b)
        assert wait_states({a: {1: "MASTER"}, b: {1: "BACKUP"}}, 10)
        healthy = lab.tmp / "A.healthy"
        healthy.touch()
        script = healthcheck(a, healthy)
        note = a.rundir / "carp-healthcheck.demoted"

        assert a.run([str(script)], env=ENV).stdout == ""  # passing: nothing to do
        assert demotion(a) == 0

        healthy.unlink()
        for _tick in range(2):  # the second failing run changes nothing
            assert a.run([str(script)], env=ENV).returncode == 0
            assert demotion(a) == by
            assert note.read_text().split()[1] == str(by)
        assert wait_states({a: {1: "BACKUP"}, b: {1: "MASTER"}}, 10), (
            vhid_states(a), vhid_states(b))

        healthy.touch()
        for _tick in range(2):  # the second passing run changes nothing
            a.run([str(script)], env=ENV)
            assert demotion(a) == 0
            assert not note.exists()
        assert wait_states({a: {1: "MASTER"}, b: {1: "BACKUP"}}, 10), (
            vhid_states(a), vhid_states(b))


def test_healthcheck_says_when_the_personality_has_no_demotion() -> None:
    with open_lab(hosts=1, lans=1, personality="netbsd") as lab:
        [host] = lab.hosts
        host.sysctl("-w", "net.inet.carp.preempt=1")
        script = healthcheck(host, lab.tmp / "never")
        run = host.run([str(script)], check=False, env=ENV)
        assert run.returncode == 1
        assert ("carp-healthcheck: cannot demote by 50: neither ifconfig -g carp carpdemote"
                " nor net.inet.carp.demotion took it") in run.stderr
        assert not (host.rundir / "carp-healthcheck.demoted").exists()
