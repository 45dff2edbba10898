"""The BSD sysctl(8): read and write the `net.inet.*` tree in the personality's dialect.

The personality in the store picks the dialect (output layout, errors, exit status).
Reads only open the store file; writes run in one store transaction (atomic, locked)
and then wait until carpd applied the new generation.  Keep imports minimal: this
runs at every `sysctl net.inet.carp.preempt` and must start about as fast as Python.
What is Linux's goes to procps (sysctl/cli.py decides, sysctl/procps.py runs it).
"""

from __future__ import annotations

import os
import sys

from carp import mib
from carp.stdio import byte_faithful
from carp.store import Store, StoreError, policy_of
from sysctl import linux, procps
from sysctl.dialect import EINVAL_TEXT, EPERM_TEXT, BadNumber, Dialect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from carp.personality import Policy


class Usage(Exception):
    """Bad command line: print the message (if any) and the usage, exit 1."""


class Options:
    __slots__ = ("all", "descr", "eq", "names_only", "values_only", "quiet", "ignore", "file")

    def __init__(self) -> None:
        self.all = self.descr = self.eq = self.names_only = False
        self.values_only = self.quiet = self.ignore = False
        self.file: str | None = None


def parse_options(pol: Policy, argv: list[str]) -> tuple[Options, list[str]]:
    """getopt(3) with the personality's letters: clustered flags, `-f file`, `--`."""
    opts = Options()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        j = 1
        while j < len(arg):
            letter = arg[j]
            pos = pol.sysctl_options.find(letter)
            if letter == ":" or pos < 0:
                raise Usage(f"{pol.getopt_verb} option -- {letter}")
            if pol.sysctl_options[pos + 1 : pos + 2] == ":":
                value = arg[j + 1 :]
                if not value:
                    i += 1
                    if i >= len(argv):
                        raise Usage(f"option requires an argument -- {letter}")
                    value = argv[i]
                opts.file = value
                break
            _set_flag(opts, letter)
            j += 1
        i += 1
    return opts, argv[i:]


def _set_flag(opts: Options, letter: str) -> None:
    if letter in "aA":
        opts.all = True
    elif letter == "d":
        opts.descr = True
    elif letter == "e":
        opts.eq = True
    elif letter == "N":
        opts.names_only = True
    elif letter == "n":
        opts.values_only = True
    elif letter == "q":
        opts.quiet = True
    elif letter == "i":
        opts.ignore = True
    # -w: "name=value implies write" everywhere; the rest are accepted and ignored.


