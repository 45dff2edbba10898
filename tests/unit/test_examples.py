"""The shipped examples (examples/): POSIX sh that shellcheck passes, disabled as they are
installed, systemd units that systemd reads without a complaint, and the health check's
corners with stand-ins for ifconfig and sysctl.  What they do to a failover is shown in
a lab by tests/netns/test_netns_examples.py."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from carp.daemon.hooks import hooks_in
from tests.examples import EXAMPLES, calls, enable, stand_ins
from tests.shellcheck import assert_posix_sh_shellcheck_clean

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
    assert_posix_sh_shellcheck_clean(script)


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


def healthcheck(tmp_path: Path, rundir: Path | None = None,
                **settings: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One run of the enabled script, with stand-ins for the front ends (their sysctl
    knows no net.inet.carp.demotion, as OpenBSD's); what they recorded."""
    out = tmp_path / "calls"
    if not (tmp_path / "bin").exists():
        stand_ins(tmp_path / "bin", out, {"ifconfig": False, "sysctl": False})
    script = enable("carp-healthcheck.example", tmp_path / "carp-healthcheck", **settings)
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "CARP_RUNDIR": str(rundir or tmp_path)}
    run = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=30)
    return run, out


def test_healthcheck_a_check_that_hangs_has_failed(tmp_path: Path) -> None:
    # Without the timeout the run would wait for the sleep, which then succeeds.
    run, out = healthcheck(tmp_path, CHECK="sleep 20", CHECK_TIMEOUT="1")
    assert run.returncode == 0, run.stderr
    assert calls(out, "ifconfig") == ["-g carp carpdemote 50"]
    assert (tmp_path / "carp-healthcheck.demoted").read_text() == "group 50 carp\n"
    assert run.stdout == "carp-healthcheck: check failed (sleep 20): demoted by 50\n"


def test_healthcheck_undoes_a_demotion_it_cannot_note(tmp_path: Path) -> None:
    (tmp_path / "carp-healthcheck.demoted.new").mkdir()  # the note cannot be written
    run, out = healthcheck(tmp_path, CHECK="false", DEMOTE="7", GROUP="web")
    assert run.returncode == 1
    assert calls(out, "ifconfig") == ["-g web carpdemote 7", "-g web -carpdemote 7"]
    assert not (tmp_path / "carp-healthcheck.demoted").exists()


def test_healthcheck_undoes_what_it_noted(tmp_path: Path) -> None:
    """The note, not the settings of the day, says what to undo."""
    healthcheck(tmp_path, CHECK="false", DEMOTE="7", GROUP="web")
    run, out = healthcheck(tmp_path, CHECK="true", DEMOTE="50", GROUP="carp")
    assert run.returncode == 0, run.stderr
    assert calls(out, "ifconfig") == ["-g web carpdemote 7", "-g web -carpdemote 7"]
    assert run.stdout == "carp-healthcheck: check passes again: demotion by 7 undone\n"
    assert not (tmp_path / "carp-healthcheck.demoted").exists()


def test_healthcheck_is_not_held_up_by_a_user_locking_the_run_directory(tmp_path: Path) -> None:
    """Anyone may open /run/carp (0755): an flock on it by another user must not keep
    the check from demoting.  The script's own lock file is root's alone (0600)."""
    rundir = Path(tempfile.mkdtemp(prefix="carp-hc-"))  # as /run/carp: 0755, on a 1777 /tmp
    rundir.chmod(0o755)
    squatter = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                 "flock", str(rundir), "sleep", "30"])
    try:
        for _ in range(100):  # until nobody holds it
            if subprocess.run(["flock", "-n", str(rundir), "true"]).returncode:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("nobody could not lock the run directory")
        run, out = healthcheck(tmp_path, rundir, CHECK="false", CHECK_TIMEOUT="1")
    finally:
        squatter.kill()
        squatter.wait()
        shutil.rmtree(rundir)
    assert run.returncode == 0, run.stderr
    assert calls(out, "ifconfig") == ["-g carp carpdemote 50"]
