"""Boot configuration replay: the BSD files that configure carp at boot, as commands.

The store lives in /run and starts empty at every boot, like kernel memory, so the
configuration an admin ported from a BSD host stays in that host's boot files.  carpd
calls `plan()` at start to turn them into `ifconfig`/`sysctl` steps and `replay()` to
run them in-process (`carpd -n` only prints the plan).  Read, relative to `root`:

* /etc/sysctl.conf                       `net.inet.carp.*=value` lines (the rest is Linux's)
* OpenBSD /etc/hostname.<if>             netstart(8) lines, `inet ADDR MASK BCAST ...` form
* FreeBSD /etc/rc.conf, /etc/rc.conf.local
                                         cloned_interfaces, ifconfig_<if>, ifconfig_<if>_aliasN
* NetBSD  /etc/ifconfig.<if>             one ifconfig argument list per line

The BSD rc scripts also configure the physical interfaces (`inet 192.168.1.2
255.255.255.0 NONE`, `up`, `mtu 9000`): those lines replay too, and ifconfig makes them
through netlink as a BSD would (carp.ifconfig.link_plan), or refuses a line it cannot
make with the BSD error, reported with the line's file:line.  Lines that hand the
address to DHCP or router advertisements are the Linux network configuration's job:
*skipped* steps, shown by `carpd -n`, never run.

Order follows the BSD boot: sysctl.conf first (rc runs it before the network), then
cloned-interface creation, then physical interfaces, then carp interfaces.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from carp import selfrun
from carp.store import Store

Kind = Literal["ifconfig", "sysctl"]

CARP_SYSCTL = "net.inet.carp."
_CARP_IF = re.compile(r"carp\d+$")
_IFNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*\d$")
_DOTTED = re.compile(r"\d{1,3}(\.\d{1,3}){3}$")
_HEXMASK = re.compile(r"0[xX][0-9a-fA-F]{1,8}$")
_RC_ASSIGN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_RC_IFCONFIG = re.compile(r"ifconfig_([A-Za-z0-9_.]+?)(?:_(ipv6)|_alias(\d+))?$")

AUTOMATIC = "address by DHCP or autoconfiguration: the Linux network configuration's job"
# the words of a line that asks for one (netstart's dhcp/autoconf, rc.conf's DHCP ...)
AUTOMATIC_WORDS = frozenset({"dhcp", "DHCP", "SYNCDHCP", "NOSYNCDHCP", "autoconf",
                             "accept_rtadv", "rtsol"})
SHELL = "shell command line: not run by carpd"
HIDDEN = "********"  # a passphrase in carpd's log


@dataclass
class Step:
    """One command of the boot plan.  `argv` excludes the program name."""

    kind: Kind
    argv: list[str]
    source: str  # "file:line"; line 0 = implied by the file itself (interface creation)
    skip: str | None = None  # why the step is only recorded, never run

    @property
    def command(self) -> str:
        return shlex.join([self.kind, *self.argv])

    def __str__(self) -> str:
        return self.shown(self.command)

    def shown(self, command: str) -> str:
        note = f"  (skipped: {self.skip})" if self.skip else ""
        return f"{self.source}: {command}{note}"

    @property
    def logged(self) -> str:
        """The command as the log shows it: the passphrase after `pass` hidden (carpd -n
        prints the files' own words to the admin who runs it; the log keeps no key)."""
        words = [self.kind, *self.argv]
        return " ".join(
            HIDDEN if i and words[i - 1] == "pass" else shlex.quote(word)
            for i, word in enumerate(words)
        )


# -- parsing helpers ---------------------------------------------------------------------


def _strip_comment(line: str) -> str:
    """Drop an unquoted `#` comment that starts a word, as sh(1) does (`pass a#b` stays)."""
    quote = ""
    prev = " "
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and prev.isspace():
            return line[:i]
        prev = ch
    return line


def _words(line: str) -> list[str]:
    """The words of one config line (comments dropped, sh quoting honoured)."""
    text = _strip_comment(line).strip()
    if not text:
        return []
    try:
        return shlex.split(text)
    except ValueError:  # unbalanced quote: keep the words rather than lose the line
        return text.split()


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    return list(enumerate(text.splitlines(), 1))


def _source(root: Path, path: Path, lineno: int) -> str:
    # Shown as the path on the configured system, whatever `root` the plan was made from.
    return f"/{path.relative_to(root).as_posix()}:{lineno}"


def _is_carp(ifname: str) -> bool:
    return bool(_CARP_IF.match(ifname))


def _natural(name: str) -> tuple[str, int]:
    m = re.match(r"(.*?)(\d+)$", name)
    return (m.group(1), int(m.group(2))) if m else (name, -1)


def _if_order(name: str) -> tuple[bool, tuple[str, int]]:
    return (_is_carp(name), _natural(name))  # physical interfaces first, like the BSD rc


def _interface_files(etc: Path, prefix: str) -> list[tuple[str, Path]]:
    found = []
    for path in etc.glob(prefix + "*"):
        name = path.name[len(prefix):]
        if _IFNAME.match(name) and path.is_file():
            found.append((name, path))
    return sorted(found, key=lambda item: _if_order(item[0]))


def _on_interface(ifname: str, words: list[str], source: str) -> Step:
    """An ifconfig step for `ifname`, skipped if it asks for an automatic address."""
    skip = AUTOMATIC if AUTOMATIC_WORDS.intersection(words) else None
    return Step("ifconfig", [ifname, *words], source, skip)


# -- sysctl.conf -------------------------------------------------------------------------


def _sysctl_conf(root: Path) -> list[Step]:
    path = root / "etc/sysctl.conf"
    steps = []
    for lineno, line in _lines(path):
        text = _strip_comment(line).strip()
        name, eq, value = text.partition("=")
        name = name.strip()
        if not eq or not name.startswith(CARP_SYSCTL):
            continue  # Linux's own settings and other BSD nodes are not ours
        value = value.strip().strip("\"'")
        steps.append(Step("sysctl", [f"{name}={value}"], _source(root, path, lineno)))
    return steps


# -- OpenBSD hostname.if -----------------------------------------------------------------


def _is_v4(word: str) -> bool:
    return bool(_DOTTED.match(word))


def translate_openbsd(words: list[str]) -> list[str]:
    """netstart(8): `inet [alias] ADDR [MASK [BCAST]] rest` -> ifconfig arguments.

    MASK becomes `netmask MASK`, BCAST `broadcast BCAST`; `NONE` in either place means
    "not given".  The positional fields are recognised by shape, so a CIDR address
    (`inet 192.168.1.1/24`) or a line that goes straight on to keywords
    (`inet 192.168.1.1 vhid 1`) keeps its words.  `inet6 ADDR N` gives `prefixlen N`.
    Any other line is passed verbatim."""
    if len(words) < 2 or words[0] not in ("inet", "inet6"):
        return list(words)
    head, rest = [words[0]], list(words[1:])
    if rest[0] == "alias":
        head.append(rest.pop(0))
    if not rest:
        return list(words)
    addr = rest.pop(0)
    head.append(addr)
    if words[0] == "inet6":
        if rest and rest[0].isdigit():
            head += ["prefixlen", rest.pop(0)]
        return head + rest
    if "/" not in addr and rest and (rest[0] == "NONE" or _is_v4(rest[0])
                                     or _HEXMASK.match(rest[0])):
        mask = rest.pop(0)
        if mask != "NONE":
            head += ["netmask", mask]
    if rest and (rest[0] == "NONE" or _is_v4(rest[0])):
        bcast = rest.pop(0)
        if bcast != "NONE":
            head += ["broadcast", bcast]
    return head + rest


def _openbsd(root: Path) -> list[Step]:
    steps = []
    for ifname, path in _interface_files(root / "etc", "hostname."):
        if _is_carp(ifname):
            # netstart creates a cloned interface before reading its file.
            steps.append(Step("ifconfig", [ifname, "create"], _source(root, path, 0)))
        for lineno, line in _lines(path):
            words = _words(line)
            if not words:
                continue
            source = _source(root, path, lineno)
            if words[0].startswith("!"):
                steps.append(Step("ifconfig", [ifname, *words], source, SHELL))
                continue
            steps.append(_on_interface(ifname, translate_openbsd(words), source))
    return steps


# -- NetBSD ifconfig.if ------------------------------------------------------------------


def _netbsd(root: Path) -> list[Step]:
    steps = []
    for ifname, path in _interface_files(root / "etc", "ifconfig."):
        lines = [(n, _words(line)) for n, line in _lines(path)]
        lines = [(n, w) for n, w in lines if w]
        if _is_carp(ifname) and ["create"] not in [w for _, w in lines]:
            # rc.d/network creates a cloner named by an ifconfig.if file without `create`.
            steps.append(Step("ifconfig", [ifname, "create"], _source(root, path, 0)))
        for lineno, words in lines:
            source = _source(root, path, lineno)
            if words[0].startswith("!"):
                steps.append(Step("ifconfig", [ifname, *words], source, SHELL))
            elif words == ["create"]:
                steps.append(Step("ifconfig", [ifname, "create"], source))
            else:
                steps.append(_on_interface(ifname, words, source))
    return steps


# -- FreeBSD rc.conf ---------------------------------------------------------------------


def _rc_vars(root: Path) -> dict[str, tuple[str, str]]:
    """name -> (value, source) of every assignment; later ones win, as when sh sources them."""
    found: dict[str, tuple[str, str]] = {}
    for rel in ("etc/rc.conf", "etc/rc.conf.local"):
        path = root / rel
        for lineno, line in _lines(path):
            m = _RC_ASSIGN.match(line)
            if not m:
                continue
            words = _words(m.group(2))
            found[m.group(1)] = (" ".join(words), _source(root, path, lineno))
    return found


def _freebsd(root: Path) -> list[Step]:
    rc = _rc_vars(root)
    steps = []
    if "cloned_interfaces" in rc:
        value, source = rc["cloned_interfaces"]
        for ifname in value.split():
            skip = None if _is_carp(ifname) else "not a carp interface"
            steps.append(Step("ifconfig", [ifname, "create"], source, skip))
    per_if: dict[str, list[tuple[int, str, str]]] = {}  # ifname -> (order, value, source)
    for name, (value, source) in rc.items():
        m = _RC_IFCONFIG.match(name)
        if not m or not value:
            continue
        ifname, ipv6, alias = m.groups()
        order = -2 if not ipv6 and alias is None else -1 if ipv6 else int(alias)
        per_if.setdefault(ifname, []).append((order, value, source))
    for ifname in sorted(per_if, key=_if_order):
        expected_alias = 0
        for order, value, source in sorted(per_if[ifname]):
            words = value.split()
            step = _on_interface(ifname, words, source)
            if order >= 0:
                # rc.d runs `ifconfig IF <value> alias` and stops at the first missing N.
                if "alias" not in words:
                    step.argv.append("alias")
                if order != expected_alias:
                    step.skip = f"ifconfig_{ifname}_alias{expected_alias} is missing"
                expected_alias += 1
            steps.append(step)
    return steps


# -- the plan and its replay -------------------------------------------------------------


def plan(root: Path = Path("/")) -> list[Step]:
    """Every boot step found under `root`, in boot order (skipped steps included)."""
    interface_steps = _openbsd(root) + _freebsd(root) + _netbsd(root)
    creates = [s for s in interface_steps if s.argv[1:] == ["create"]]
    others = [s for s in interface_steps if s.argv[1:] != ["create"]]
    others.sort(key=lambda s: _if_order(s.argv[0]))  # stable: file order within one if
    return _sysctl_conf(root) + creates + others


def _run_sysctl(argv: list[str], stdout: TextIO, stderr: TextIO) -> int:
    """sysctl(8) as a program, as a BSD's rc runs it for sysctl.conf: the sysctl front
    end sits above this package and is never imported by it."""
    proc = subprocess.run(
        selfrun.argv("sysctl.cli", *argv), env=selfrun.environ(),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
    )
    stdout.write(proc.stdout)
    stderr.write(proc.stderr)
    return proc.returncode


def _run_step(step: Step, stdout: TextIO, stderr: TextIO, store: Store) -> int:
    """Run one step; its exit status (SystemExit and crashes included)."""
    try:
        if step.kind == "ifconfig":
            from carp.ifconfig import cli as ifconfig_cli

            return ifconfig_cli.run(list(step.argv), stdout=stdout, stderr=stderr, store=store)
        return _run_sysctl(list(step.argv), stdout, stderr)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except Exception as exc:  # one broken step must not stop the rest of the boot
        stderr.write(f"{step.kind}: {type(exc).__name__}: {exc}\n")
        return 1


def replay(
    steps: list[Step], *, stdout: TextIO, stderr: TextIO, store: Store | None = None
) -> int:
    """Run every step that is not skipped; the number of failures.

    Each error line of a failed step is reported with the step's source, e.g.
    `/etc/hostname.carp0:2: ifconfig: vhid 300: too large`.  The ifconfig steps between
    two sysctl steps (programs of their own, which take the store's lock) run in one
    store batch: each all-or-nothing, and one commit for them all (1,000 hostname.if
    files took minutes committed one by one)."""
    store = store if store is not None else Store()
    failures = 0
    for kind, group in itertools.groupby(steps, key=lambda step: step.kind):
        with store.batch() if kind == "ifconfig" else contextlib.nullcontext():
            for step in group:
                failures += _replay_step(step, stdout, stderr, store)
    return failures


def _replay_step(step: Step, stdout: TextIO, stderr: TextIO, store: Store) -> int:
    """One step of replay(): 1 if it failed, else 0."""
    if step.skip:
        stdout.write(f"{step.shown(step.logged)}\n")
        return 0
    errors = io.StringIO()
    status = _run_step(step, stdout, errors, store)
    messages = errors.getvalue().splitlines()
    if status != 0 and not messages:
        messages = [f"{step.logged}: exit status {status}"]
    for message in messages:  # warnings of a successful step are shown too
        stderr.write(f"{step.source}: {message}\n")
    return int(status != 0)