class Runner:
    """Processes the arguments of one command against one snapshot of the store."""

    def __init__(
        self,
        pol: Policy,
        opts: Options,
        stored: dict[str, int],
        store: Store,
        writable: bool = True,
    ) -> None:
        self.pol = pol
        self.d = Dialect(pol)
        self.opts = opts
        self.stored = stored  # the transaction's dict when writing: mutations commit
        self.store = store
        self.writable = writable  # False: the store could not be locked (EPERM)
        self.failures = 0
        self.linux_status = 0  # procps's status for a failed Linux name (mixed lines)
        self._status: Mapping[str, object] | None = None
        self._status_read = False
        self.fname: str | None = None
        self.lineno = 0

    # -- output -------------------------------------------------------------------

    def out(self, text: str) -> None:
        sys.stdout.write(text + "\n")

    def warn(self, msg: str) -> None:
        sys.stdout.flush()  # keep stdout before stderr, as a C stdio program would
        sys.stderr.write(f"sysctl: {self.d.at_line(msg, self.fname, self.lineno)}\n")

    def fail(self, msg: str | None) -> None:
        if msg is not None:
            self.warn(msg)
        self.failures += 1

    @property
    def status(self) -> Mapping[str, object] | None:
        if not self._status_read:  # only demotion/suppress_preempt need carpd's status
            self._status = self.store.read_status()
            self._status_read = True
        return self._status

    def show(self, name: str, value: object, descr: str = "") -> None:
        o = self.opts
        if o.descr:
            self.out(self.d.describe(name, descr))
        elif o.names_only:
            self.out(name)
        elif o.values_only:
            self.out(f"{value}")
        else:
            self.out(self.d.line(name, value, o.eq))

    # -- one argument ---------------------------------------------------------------

    def item(self, arg: str) -> None:
        name, value = split_arg(arg, self.pol, self.fname is not None)
        if mib.is_bsd_name(name):
            self.bsd(name, value)
        else:
            self.linux(name, value)

    def unknown(self, name: str, where: tuple[int, str, bool]) -> None:
        if self.opts.ignore:  # FreeBSD -i
            return
        quiet = self.opts.quiet and self.pol.sysctl_quiet_hides_unknown
        msg = None if quiet else self.d.unknown(name, *where)
        self.fail(msg)

    # -- the BSD tree ---------------------------------------------------------------

    def bsd(self, name: str, value: str | None) -> None:
        pol = self.pol
        node = mib.lookup(pol, name)
        if node is None:
            if not mib.is_interior(pol, name):
                self.unknown(name, mib.unknown_at(pol, name))
            elif value is None or pol.sysctl_lists_interior_on_write:
                self.listing(mib.listing(pol, name))
            else:
                self.fail(self.d.not_leaf(name))
        elif value is None:
            self.read(node)
        else:
            self.write(node, value)

    def listing(self, nodes: list[mib.Node]) -> None:
        for node in nodes:
            if node.kind == "struct":
                continue  # the stats struct is netstat's, skipped in listings
            if node.kind == "linux":
                try:
                    value: object = linux.read(mib.LINUX_MAPPED[node.name])
                except OSError:
                    continue
            else:
                value = mib.effective_value(node, self.stored, self._status_for(node))
            self.show(node.name, value, node.descr)

    def _status_for(self, node: mib.Node) -> Mapping[str, object] | None:
        runtime = node.name in (f"{mib.CARP}.demotion", f"{mib.CARP}.suppress_preempt")
        return self.status if runtime else None

    def read(self, node: mib.Node) -> None:
        if node.kind == "struct":
            if self.opts.descr:
                self.show(node.name, "", node.descr)
                return
            msg = self.d.struct_read(node.name)
            if msg:
                self.warn(msg)
            return
        if node.kind == "linux" and not linux.exists(mib.LINUX_MAPPED[node.name]):
            # e.g. IPv6 disabled: the Linux side of the mapping does not exist here
            parts = node.name.split(".")
            self.unknown(node.name, (len(parts) - 1, parts[-1], False))
            return
        self.listing([node])

    def write(self, node: mib.Node, value: str) -> None:
        if node.kind == "struct":
            self.fail(self.d.struct_write(node.name))
            return
        if not node.writable:
            self.fail(self.d.read_only(node.name))
            return
        try:
            number = self.d.parse_int(node.name, value)
        except BadNumber as exc:
            self.fail(str(exc))
            return
        if node.kind == "linux":
            self.write_linux(node.name, mib.LINUX_MAPPED[node.name], str(number), value)
            return
        old = mib.effective_value(node, self.stored, self._status_for(node))
        if not self.writable:
            self.refused(node.name, value, old, EPERM_TEXT)
            return
        if node.adds:  # FreeBSD demotion: the written value is an adjustment
            result = self.stored.get(node.name, 0) + number
            if not mib.INT_MIN <= result <= mib.INT_MAX:
                self.refused(node.name, value, old, EINVAL_TEXT)
                return
            self.stored[node.name] = result
            new = old + number
        else:
            if not node.lo <= number <= node.hi:
                self.refused(node.name, value, old, EINVAL_TEXT)
                return
            self.stored[node.name] = number
            new = number
        self.echo(node.name, old, new)

    def echo(self, name: str, old: object, new: object) -> None:
        if not self.opts.quiet:
            self.out(self.d.echo(name, old, new, self.opts.values_only))

    def refused(self, name: str, value: str, old: object, reason: str) -> None:
        """The "kernel" said no: FreeBSD shows the old value first, then the error."""
        prefix = self.d.range_prefix(name, old)
        if prefix is not None and not self.opts.quiet:
            self.out(prefix)
        self.fail(self.d.kernel_error(name, value, reason))

    # -- Linux pass-through ---------------------------------------------------------

    def linux(self, name: str, value: str | None) -> None:
        """A Linux name in a BSD command line: procps shows or writes it, byte for byte."""
        arg = name if value is None else f"{name}={value}"
        if "\0" in arg:  # from a -f file: no argv can carry it to procps
            self.unknown(name, linux.unknown_at(name))
            return
        status = procps.run([*procps_flags(self.opts), arg])
        if status is None:
            self.fail(f"{name}: {procps.missing_text()}")
        elif status:
            self.failures += 1
            self.linux_status = status

    def write_linux(self, shown: str, lname: str, value: str, typed: str) -> None:
        """Write /proc/sys for `lname`; messages use the name the admin typed."""
        if linux.is_dir(lname):
            self.fail(self.d.not_leaf(shown))
            return
        try:
            old = linux.read(lname)
        except FileNotFoundError:
            self.unknown(shown, linux.unknown_at(lname))
            return
        except OSError:
            old = ""
        try:
            linux.write(lname, value)
            new = linux.read(lname)
        except OSError as exc:
            self.refused(shown, typed, old, os.strerror(exc.errno or 0))
            return
        self.echo(shown, old, new)


