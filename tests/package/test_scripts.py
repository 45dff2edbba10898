"""The packaging scripts (pkg/) and the scratch-root scripts: POSIX sh that shellcheck
passes, as dpkg runs maintainer scripts with /bin/sh (dash)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shellcheck import assert_posix_sh_shellcheck_clean

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [
    ROOT / "pkg" / "install.sh",
    *(ROOT / "pkg" / "deb" / name for name in ("build.sh", "postinst", "prerm", "postrm")),
    *sorted(Path(__file__).parent.glob("*.sh")),
]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_script_is_posix_sh_that_shellcheck_passes(script: Path) -> None:
    assert_posix_sh_shellcheck_clean(script)
