"""What /proc says about processes: enough to prove a hook's process group has ended."""

from __future__ import annotations

import time
from pathlib import Path


def _stat(pid_dir: Path) -> tuple[str, int] | None:
    """(state, process group) of one /proc/<pid>, or None once it is gone."""
    try:
        text = (pid_dir / "stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # after "(comm)", which may hold spaces
    return fields[0], int(fields[2])


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group `pgid`, in any namespace we can see."""
    members = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        st = _stat(pid_dir)
        if st is not None and st[1] == pgid and st[0] != "Z":
            members.append(int(pid_dir.name))
    return members


def wait_group_gone(pgid: int, timeout: float = 5.0) -> list[int]:
    """Poll until the group has no live member; the members still alive at the end."""
    deadline = time.monotonic() + timeout
    while (members := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    return members
