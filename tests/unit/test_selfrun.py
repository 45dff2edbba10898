"""carp.selfrun: a child running one of the package's modules finds the package even
under an interpreter whose own path holds none of it, as under an installed launcher
(python3 -I, its directory put on sys.path by hand)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from carp import selfrun

PROBE = "import carp, sysctl, sys; print(carp.__file__); print(sysctl.__file__)"


def test_a_child_under_a_bare_interpreter_finds_this_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", getattr(sys, "_base_executable", sys.executable))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    argv = selfrun.argv("carp.selfrun")
    assert subprocess.run(argv, env=selfrun.environ(), cwd=tmp_path, check=False).returncode == 0
    probe = [sys.executable, "-c", PROBE]
    out = subprocess.run(probe, env=selfrun.environ(), cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout.split()
    home = Path(selfrun.HOME)
    assert out == [str(home / "carp" / "__init__.py"), str(home / "sysctl" / "__init__.py")]
