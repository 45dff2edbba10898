"""The Linux side of the BSD names mapped onto /proc/sys (carp.mib.LINUX_MAPPED, e.g.
`net.inet.ip.forwarding` is net/ipv4/ip_forward), read and written directly.

No subprocess: `sysctl net.inet.ip.forwarding` costs one open().  Linux's own names are
procps's (sysctl/procps.py).  The root is injectable (`$CARP_PROC_SYS` or the `root`
argument) so tests use a fake tree.
"""

from __future__ import annotations

import errno
import os

PROC_SYS = "/proc/sys"
ROOT_ENV = "CARP_PROC_SYS"


def root_dir(root: str | None = None) -> str:
    return root or os.environ.get(ROOT_ENV) or PROC_SYS


def path_of(name: str, root: str | None = None) -> str:
    """`net.ipv4.ip_forward` -> /proc/sys/net/ipv4/ip_forward (`a/b/c` names kept as is,
    as Linux sysctl(8) does, so components with dots such as `eth0.100` can be named).
    The path stays under the root whatever the name."""
    if "\0" in name:  # no file has such a name (open() would raise ValueError)
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), name)
    rel = name if "/" in name else name.replace(".", "/")
    # never above the root: `../../etc/passwd` is etc/passwd under it (an unknown name),
    # as in procps, whose dots-to-slashes turn any `..` into slashes
    return os.path.join(root_dir(root), os.path.normpath("/" + rel).lstrip("/"))


def is_dir(name: str, root: str | None = None) -> bool:
    try:
        return os.path.isdir(path_of(name, root))
    except OSError:
        return False


def exists(name: str, root: str | None = None) -> bool:
    try:
        return os.path.exists(path_of(name, root))
    except OSError:
        return False


def read(name: str, root: str | None = None) -> str:
    """The value as Linux sysctl(8) prints it; raises OSError (ENOENT for unknown names)."""
    with open(path_of(name, root), encoding="utf-8", errors="replace") as f:
        return f.read().rstrip("\n")


def write(name: str, value: str, root: str | None = None) -> None:
    """Write the value; raises OSError with the kernel's errno (EINVAL, EPERM ...)."""
    path = path_of(name, root)
    if not os.path.isfile(path):
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, value.encode(errors="surrogateescape"))  # the bytes typed
    finally:
        os.close(fd)


def unknown_at(name: str, root: str | None = None) -> tuple[int, str, bool]:
    """Like carp.mib.unknown_at for a Linux name: (index, component, past_leaf)."""
    parts = name.split(".")
    path = root_dir(root)
    for i, part in enumerate(parts):
        if not os.path.isdir(path):
            return i, part, True
        path = os.path.join(path, part)
        if not os.path.exists(path):
            return i, part, False
    return len(parts) - 1, parts[-1], False
