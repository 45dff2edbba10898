"""`carpd status [--json]`: the table and JSON renderers, and where the status comes from."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from carp import status_cmd
from carp.daemon import main as carpd_main
from carp.store import Store

NOW = 10_000.0


def doc() -> dict[str, object]:
    """A status document in status.json's shape (carp/host_status.py, carpd's walls)."""
    return {
        "pid": os.getpid(), "personality": "openbsd", "updated": NOW - 0.5, "demotion": 0,
        "groups": {"carp": 0}, "suppress_preempt": 0,
        "counters": {"ipackets": 900, "opackets": 40, "badauth": 3, "badvhid": 7, "badttl": 0,
                     "preempt": 2, "ostates": 1, "onomem": 0},
        "vhosts": {
            "em0": {"3": {
                "name": "em0", "carpdev": "em0", "state": "BACKUP", "advbase": 1,
                "advskew": 0, "demote": 0, "master": "192.168.1.3", "heard_wall": NOW - 0.25,
                "since_wall": NOW - 60, "reason": "master timed out", "transitions": 3,
                "drops": {}, "prio": 150, "interval": 10, "master_interval": 10,
            }},
            "carp1": {"2": {
                "name": "carp1", "carpdev": "eth0", "state": "MASTER", "advbase": 1,
                "advskew": 0, "demote": 0, "master": "", "since_wall": NOW - 12.25,
                "reason": "master timed out", "transitions": 2, "drops": {},
            }},
            "carp0": {"1": {
                "name": "carp0", "carpdev": "eth0", "state": "BACKUP", "advbase": 1,
                "advskew": 100, "demote": 1, "master": "192.168.1.2",
                "heard_wall": NOW - 0.75, "since_wall": NOW - 3725,
                "reason": "initialization complete", "transitions": 1,
                "drops": {"badauth": 3},
            }},
        },
    }


def test_table_has_one_row_per_vhid_with_every_column() -> None:
    out = status_cmd.table(doc(), NOW)
    head, rule, carp0, carp1, em0, blank, demotion, drops = out.splitlines()
    for title in status_cmd.HEADERS:
        assert title in head
    assert set(rule) <= {"-", " "}
    assert carp0.split() == ["carp0", "1", "BACKUP", "1/100", "1", "192.168.1.2", "(0.8s",
                             "ago)", "1h02m", "initialization", "complete", "1", "badauth=3"]
    assert carp1.split() == ["carp1", "2", "MASTER", "1/0", "0", "this", "host", "12.2s",
                             "master", "timed", "out", "2", "0"]
    # a VRRPv3 vhid shows its priority and interval, not the CARP fields it does not use
    assert em0.split()[:5] == ["em0", "3", "BACKUP", "v3", "150/10cs"]
    assert blank == ""
    assert demotion == "demotion 0, groups carp=0; personality openbsd"
    # host-wide drops only: received and sent are not drops
    assert drops == "carpstats drops (all vhids): badauth=3 badvhid=7"


def test_table_without_vhids() -> None:
    d = doc()
    d["vhosts"] = {}
    assert status_cmd.table(d, NOW).startswith("no vhids configured\n")


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0.04, "0.0s"), (59.94, "59.9s"), (60, "1m00s"), (3725, "1h02m"),
    (2 * 86400 + 3 * 3600 + 59, "2d03h"),
])
def test_human_age(seconds: float | None, text: str) -> None:
    assert status_cmd.human_age(seconds) == text


def test_json_gives_the_rows_with_raw_numbers() -> None:
    out = json.loads(status_cmd.as_json(doc(), NOW))
    assert [(v["interface"], v["vhid"]) for v in out["vhids"]] == [("carp0", 1), ("carp1", 2),
                                                                 ("em0", 3)]
    backup = out["vhids"][0]
    assert backup == {
        "interface": "carp0", "vhid": 1, "carpdev": "eth0", "state": "BACKUP", "advbase": 1,
        "advskew": 100, "demote": 1, "master": "192.168.1.2", "heard_ago": 0.75,
        "since_ago": 3725.0, "reason": "initialization complete", "transitions": 1,
        "drops": {"badauth": 3}, "prio": None, "interval": None,
    }
    assert out["vhids"][1]["heard_ago"] is None
    assert (out["vhids"][2]["prio"], out["vhids"][2]["interval"]) == (150, 10)
    assert out["counters"]["badvhid"] == 7 and out["personality"] == "openbsd"


@pytest.fixture
def rundir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path))
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)
    return tmp_path


def test_carpd_status_reads_published_status(rundir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Without an answer on the control socket (another user, an older carpd) the
    status.json carpd published is shown: readable by all, it holds no key."""
    Store(rundir).write_status(doc())
    assert carpd_main.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "192.168.1.2" in out and "MASTER" in out
    assert carpd_main.main(["status", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["vhids"]) == 3


def test_carpd_status_prefers_carpds_live_answer(rundir: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    Store(rundir).write_status(doc())
    live = doc()
    live["vhosts"] = {}
    monkeypatch.setattr(status_cmd.control_client, "live_status", lambda path, timeout=1.0: live)
    assert carpd_main.main(["status"]) == 0
    assert capsys.readouterr().out.startswith("no vhids configured")


def test_carpd_status_without_carpd(rundir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert carpd_main.main(["status"]) == 1
    assert capsys.readouterr() == ("", f"carpd: not running for {rundir} (no status to show)\n")


@pytest.mark.parametrize("argv", [["status", "-x"], ["status", "--json", "extra"]])
def test_carpd_status_usage(rundir: Path, argv: list[str],
                            capsys: pytest.CaptureFixture[str]) -> None:
    assert carpd_main.main(argv) == 1
    assert capsys.readouterr() == ("", "usage: carpd status [--json]\n")
