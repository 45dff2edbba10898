"""One of this package's modules run as a program, under this interpreter; and where
the BSD front ends of this same carp are.

An installed launcher (pkg/install.sh) runs `python3 -I` and puts its own directory on
sys.path by hand, so the bare interpreter finds neither carp nor sysctl: the child is
told where they are (the directory that holds carp holds sysctl too)."""

from __future__ import annotations

import os
import sys

HOME = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def argv(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def environ() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [HOME, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def frontends_dir(home: str = HOME) -> str | None:
    """The directory of the BSD ifconfig, sysctl and netstat that go with the carp in
    `home`: a checkout's bin/ (its launchers), the package's bsd/sbin beside python/
    (pkg/install.sh), or, for a pip install, its console scripts' directory; None when
    none of them holds an ifconfig."""
    import sysconfig

    candidates = [os.path.join(home, "bin"), os.path.join(os.path.dirname(home), "bsd", "sbin")]
    if home in (sysconfig.get_path("purelib"), sysconfig.get_path("platlib")):
        candidates.append(sysconfig.get_path("scripts"))
    for directory in candidates:
        if os.access(os.path.join(directory, "ifconfig"), os.X_OK):
            return directory
    return None
