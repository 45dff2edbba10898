"""The shipped examples (examples/): POSIX sh that shellcheck passes, disabled as they are
installed, and systemd units that systemd reads without a complaint.  What they do is
shown in a lab by tests/netns/test_netns_examples.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from carp.daemon.hooks import hooks_in

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(EXAMPLES.rglob("*.example"))
UNITS = sorted((EXAMPLES / "systemd").iterdir())


def test_the_examples_are_there() -> None:
    names = {p.relative_to(EXAMPLES).as_posix() for p in SCRIPTS + UNITS}
    assert names == {
        "hooks.d/50-service.example", "hooks.d/90-notify.example",
        "carp-healthcheck.example",
        "systemd/carp-healthcheck.service", "systemd/carp-healthcheck.timer",
    }


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_script_is_posix_sh_that_shellcheck_passes(script: Path) -> None:
    assert script.read_text().startswith("#!/bin/sh\n")
    run = subprocess.run(["shellcheck", "-s", "sh", str(script)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_hook_examples_stay_disabled_until_copied(tmp_path: Path) -> None:
    """As installed, and even made executable, carpd runs none; a copy without the
    suffix is a hook."""
    for example in (EXAMPLES / "hooks.d").iterdir():
        shutil.copy(example, tmp_path / example.name)
        (tmp_path / example.name).chmod(0o755)
    assert hooks_in(tmp_path) == []
    enabled = tmp_path / "50-service"
    shutil.copy(EXAMPLES / "hooks.d" / "50-service.example", enabled)
    enabled.chmod(0o755)
    assert hooks_in(tmp_path) == [enabled]


def test_systemd_reads_the_units_without_complaint(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    for unit in UNITS:  # as `make install` writes them
        text = unit.read_text().replace("@SBINDIR@", "/usr/local/sbin")
        (tmp_path / unit.name).write_text(text)
    run = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, sorted(tmp_path.iterdir()))],
        capture_output=True, text=True, check=False,
    )
    # The one complaint expected: the script is not made from its example yet.
    lines = [line for line in (run.stdout + run.stderr).splitlines()
             if "/etc/carp/carp-healthcheck is not executable" not in line]
    assert lines == []
