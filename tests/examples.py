"""The shipped examples (examples/) as an admin enables them, and stand-ins for the
system tools they call, for the tests that run them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# A stand-in for a system tool: records its name, arguments and (mail) its input, in one
# write (the hooks' mails are sent in the background, perhaps two at once).
STAND_IN = """#!/bin/sh
{read}
printf '%s\\n' "$(basename "$0") $*" ${{input:+"$input"}} >> "{out}"
"""
READS_INPUT = "input=$(sed 's/^/| /')"


def enable(example: str, dest: Path, **settings: str) -> Path:
    """What the admin does: copy without the suffix, edit the settings, chmod 755."""
    text = (EXAMPLES / example).read_text()
    for key, value in settings.items():
        text, n = re.subn(rf"^{key}=.*$", f"{key}={shlex.quote(value)}", text, flags=re.M)
        assert n == 1, f"{example} has no setting {key}"
    dest.write_text(text)
    dest.chmod(0o755)
    return dest


def stand_ins(bindir: Path, out: Path, tools: dict[str, bool]) -> None:
    """Recording stand-ins in `bindir` for each tool (True: it records its input too)."""
    bindir.mkdir()
    for tool, reads in tools.items():
        (bindir / tool).write_text(STAND_IN.format(read=READS_INPUT if reads else "", out=out))
        (bindir / tool).chmod(0o755)


def calls(out: Path, tool: str) -> list[str]:
    """The arguments of each call of `tool` the stand-ins recorded, in order."""
    lines = out.read_text().splitlines() if out.exists() else []
    return [line.split(" ", 1)[1] for line in lines if line.startswith(f"{tool} ")]
