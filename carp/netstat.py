"""netstat(1), the CARP part: `netstat -s -p carp` prints carpd's counters.

Layouts are each BSD's (docs/userland.md §4): its policy's netstat_carp_layout.
`--libxo json` (FreeBSD's netstat is built with libxo; usr.bin/netstat/inet.c
carp_stats) gives the same counters under FreeBSD's own keys, for scripts.
With carpd not running the block is printed with zeros, as an idle kernel prints it.
Any other use of netstat is handed to the system's netstat binary when there is one.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from carp.personality import Policy
    from carp.store import Store

SYSTEM_NETSTATS = ("/bin/netstat", "/usr/bin/netstat", "/sbin/netstat", "/usr/sbin/netstat")
NO_NETSTAT = 'netstat: only "netstat -s -p carp" is provided here; use ss(8) or ip(8)'
NO_LIBXO = "netstat: unknown option -- -"  # getopt's word for "--libxo" without libxo
LIBXO_FLAGS = {"J": "json", "P": "pretty", "T": "text", "X": "xml", "H": "html", "W": "warn"}
LIBXO_FORMATS = ("json", "text")  # xml and html are libxo's too, not provided here


class LibxoError(ValueError):
    """A --libxo option this netstat cannot honour: its message is netstat's line."""


def plural(n: int) -> str:
    return "" if n == 1 else "s"


def render(pol: Policy, counters: Mapping[str, int], sflag: int = 1) -> str:
    """The `carp:` block in the personality's layout; with -ss (sflag > 1) lines whose
    counter is 0 are left out."""
    lines = ["carp:"]
    for stat, fmt in pol.netstat_carp_layout:
        n = int(counters.get(stat, 0))
        if n or sflag <= 1:
            lines.append(fmt.format(n=n, s=plural(n)))
    return "\n".join(lines) + "\n"


def split_libxo(argv: list[str]) -> tuple[list[str] | None, list[str]]:
    """The --libxo options (xo_parse_args' forms: `--libxo json,pretty`, `--libxo=json`,
    `--libxo:JP`) and the other arguments; None when there is no --libxo."""
    opts: list[str] | None = None
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--libxo" or arg.startswith(("--libxo=", "--libxo:")):
            opts = opts or []
            if arg == "--libxo":
                i += 1
                value = argv[i] if i < len(argv) else ""
                opts += [w for w in value.split(",") if w]
            elif arg[7] == "=":
                opts += [w for w in arg[8:].split(",") if w]
            else:
                opts += [LIBXO_FLAGS.get(c, c) for c in arg[8:]]
        else:
            rest.append(arg)
        i += 1
    return opts, rest


def libxo_style(opts: list[str]) -> tuple[str, bool]:
    """(format, pretty) from --libxo options; LibxoError for what is not provided."""
    style, pretty = "text", False
    for opt in opts:
        if opt == "pretty":
            pretty = True
        elif opt in LIBXO_FORMATS:
            style = opt
        elif opt in LIBXO_FLAGS.values():
            if opt != "warn":
                raise LibxoError(f"netstat: --libxo {opt}: only json and text are provided here")
        else:
            raise LibxoError(f"netstat: --libxo: unknown libxo option value: '{opt}'")
    return style, pretty


def render_libxo(pol: Policy, counters: Mapping[str, int], sflag: int = 1,
                 pretty: bool = False) -> str:
    """`netstat --libxo json -s -p carp`: {"statistics": {"carp": {key: n}}}, the keys
    FreeBSD's carp_stats emits, in its order; with -ss the zeros left out, as there."""
    carp = {}
    for stat, key in pol.netstat_carp_libxo:
        n = int(counters.get(stat, 0))
        if n or sflag <= 1:
            carp[key] = n
    doc = {"statistics": {"carp": carp}}
    if pretty:
        import json

        return json.dumps(doc, indent=2) + "\n"
    from carp import cjson

    return cjson.dumps(doc) + "\n"


def parse_carp_stats(argv: list[str]) -> int:
    """The -s count when argv asks for `netstat -s[s] -p carp`, else 0 (not ours)."""
    sflag = 0
    proto = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or len(arg) < 2:
            return 0
        j = 1
        while j < len(arg):
            if arg[j] == "s":
                sflag += 1
            elif arg[j] == "p":
                proto = arg[j + 1 :] or (argv[i + 1] if i + 1 < len(argv) else None)
                if not arg[j + 1 :]:
                    i += 1
                break
            else:
                return 0
            j += 1
        i += 1
    return sflag if proto == "carp" else 0


def _counters(store: Store) -> Mapping[str, int]:
    """Live from carpd, as a BSD kernel's are; its last published status (rewritten at
    most once a second) only when it cannot answer, e.g. to a user other than root."""
    from carp import control_client

    live = control_client.live_counters(store.socket_file)
    if live is not None:
        return live
    status = store.read_status() or {}
    counters = status.get("counters")
    return counters if isinstance(counters, dict) else {}


def system_netstat() -> str | None:
    """The system's own netstat binary (never a script: that could be this program)."""
    from carp import sysbin

    return sysbin.find(SYSTEM_NETSTATS)


def main(argv: list[str] | None = None) -> int:
    from carp.stdio import byte_faithful

    byte_faithful(sys.stdout, sys.stderr)
    args = sys.argv[1:] if argv is None else argv
    libxo, rest = split_libxo(args)
    sflag = parse_carp_stats(rest)
    if not sflag:
        path = system_netstat()
        if path is None:
            sys.stderr.write(NO_NETSTAT + "\n")
            return 1
        sys.stdout.flush()
        os.execv(path, ["netstat", *args])
    try:
        from carp.store import Store, policy_of

        store = Store()
        pol = policy_of(store.load_doc())
        style, pretty = libxo_style(libxo or [])
        if libxo is not None and not pol.netstat_carp_libxo:
            raise LibxoError(NO_LIBXO)
        counters = _counters(store)
    except LibxoError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    except Exception as exc:  # StoreError, bad $CARP_PERSONALITY: say why, don't trace
        sys.stderr.write(f"netstat: {exc}\n")
        return 1
    if style == "json":
        sys.stdout.write(render_libxo(pol, counters, sflag, pretty))
    else:
        sys.stdout.write(render(pol, counters, sflag))
    return 0


if __name__ == "__main__":
    sys.exit(main())
