"""ifconfig(8) front end: flags, the show fast path, and the write path.

Showing (`ifconfig`, `ifconfig carp0`, `-a`, `-g carp`, `-C`, `-l`) never imports
ply or the apply machinery: it reads the store and hands over to `render`.  Only a
command with parameters builds the parser, validates and commits one transaction.
"""

from __future__ import annotations

import os
import sys

from carp.ifconfig import errors
from carp.ifconfig.errors import IfconfigError
from carp.personality import DEFAULT, policy
from carp.record import record
from carp.stdio import byte_faithful
from carp.store import State, Store, StoreError

TYPE_CHECKING = False  # typing costs ~5 ms at start-up; only type checkers need it
if TYPE_CHECKING:
    from typing import TextIO

    from carp.ifconfig.apply import NetlinkApi, SysIfApi
    from carp.ifconfig.link_plan import LinkPlan
    from carp.personality import Policy

FAMILIES = ("inet", "inet6", "link", "ether", "lladdr")


@record
class Linux:
    """The Linux side a command reads (sysif) and changes (netlink); None: the system's."""

    sysif: SysIfApi | None = None
    netlink: NetlinkApi | None = None


@record
class Flags:
    all: bool = False
    aliases: bool = False
    cloners: bool = False
    names: bool = False
    group: str | None = None
    match_group: str | None = None  # FreeBSD's `-a -g G` / `-l -g G`: a filter
    keys: bool = False
    up_only: bool = False
    down_only: bool = False


def parse_flags(argv: list[str], pol: Policy) -> tuple[Flags, list[str]]:
    """BSD getopt(3) with the personality's letters: options up to the first non-option
    word (or `--`).  A letter some BSD lacks (-A, -k, -l, ...) is a usage error there."""
    optstring = pol.ifconfig_options
    flags = Flags()
    i = 0
    while i < len(argv) and argv[i].startswith("-") and len(argv[i]) > 1:
        word = argv[i]
        i += 1
        if word == "--":
            break
        j = 1
        while j < len(word):
            letter = word[j]
            pos = optstring.find(letter)
            if letter == ":" or pos < 0:
                raise errors.usage(pol)
            if optstring[pos + 1 : pos + 2] == ":":
                value = word[j + 1 :]
                if not value:
                    if i >= len(argv):
                        raise errors.usage(pol)
                    value = argv[i]
                    i += 1
                if letter == "g":
                    if pol.group_option_filters and (flags.all or flags.names):
                        flags.match_group = value
                        break
                    flags.group = value
                    # `-g group [-]carpdemote N`: the rest are words, not options.
                    return flags, argv[i:]
                break
            _set_flag(flags, letter)
            j += 1
    return flags, argv[i:]


def _set_flag(flags: Flags, letter: str) -> None:
    if letter == "a":
        flags.all = True
    elif letter == "A":
        flags.all = flags.aliases = True
    elif letter == "C":
        flags.cloners = True
    elif letter == "l":
        flags.names = True
    elif letter == "k":
        flags.keys = True
    elif letter == "u":
        flags.up_only = True
    elif letter == "d":
        flags.down_only = True
    # others (-m, -v, -L, -b, ...) change nothing carp shows


def run(
    argv: list[str],
    *,
    stdout: TextIO,
    stderr: TextIO,
    store: Store | None = None,
    sysif: SysIfApi | None = None,
    netlink: NetlinkApi | None = None,
) -> int:
    """Run one ifconfig command in-process; returns the exit status."""
    store = store if store is not None else Store()
    try:
        return _run(argv, store, Linux(sysif, netlink), stdout, stderr)
    except IfconfigError as exc:
        stderr.write(exc.text)
        return exc.code
    except StoreError as exc:
        stderr.write(f"ifconfig: {exc}\n")
        return 1
    except PermissionError:
        # Not root: BSD's ioctl fails with EPERM.
        stderr.write(_eperm(argv, store))
        return 1
    except OSError as exc:
        stderr.write(f"ifconfig: {exc.strerror or exc}\n")
        return 1


def _eperm(argv: list[str], store: Store) -> str:
    try:
        pol = store.load().policy
    except (StoreError, OSError):
        pol = policy(DEFAULT)
    if "-g" in argv:
        return "ifconfig: SIOCSIFGATTR: Operation not permitted\n"
    name = next((w for w in argv if not w.startswith("-")), "")
    return errors.ioctl(pol, name, "SIOCSVH", "Operation not permitted").text


