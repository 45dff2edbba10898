"""The one check every shell script the project ships passes: POSIX sh (dpkg and carpd
run them with /bin/sh, dash on Debian) that shellcheck finds nothing in."""

from __future__ import annotations

import subprocess
from pathlib import Path


def assert_posix_sh_shellcheck_clean(script: Path) -> None:
    assert script.read_text().startswith("#!/bin/sh\n")
    run = subprocess.run(["shellcheck", "-s", "sh", str(script)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
