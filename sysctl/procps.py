"""Linux's own sysctl(8), procps: whatever is not BSD business is its, byte for byte.

The BSD front end owns the `net.inet`/`net.inet6` tree (carp.mib.BSD_ROOTS).  A command
line that names none of it — `sysctl -p`, `sysctl --system`, `sysctl net.ipv4.ip_forward`,
`sysctl -w kernel.x=1` — is handed to the real procps program with the same arguments
(exec: same output, errors and exit status), so installing us ahead of /usr/sbin on PATH
changes nothing Linux's scripts see (issue 12; docs/userland.md §8).
"""

from __future__ import annotations

import os
import sys

from carp import sysbin

CANDIDATES = ("/usr/sbin/sysctl", "/sbin/sysctl")
PATH_ENV = "CARP_PROCPS_SYSCTL"  # a colon-separated list replacing CANDIDATES (tests)
MISSING = "procps sysctl(8) is not installed ({paths}): Linux names and options need it"


def candidates() -> list[str]:
    override = os.environ.get(PATH_ENV)
    return override.split(os.pathsep) if override else list(CANDIDATES)


def find() -> str | None:
    """The procps program, never ourselves (carp.sysbin)."""
    return sysbin.find(candidates())


def missing_text() -> str:
    return MISSING.format(paths=", ".join(candidates()))


def exec_(args: list[str]) -> int:
    """Become procps with these arguments; returns (1) only when it is not installed."""
    path = find()
    sys.stdout.flush()
    sys.stderr.flush()
    if path is None:
        sys.stderr.write(f"sysctl: {missing_text()}\n")
        return 1
    os.execv(path, ["sysctl", *args])  # argv[0] "sysctl": procps names itself by it
    return 1  # not reached (execv raises OSError on failure)


def run(args: list[str]) -> int | None:
    """Run procps on our stdout/stderr (a Linux name inside a BSD command line); its exit
    status, or None when it is not installed."""
    path = find()
    if path is None:
        return None
    import subprocess  # only mixed command lines pay for it

    sys.stdout.flush()
    sys.stderr.flush()
    return subprocess.run(["sysctl", *args], executable=path, check=False).returncode