def _run(argv: list[str], store: Store, linux: Linux, stdout: TextIO, stderr: TextIO) -> int:
    state = store.load()
    pol = state.policy
    flags, rest = parse_flags(argv, pol)
    if flags.group is not None:
        return _group(flags.group, rest, state, store, stdout)
    if flags.cloners:
        from carp.ifconfig import render

        stdout.write(render.list_cloners(state))
        return 0
    if flags.names:
        from carp.ifconfig import render

        stdout.write(
            render.list_names(
                state,
                store.read_status(),
                up_only=flags.up_only,
                down_only=flags.down_only,
                group=flags.match_group,
            )
        )
        return 0
    if flags.all or not rest:
        if rest and not (len(rest) == 1 and rest[0] in FAMILIES):
            raise errors.usage(pol)
        if not flags.all and not pol.lists_without_a:
            raise errors.usage(pol)
        from carp.ifconfig import render

        stdout.write(
            render.show_all(
                state,
                store.read_status(),
                all_aliases=flags.aliases,
                up_only=flags.up_only,
                down_only=flags.down_only,
                group=flags.match_group,
            )
        )
        return 0
    name = rest[0]
    if len(rest) == 1 or (len(rest) == 2 and rest[1] in FAMILIES):
        return _show(name, state, store, flags, stdout)
    return _write(name, rest[1:], state, store, linux, stderr)


def _show(name: str, state: State, store: Store, flags: Flags, stdout: TextIO) -> int:
    from carp.ifconfig import render

    pol = state.policy
    status = store.read_status()
    text: str | None
    if pol.bare_name_is_group and name and not name[-1].isdigit():
        text = render.show_group(name, state, status)
    else:
        show_key = flags.keys and os.geteuid() == 0  # -k is in FreeBSD's options only
        text = render.show_interface(name, state, status, show_key=show_key)
    if text is None:
        raise errors.no_such_interface(pol, name)
    stdout.write(text)
    return 0


def _group(group: str, rest: list[str], state: State, store: Store, stdout: TextIO) -> int:
    pol = state.policy
    if pol.group_option_lists_members:
        from carp.ifconfig import render

        stdout.write(render.list_group_members(group, state))
        return 0
    if not rest:
        from carp.ifconfig import render

        stdout.write(render.show_group_attrs(group, state, store.read_status()))
        return 0
    word = rest[0]
    if not pol.sets_group_demotion or word not in ("carpdemote", "-carpdemote") or len(rest) > 2:
        raise errors.usage(pol)
    delta = 1
    if len(rest) == 2:
        from carp.ifconfig.values import strtonum

        delta, err = strtonum(rest[1], 0, 128)
        if err is not None:
            raise errors.fail(f"{group}: invalid carp demotion: {err}")
    if word.startswith("-"):
        delta = -delta
    from carp.ifconfig.apply import apply_demote

    with store.transaction() as st:
        before = st.generation
        apply_demote(st, group, delta)
    if st.generation != before:
        store.wait_applied(st.generation)
    return 0


def _write(
    name: str,
    words: list[str],
    state: State,
    store: Store,
    linux: Linux,
    stderr: TextIO,
) -> int:
    from carp.ifconfig.apply import apply
    from carp.ifconfig.operations import parse_command

    # Parse before taking the lock: syntax errors need only the personality.
    cmd = parse_command(name, words, state.policy)
    locked = False
    try:
        with store.transaction() as st:
            locked = True
            before = st.generation
            outcome = apply(cmd, st, linux.sysif)
            if not outcome.link.empty():  # inside: a refusal commits nothing
                _change_link(name, outcome.link, st, linux)
    except PermissionError:
        if locked:
            raise
        # Not root: the store's lock is root's, as the kernel's privilege check is.
        from carp.ifconfig.apply import is_clone_name

        creates = is_clone_name(name) and name not in state.interfaces
        raise errors.not_permitted(state.policy, cmd, creates) from None
    for text in outcome.warnings:
        stderr.write(text)
    if st.generation != before:
        # Bounded; returns False at once when carpd is not running (config is stored).
        store.wait_applied(st.generation)
    return 0


def _change_link(name: str, plan: LinkPlan, state: State, linux: Linux) -> None:
    """The physical interface's own change, through netlink, in BSD's words if refused."""
    from carp.ifconfig import apply, link_plan

    sysif = linux.sysif if linux.sysif is not None else apply.system_sysif()
    netlink = linux.netlink if linux.netlink is not None else apply.system_netlink()
    try:
        netlink.change(sysif.resolve(name, state), plan)
    except link_plan.LinkRefused as exc:
        raise link_plan.refused(state.policy, exc) from None


def main(argv: list[str] | None = None) -> int:
    byte_faithful(sys.stdout, sys.stderr)
    return run(sys.argv[1:] if argv is None else argv, stdout=sys.stdout, stderr=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
