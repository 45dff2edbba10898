"""No state-change hook outlives carpd, on a real host (a lab namespace).

SIGTERM: a hanging MASTER hook, overtaken by the shutdown's INIT, is killed at once and
logged; the INIT hooks run; one that hangs is killed at the hook timeout and logged, and
carpd exits 0 with no hook process left.  kill -9: the watchdog kills the running hook's
process group and logs it.  The lab removes its namespaces, run directories and any
process left in them, also when a test fails.

A hook ported from a BSD host runs `ifconfig carp0` unqualified and gets the BSD
ifconfig, although carpd's own PATH has only Linux's directories.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from carp.lab import Host
from carp.lab.scenario import configure_carp, vhid_states, wait_states, wait_until
from tests.netns.lab_fixtures import open_lab
from tests.procs import group_members, wait_group_gone

pytestmark = pytest.mark.netns

# Records "<subsystem> <state> <pid>" (its pid is its process group), then hangs with a
# child in its group when "<subsystem>/<state>" matches the test's pattern.
HOOK = """#!/bin/sh
echo "$1 $2 $$" >> "{out}"
case "$1/$2" in {hang}) sleep 600 & wait ;; esac
"""
HOOK_TIMEOUT = 5.0  # carp.daemon.hooks.DEFAULT_TIMEOUT, what carpd runs with


@pytest.fixture
def host() -> Iterator[Host]:
    with open_lab(hosts=1, lans=1) as lab:
        yield lab.hosts[0]


def start_with_hook(host: Host, hang: str) -> Path:
    """carpd with one recording hook; the file the hook records into."""
    hooks = host.lab.tmp / "hooks.d"
    hooks.mkdir()
    out = host.lab.tmp / "hooks.out"
    hook = hooks / "10-record"
    hook.write_text(HOOK.format(out=out, hang=hang))
    hook.chmod(0o755)
    host.start_carpd("-H", str(hooks))
    return out


def records(out: Path) -> list[tuple[str, str, int]]:
    if not out.exists():
        return []
    lines = out.read_text().splitlines()
    return [(s, st, int(pid)) for s, st, pid in (line.split() for line in lines)]


def started(out: Path, state: str) -> list[tuple[str, str, int]]:
    return [r for r in records(out) if r[1] == state]


def test_sigterm_kills_hanging_hooks_and_runs_the_init_hooks(host: Host) -> None:
    out = start_with_hook(host, hang="*/MASTER|2@carp1/INIT")
    configure_carp(host, "carp0", 1, "192.168.1.1/24", "em0")
    configure_carp(host, "carp1", 2, "192.168.1.50/24", "em0")
    assert wait_states({host: {1: "MASTER", 2: "MASTER"}}, 10), vhid_states(host)
    # One MASTER hook hangs, the other MASTER transition waits behind it.
    assert wait_until(lambda: started(out, "MASTER"), 3), records(out)

    host.stop_carpd(signal.SIGTERM, timeout=HOOK_TIMEOUT + 10)
    assert host.carpd is not None and host.carpd.returncode == 0, host.log()
    recs = records(out)
    # The shutdown's INIT hooks ran (vhid 1 first, then vhid 2's, which hung).
    assert [(s, st) for s, st, _ in recs if st == "INIT"] == [
        ("1@carp0", "INIT"), ("2@carp1", "INIT"),
    ], recs
    # carpd is gone: so is every group of every hook it ran, right now, without waiting.
    assert {pid: wait_group_gone(pid) for _, _, pid in recs} == {pid: [] for _, _, pid in recs}
    log = host.log()
    [(master, _, _)] = started(out, "MASTER")
    other = "2@carp1" if master == "1@carp0" else "1@carp0"
    assert re.search(rf"hook \S+/10-record {master} MASTER: killed, carpd is stopping", log)
    assert f"hooks {other} MASTER: skipped, carpd is stopping" in log
    assert re.search(r"hook \S+/10-record 2@carp1 INIT: killed, carpd is stopping", log)


def test_kill9_watchdog_kills_the_running_hook_group(host: Host) -> None:
    out = start_with_hook(host, hang="*/MASTER")
    configure_carp(host, "carp0", 1, "192.168.1.1/24", "em0")
    assert wait_until(lambda: started(out, "MASTER"), 10), (records(out), vhid_states(host))
    [(_, _, pgid)] = started(out, "MASTER")
    assert wait_until(lambda: len(group_members(pgid)) == 2, 3)  # the hook and its child

    host.kill_carpd()  # well before the hook's own timeout: only the watchdog can end it
    assert wait_group_gone(pgid) == []
    hook = host.lab.tmp / "hooks.d" / "10-record"
    line = f"hook {hook} 1@carp0 MASTER: killed (process group {pgid}), carpd died"
    assert wait_until(lambda: line in host.log(), 5), host.log()


def test_a_hook_runs_the_bsd_ifconfig_off_carpds_path(host: Host) -> None:
    """carpd's PATH holds only Linux's directories (net-tools' ifconfig, procps' sysctl);
    its hook's `ifconfig carp0` and `sysctl net.inet.carp.preempt` are still the BSD ones."""
    hooks = host.lab.tmp / "hooks.d"
    hooks.mkdir()
    out = host.lab.tmp / "hooks.out"
    hook = hooks / "10-show"
    hook.write_text(f"""#!/bin/sh
[ "$2" = BACKUP ] || exit 0
{{ ifconfig "$CARP_INTERFACE"; sysctl net.inet.carp.preempt; }} > "{out}.new" 2>&1
mv "{out}.new" "{out}"
""")
    hook.chmod(0o755)
    configure_carp(host)
    host.start_carpd("-H", str(hooks), env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert wait_until(out.exists, 10), host.log()
    shown = out.read_text()
    assert shown.startswith("carp0: flags="), shown
    assert "\tcarp: " in shown and "vhid 1" in shown, shown
    assert re.search(r"^net\.inet\.carp\.preempt[=:] ?0$", shown, re.M), shown
