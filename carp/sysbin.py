"""Linux's own program that a BSD front end hands a command line to (procps sysctl,
net-tools netstat), found among fixed paths and never the front end itself."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

ELF_MAGIC = b"\x7fELF"


def find(candidates: Iterable[str]) -> str | None:
    """The first candidate that is a compiled executable: our front ends are scripts (a
    console-script wrapper or bin/*), so a candidate that is not ELF, e.g. our own
    launcher installed with PREFIX=/usr or a symlink to it, is passed over."""
    for path in candidates:
        try:
            with open(path, "rb") as f:
                if f.read(4) == ELF_MAGIC and os.access(path, os.X_OK):
                    return path
        except OSError:
            continue
    return None