# -- the command ------------------------------------------------------------------


def split_arg(arg: str, pol: Policy, in_file: bool) -> tuple[str, str | None]:
    """`name=value` -> (name, value); a bare name -> (name, None)."""
    sep = ":" if in_file and pol.sysctl_file_colon and "=" not in arg else "="
    if sep not in arg:
        return arg, None
    name, value = arg.split(sep, 1)
    if pol.sysctl_trims_assignments:
        name, value = name.strip(), value.strip().strip("\"'")
    return name, value


def _writes_store(items: list[tuple[str, int]], pol: Policy, in_file: bool) -> bool:
    for arg, _ in items:
        name, value = split_arg(arg, pol, in_file)
        if value is not None and mib.is_bsd_name(name):
            return True
    return False


def _items(opts: Options, args: list[str]) -> list[tuple[str, int]]:
    """The arguments, or the `name=value` lines of `-f file` with their line numbers."""
    if opts.file is None:
        return [(a, 0) for a in args]
    with open(opts.file, encoding="utf-8", errors="surrogateescape") as f:  # any bytes
        lines = f.read().split("\n")  # as fgets reads: \n ends a line, nothing else
    items = []
    for n, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if line:
            items.append((line, n))
    return items


def run(runner: Runner, items: list[tuple[str, int]], fname: str | None) -> None:
    runner.fname = fname
    for arg, lineno in items:
        runner.lineno = lineno
        before = runner.failures
        runner.item(arg)
        if runner.failures > before and runner.pol.sysctl_stops_at_error and fname is None:
            return


def procps_flags(opts: Options) -> list[str]:
    """The BSD flags in effect that mean the same to procps, in its letters."""
    pairs = ((opts.values_only, "-n"), (opts.names_only, "-N"), (opts.quiet, "-q"),
             (opts.ignore, "-e"))
    return [flag for on, flag in pairs if on]


def main(args: list[str], bsd: bool) -> int:
    """The command line `args`, options only or naming a BSD node (`bsd`); anything the
    BSD parse does not take, and names no BSD node, is still procps's."""
    byte_faithful(sys.stdout, sys.stderr)
    store = Store()
    try:
        doc = store.load_doc()
        pol = policy_of(doc)
    except (StoreError, ValueError) as exc:
        if not bsd and args:
            return procps.exec_(args)  # our store never stands in Linux's way
        sys.stderr.write(f"sysctl: {exc}\n")
        return 1
    try:
        opts, names = parse_options(pol, args)
        if not bsd and opts.file is not None:
            return procps.exec_(args)  # `-ffile` naming no BSD node: procps loads it
        if pol.sysctl_d_alone_lists_all and opts.descr and not names and opts.file is None:
            opts.all = True
        if not names and opts.file is None and not (opts.all or pol.sysctl_lists_without_args):
            raise Usage("")
        items = _items(opts, names)
    except Usage as exc:
        if not bsd and args:
            return procps.exec_(args)  # -p, --system, -X, -n alone ...: procps's options
        if str(exc):
            sys.stderr.write(f"sysctl: {exc}\n")
        sys.stderr.write(pol.sysctl_usage + "\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"sysctl: {opts.file}: {exc.strerror}\n")
        return 1
    stored = {k: int(v) for k, v in (doc or {}).get("sysctl", {}).items()}
    runner = Runner(pol, opts, stored, store)
    try:
        if not items:
            runner.listing(mib.listing(pol))
            if not opts.descr:  # procps has no descriptions (its -d is --help)
                return procps.exec_(["-a", *procps_flags(opts)])
        elif _writes_store(items, pol, opts.file is not None):
            _run_writing(runner, store, items, opts.file)
        else:
            run(runner, items, opts.file)
    except StoreError as exc:
        sys.stdout.flush()
        sys.stderr.write(f"sysctl: {exc}\n")
        return 1
    sys.stdout.flush()
    return pol.sysctl_exit_status(runner.failures) or runner.linux_status


def _run_writing(runner: Runner, store: Store, items: list[tuple[str, int]],
                 fname: str | None) -> None:
    """Everything inside one transaction, then wait for carpd to apply it."""
    started = False
    try:
        with store.transaction() as state:
            started = True
            before = state.generation
            runner.stored = state.sysctl
            run(runner, items, fname)
    except PermissionError as exc:
        if started:  # the commit itself failed: nothing was stored
            raise StoreError(f"{store.file}: {exc.strerror}") from exc
        runner.writable = False  # not root: the store cannot be locked; say so per write
        run(runner, items, fname)
        return
    if state.generation != before:
        store.wait_applied(state.generation)
