"""make deb: the package builds, lintian finds nothing to warn about, and it installs,
runs and purges cleanly on this Debian with its own Python.

The package is tried in a scratch root (scratch_root.sh): an overlayfs over / with a
tmpfs upper directory, in private mount, network and PID namespaces, so the real root
filesystem is never written and everything left -- processes, the veth pair, the
mounts -- ends with the namespaces, even when a check fails. inside.sh installs the
package there, runs `carpd -n` and the BSD `ifconfig -a`, starts carpd (with its
metrics) on a boot file and a balanced carpnodes interface, then purges it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.netns

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BSD = "/usr/lib/carp-for-linux/bsd/sbin"


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deb")
    env = {**os.environ, "OUT": str(out), "PIP_PYTHON": sys.executable}
    proc = subprocess.run(["sh", "pkg/deb/build.sh"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.split()[-1])


def sections(text: str) -> dict[str, str]:
    """inside.sh's output: the text under each `== name` line."""
    found: dict[str, list[str]] = {"": []}
    name = ""
    for line in text.splitlines():
        if line.startswith("== "):
            name = line[3:]
            found[name] = []
        else:
            found[name].append(line)
    return {key: "\n".join(lines) for key, lines in found.items()}


@pytest.fixture(scope="module")
def lintian(deb: Path) -> Iterator[subprocess.Popen[str]]:
    """Started before the scratch root and read by the last test: they run side by side."""
    with subprocess.Popen(["lintian", "--fail-on", "error,warning", str(deb)], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
        yield proc
        if proc.poll() is None:
            proc.kill()


@pytest.fixture(scope="module")
def scratch(deb: Path, lintian: subprocess.Popen[str]) -> dict[str, str]:
    real_root_had = Path("/usr/lib/carp-for-linux").exists()
    proc = subprocess.run(
        # --kill-child: should unshare be killed (the timeout), its child, PID 1 of the
        # namespace, dies too, and every process in it with it
        ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child",
         "--propagation", "private",
         "sh", str(HERE / "scratch_root.sh"), str(deb), str(HERE / "inside.sh"), str(ROOT)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert Path("/usr/lib/carp-for-linux").exists() == real_root_had  # overlay only
    facts = sections(proc.stdout + proc.stderr)
    assert "files left" in facts, proc.stdout + proc.stderr  # it ran to the end
    return facts


def test_the_staged_tree_moves_to_its_real_root(deb: Path) -> None:
    """No installed file names the staging directory; the launchers run Debian's
    python3, isolated from PYTHONPATH and the user's site-packages."""
    stage = deb.parent / "root"
    staging = str(stage).encode()
    named = [p for p in stage.rglob("*") if p.is_file() and staging in p.read_bytes()]
    assert named == []
    launchers = ["usr/sbin/carpd", *(f"{BSD[1:]}/{n}" for n in ("ifconfig", "sysctl", "netstat"))]
    for launcher in launchers:
        text = (stage / launcher).read_text()
        assert text.startswith("#!/usr/bin/python3 -I\n")
        assert 'sys.path.insert(0, "/usr/lib/carp-for-linux/python")' in text


def test_it_installs_and_its_programs_run(scratch: dict[str, str]) -> None:
    assert scratch["install"].endswith("status 0")
    sysctl_conf, *plan = scratch["carpd -n"].splitlines()
    # the line inside.sh appended to this machine's /etc/sysctl.conf
    assert sysctl_conf.startswith("/etc/sysctl.conf:")
    assert sysctl_conf.endswith(": sysctl net.inet.carp.preempt=1")
    assert plan == [
        "/etc/hostname.carp0:0: ifconfig carp0 create",
        "/etc/hostname.carp0:1: ifconfig carp0 inet 192.0.2.10 netmask 255.255.255.0"
        " broadcast 192.0.2.255 vhid 1 carpdev eth0 pass secret",
        "status 0",
    ]
    assert "eth0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST>" in scratch["ifconfig -a"]
    assert "\tinet 192.0.2.2 netmask 0xffffff00 broadcast 192.0.2.255" in scratch["ifconfig -a"]
    assert scratch["ifconfig -a"].endswith("status 0")


def test_linux_sysctl_stays_procps_and_the_path_line_hands_it_linux_names(
    scratch: dict[str, str],
) -> None:
    assert scratch["linux sysctl"].splitlines() == ["procps", "Linux"]


def test_man_finds_carp_4_and_with_the_path_line_the_bsd_ifconfig(
    scratch: dict[str, str],
) -> None:
    assert scratch["man carp"] == "/usr/share/man/man4/carp.4.gz"
    assert scratch["man ifconfig"] == "/usr/lib/carp-for-linux/bsd/share/man/man8/ifconfig.8.gz"


def test_carpd_replays_its_boot_files_and_runs_a_balanced_interface(
    scratch: dict[str, str],
) -> None:
    """The sysctl.conf line goes through the sysctl program, a child of carpd."""
    assert scratch["sysctl preempt"] == "net.inet.carp.preempt=1"
    assert "\tcarp: MASTER carpdev eth0 vhid 1 advbase 1 advskew 0" in scratch["carp0"]
    assert "\t\tstate MASTER vhid 5 advskew 0" in scratch["carp1"]
    assert scratch["reinstall"].endswith("status 0")
    # carpd, watchdog, metrics; a carpd started by hand outlives an upgrade
    assert len(scratch["running processes"].split()) == 3


def test_carpd_status_and_its_metrics_run_from_the_package(scratch: dict[str, str]) -> None:
    """tabulate and prometheus_client are in the package; the metrics process, a child
    of carpd, finds them."""
    assert scratch["carpd status"].splitlines()[2].split()[:3] == ["carp0", "1", "MASTER"]
    assert 'carp_vhid_state{interface="carp0",state="MASTER",vhid="1"} 1.0' in (
        scratch["metrics"].splitlines())
    assert scratch["running macvlans"].split() == ["carp0@eth0", "carp1@eth0"]
    assert scratch["running filters"] == "1"


def test_purge_leaves_no_process_macvlan_filter_or_file(scratch: dict[str, str]) -> None:
    assert scratch["purge"].endswith("status 0")
    assert scratch["purged processes"] == "", scratch["carpd log"]
    assert scratch["purged macvlans"] == ""
    assert scratch["purged filters"] == "0"
    assert "No such file or directory" in scratch["purged rundir"]
    assert scratch["files left"] == ""


def test_lintian_finds_no_error_or_warning(lintian: subprocess.Popen[str]) -> None:
    output, _ = lintian.communicate(timeout=120)
    assert lintian.returncode == 0, output
