"""Thin wrappers around iproute2 for the namespace lab (no pyroute2: fast, obvious)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import carp

# The checkout the lab runs programs from: carp/lab/netns.py -> carp/ -> checkout.
CHECKOUT = Path(carp.__file__).resolve().parent.parent
BIN = CHECKOUT / "bin"
RUN_NETNS = Path("/run/carp/netns")  # per-namespace stores (sysctl/store.py)
NAME_RE = re.compile(r"^carp(\d+)x\d+-")  # what Lab names look like: carp<pid>x<n>-<role>


class CommandError(RuntimeError):
    """A lab command failed; the message carries everything needed to see why."""

    def __init__(self, argv: Sequence[str], proc: subprocess.CompletedProcess[str]) -> None:
        self.argv = list(argv)
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        super().__init__(
            f"{' '.join(argv)} -> exit {proc.returncode}\n"
            f"stdout: {proc.stdout.strip()}\nstderr: {proc.stderr.strip()}"
        )


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for programs run in a namespace: the checkout importable, no rundir
    override (each namespace must find its own store the way an admin's shell would)."""
    env = dict(os.environ)
    env.pop("CARP_RUNDIR", None)
    env["PYTHONPATH"] = str(CHECKOUT) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    if extra:
        env.update(extra)
    return env


def run(
    argv: Sequence[str],
    check: bool = True,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(env) if env is not None else None,
        input=input,
    )
    if check and proc.returncode != 0:
        raise CommandError(argv, proc)
    return proc


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(["ip", *(["-n", ns] if ns else []), *args], check=check)


def exec_argv(ns: str, argv: Sequence[str]) -> list[str]:
    """argv that runs `argv` inside namespace `ns`.  `ip netns exec` execs in place, so the
    PID of the subprocess is the PID of the program itself (needed to stop it by PID)."""
    return ["ip", "netns", "exec", ns, *argv]


def python_argv(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def add(ns: str) -> None:
    ip("netns", "add", ns)
    ip("link", "set", "lo", "up", ns=ns)


def exists(ns: str) -> bool:
    return Path("/run/netns", ns).exists()


def listing() -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def pids(ns: str) -> list[int]:
    out = run(["ip", "netns", "pids", ns], check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def stop(proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
    """Signal a process we started, by PID, and reap it; SIGKILL if it outlives `timeout`."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def kill_all_in(ns: str) -> None:
    """SIGKILL every process left in a namespace this lab made (all of them are ours)."""
    for pid in pids(ns):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def delete(ns: str) -> None:
    """Remove a namespace and the per-namespace carp run directory, whatever is left."""
    if exists(ns):
        kill_all_in(ns)
        run(["ip", "netns", "del", ns], check=False)
    shutil.rmtree(RUN_NETNS / ns, ignore_errors=True)


def reap_stale() -> list[str]:
    """Delete lab namespaces whose creating process is gone (a lab killed by SIGKILL).

    Only names of the lab's own format are touched, and only when that PID is dead, so a
    lab running in parallel is never disturbed."""
    removed = []
    for ns in listing():
        m = NAME_RE.match(ns)
        if not m:
            continue
        if Path("/proc", m.group(1)).exists():
            continue
        delete(ns)
        removed.append(ns)
    return removed


def lan_ip(lan: int, octet: int) -> str:
    """A lab address: LAN n is 192.168.n.0/24 (the man pages' own addresses)."""
    return f"192.168.{lan}.{octet}"


def lab_mac(lan: int, octet: int) -> str:
    """A locally administered MAC per lab port, so captures say who sent a frame."""
    return f"02:00:00:00:{lan:02x}:{octet:02x}"
