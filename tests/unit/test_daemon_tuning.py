"""carpd --rtprio / --mlock (carp.daemon.tuning), tried in a child interpreter so the
test run keeps its own scheduling and memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from carp.daemon import main as carpd

PROBE = """
import json, os, threading
from carp.daemon import tuning
problem = tuning.apply({rtprio}, {mlock})
out = {{"problem": problem, "policy": os.sched_getscheduler(0)}}
pid = os.fork()
if pid == 0:
    os._exit(os.sched_getscheduler(0))
out["child"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
seen = []
t = threading.Thread(target=lambda: seen.append(os.sched_getscheduler(0)))
t.start(); t.join()
out["thread"] = seen[0]
def lease_thread():
    tuning.takeover_thread()
    seen.append(os.sched_getscheduler(0))
t = threading.Thread(target=lease_thread)
t.start(); t.join()
out["takeover_thread"] = seen[1]
out["locked"] = [l for l in open("/proc/self/status") if l.startswith("VmLck")][0].split()[1]
print(json.dumps(out))
"""


def _probe(rtprio: int | None, mlock: bool) -> dict[str, object]:
    code = PROBE.format(rtprio=rtprio, mlock=mlock)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=os.getcwd())
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_rtprio_runs_the_main_thread_alone_at_sched_fifo() -> None:
    out = _probe(10, False)
    if out["problem"]:
        pytest.skip(f"no CAP_SYS_NICE here: {out['problem']}")
    assert out["policy"] == os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
    assert out["child"] == os.SCHED_OTHER  # hooks, the watchdog
    assert out["thread"] == os.SCHED_OTHER  # pyroute2's, say
    assert out["takeover_thread"] == os.SCHED_FIFO | os.SCHED_RESET_ON_FORK  # the leases'
    assert out["locked"] == "0"


def test_mlock_locks_memory_and_nothing_else() -> None:
    out = _probe(None, True)
    if out["problem"]:
        pytest.skip(f"mlockall refused here: {out['problem']}")
    assert int(str(out["locked"])) > 0
    assert out["policy"] == os.SCHED_OTHER


def test_both_are_off_by_default() -> None:
    args = carpd.parse_args([])
    assert args.rtprio is None and args.mlock is False
    assert _probe(None, False) == {"problem": None, "policy": os.SCHED_OTHER,
                                   "child": os.SCHED_OTHER, "thread": os.SCHED_OTHER,
                                   "takeover_thread": os.SCHED_OTHER, "locked": "0"}


@pytest.mark.parametrize("bad", ["0", "100", "fifo"])
def test_a_priority_out_of_range_is_a_usage_error(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        carpd.parse_args(["--rtprio", bad])
    assert exc.value.code == 2
    assert f"argument --rtprio: {bad}: not a priority from 1 to 99" in capsys.readouterr().err


def test_a_refused_setting_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    from carp.daemon import tuning

    def refuse(prio: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path))
    monkeypatch.setattr(carpd, "check_privileges", lambda: None)
    monkeypatch.setattr(tuning, "realtime", refuse)
    assert carpd.main(["--rtprio", "50"]) == 1
    assert capsys.readouterr().err == "carpd: --rtprio 50: Operation not permitted\n"
