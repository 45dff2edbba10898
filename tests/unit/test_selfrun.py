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


def _frontend(directory: Path) -> None:
    directory.mkdir(parents=True)
    (directory / "ifconfig").write_text("#!/bin/sh\n")
    (directory / "ifconfig").chmod(0o755)


def test_frontends_of_a_checkout_are_its_bin() -> None:
    assert selfrun.frontends_dir() == str(Path(selfrun.HOME) / "bin")
    assert (Path(selfrun.HOME) / "bin" / "ifconfig").is_file()


def test_frontends_of_the_package_are_its_bsd_sbin(tmp_path: Path) -> None:
    """pkg/install.sh: LIBDIR/python holds carp, LIBDIR/bsd/sbin the BSD programs."""
    home = tmp_path / "lib" / "carp-for-linux" / "python"
    (home / "carp").mkdir(parents=True)
    assert selfrun.frontends_dir(str(home)) is None
    _frontend(tmp_path / "lib" / "carp-for-linux" / "bsd" / "sbin")
    assert selfrun.frontends_dir(str(home)) == str(tmp_path / "lib/carp-for-linux/bsd/sbin")


def test_frontends_of_a_pip_install_are_its_scripts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sysconfig

    paths = {"purelib": str(tmp_path / "site"), "platlib": str(tmp_path / "site"),
             "scripts": str(tmp_path / "venv-bin")}
    monkeypatch.setattr(sysconfig, "get_path", lambda name: paths[name])
    _frontend(tmp_path / "venv-bin")
    assert selfrun.frontends_dir(str(tmp_path / "site")) == str(tmp_path / "venv-bin")
    assert selfrun.frontends_dir(str(tmp_path / "elsewhere")) is None  # not this scheme's
