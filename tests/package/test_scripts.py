"""The packaging scripts (pkg/) and the scratch-root scripts: POSIX sh that shellcheck
passes, as dpkg runs maintainer scripts with /bin/sh (dash)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [
    ROOT / "pkg" / "install.sh",
    *(ROOT / "pkg" / "deb" / name for name in ("build.sh", "postinst", "prerm", "postrm")),
    *sorted(Path(__file__).parent.glob("*.sh")),
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_script_is_posix_sh_that_shellcheck_passes(script: Path) -> None:
    assert script.read_text().startswith("#!/bin/sh\n")
    run = subprocess.run(["shellcheck", "-s", "sh", str(script)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
