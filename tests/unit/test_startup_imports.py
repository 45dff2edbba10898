"""The front ends start fast: none of them imports a module that costs milliseconds.

A graceful failover (`ifconfig carp0 down` on the master) waits for ifconfig's start-up,
and scripts run `ifconfig` and `sysctl` in loops.  Each module below costs 3-30 ms to
import; the front ends do without them (see carp.record, carp.ifconfig.lr, carp.cjson).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from carp.ifconfig import cli
from carp.store import Store

SLOW = (
    "contextlib dataclasses enum inspect ipaddress json pathlib ply pyroute2 re socket"
    " tabulate typing"
).split()

SETUP = ["carp0", "vhid", "1", "advskew", "100", "pass", "s", "192.168.1.1/24"]
COMMANDS = [
    ("carp.ifconfig.cli", ["carp1", "create"]),
    ("carp.ifconfig.cli", ["carp1", *SETUP[1:]]),
    ("carp.ifconfig.cli", ["carp0", "down"]),
    ("carp.ifconfig.cli", ["carp0"]),
    ("carp.ifconfig.cli", ["-a"]),
    ("carp.ifconfig.cli", ["-g", "carp", "carpdemote", "2"]),
    ("sysctl.cli", ["net.inet.carp.preempt"]),
    ("sysctl.cli", ["-w", "net.inet.carp.preempt=1"]),
    ("carp.netstat", ["-s", "-p", "carp"]),
]


@pytest.fixture
def rundir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)  # openbsd: every command applies
    out = io.StringIO()
    assert cli.run(SETUP, stdout=out, stderr=out, store=Store(tmp_path)) == 0, out.getvalue()
    return tmp_path


@pytest.mark.parametrize(("module", "argv"), COMMANDS, ids=[" ".join(a) for _, a in COMMANDS])
def test_front_end_imports_nothing_slow(module: str, argv: list[str], rundir: Path) -> None:
    code = (
        "import sys\n"
        f"from {module} import main\n"
        f"code = main({argv!r})\n"
        f"print(sorted(m for m in {SLOW!r} if m in sys.modules), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARP_")}
    env["CARP_RUNDIR"] = str(rundir)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stderr.splitlines()[-1] == "[]"


@pytest.mark.parametrize("argv", [["net.ipv4.ip_forward"], ["-w", "kernel.x=1", "-n"]])
def test_a_linux_command_line_goes_to_procps_without_the_bsd_sysctl(argv: list[str]) -> None:
    """What is procps's pays for Python's start and the decision only: no store, no
    dialect, nothing slow (here procps is missing, so main returns and can tell)."""
    code = (
        "import sys\n"
        "from sysctl.cli import main\n"
        f"assert main({argv!r}) == 1\n"
        f"print(sorted(m for m in {[*SLOW, 'carp.store', 'sysctl.bsd']!r} if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARP_")}
    env["CARP_PROCPS_SYSCTL"] = "/nonexistent/procps-sysctl"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.splitlines()[-1] == "[]"
    assert "procps sysctl(8) is not installed" in out.stderr
