"""One of this package's modules run as a program, under this interpreter.

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
