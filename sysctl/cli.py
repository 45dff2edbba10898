"""sysctl(8): the BSD front end of the `net.inet.*` tree; everything else is procps's.

Who owns a command line (sysctl/procps.py, docs/userland.md §8):
- it names a BSD node (an argument, or a line of a BSD `-f file`): ours, in the BSD
  dialect (sysctl/bsd.py); a Linux name among BSD ones is shown by procps, in its own
  words, in place;
- it lists everything (`-a`, OpenBSD's bare `sysctl`): the BSD tree in the BSD format,
  then procps's `sysctl -a`, untouched;
- anything else (Linux names, `-p`, `--system`, `-r`, ...): procps, exec'd as typed.
A command line with a Linux name pays for Python's start and this module before procps
runs: no store, no dialect (those are sysctl/bsd.py's, imported for BSD business only).
"""

from __future__ import annotations

import os
import sys

from carp.mib import is_bsd_name
from sysctl import procps


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    bsd = names_bsd_node(args)
    if not bsd and any(not a.startswith("-") for a in args):
        return procps.exec_(args)  # Linux names, procps's files and patterns
    from sysctl import bsd as bsd_sysctl

    return bsd_sysctl.main(args, bsd)


def names_bsd_node(args: list[str]) -> bool:
    """Whether the command line is BSD business: a node of the BSD tree is named as an
    argument or on a line of the file of a BSD `-f file` (procps's `-f` is its `-p`)."""
    if any(not a.startswith("-") and is_bsd_name(_name_of(a)) for a in args):
        return True
    fname = _file_option(args)
    if fname is None or not os.path.isfile(fname):  # a pipe could be read only once
        return False
    try:
        with open(fname, encoding="utf-8", errors="surrogateescape") as f:
            return any(is_bsd_name(_name_of(line.split("#", 1)[0])) for line in f)
    except OSError:
        return False


def _name_of(arg: str) -> str:
    """The name in `name=value` (or a FreeBSD file's `name: value`)."""
    return arg.split("=", 1)[0].split(":", 1)[0].strip()


def _file_option(args: list[str]) -> str | None:
    """The argument of `-f` as BSD getopt(3) reads it (`-f file`, `-qffile`), or None."""
    for i, word in enumerate(args):
        if word == "--" or not word.startswith("-") or word.startswith("--") or word == "-":
            return None
        pos = word.find("f")
        if pos > 0:
            return word[pos + 1 :] or (args[i + 1] if i + 1 < len(args) else None)
    return None


if __name__ == "__main__":
    sys.exit(main())
