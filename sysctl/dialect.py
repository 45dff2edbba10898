"""What each BSD's sysctl(8) prints: output lines, error texts, number parsing, options.

Reference: bsd-userland.md section 3, and the NetBSD/FreeBSD/OpenBSD sysctl.c sources.
Each message is returned as text; the caller decides where it goes and what it costs.
"""

from __future__ import annotations

LEVELS = ("top", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
          "ninth", "tenth", "eleventh", "twelfth")
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
EINVAL_TEXT = "Invalid argument"
EPERM_TEXT = "Operation not permitted"


class BadNumber(ValueError):
    """The value is not an integer this sysctl accepts; str() is the full message."""


def _level(i: int) -> str:
    return LEVELS[i] if i < len(LEVELS) else f"{i + 1}th"


def c_strtol(text: str) -> int:
    """strtol(text, &end, 0) requiring the whole string: 0x.. hex, 0.. octal, signs."""
    s = text.strip(" \t")
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s[:2].lower() == "0x" and len(s) > 2:
        base, digits = 16, s[2:]
    elif s[:1] == "0" and len(s) > 1:
        base, digits = 8, s[1:]
    else:
        base, digits = 10, s
    allowed = {8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}[base]
    if not digits or any(c not in allowed for c in digits):
        raise ValueError(text)
    return sign * int(digits, base)


class Dialect:
    """The common shape; subclasses hold each BSD's differences."""

    name = ""
    options = ""  # getopt letters accepted; a trailing ':' takes an argument
    usage = ""
    bare_listing = False  # no arguments at all means "-a"
    stop_on_error = False  # NetBSD: the first failing argument ends the run
    exit_with_count = False  # FreeBSD: exit status = number of failed arguments

    # -- output ---------------------------------------------------------------------

    def line(self, name: str, value: object, eflag: bool = False) -> str:
        raise NotImplementedError

    def echo(self, name: str, old: object, new: object, nflag: bool) -> str:
        return f"{new}" if nflag else f"{name}: {old} -> {new}"

    def describe(self, name: str, descr: str) -> str:
        return f"{name}: {descr}"

    # -- numbers --------------------------------------------------------------------

    def parse_int(self, name: str, value: str) -> int:
        raise NotImplementedError

    # -- errors (without the "sysctl: " prefix) -------------------------------------

    def unknown(self, name: str, index: int, part: str, past_leaf: bool) -> str:
        raise NotImplementedError

    def read_only(self, name: str) -> str:
        return f"{name}: {EPERM_TEXT}"

    def not_leaf(self, name: str) -> str:
        return f"{name}: incomplete specification"

    def struct_read(self, name: str) -> str | None:
        """The message for reading the stats struct (None: print nothing)."""
        return None

    def struct_write(self, name: str) -> str:
        return self.struct_read(name) or f"{name}: {EINVAL_TEXT}"

    def kernel_error(self, name: str, value: str, reason: str) -> str:
        """The kernel refused the write (EINVAL for a range, EPERM ...)."""
        return f"{name}: {reason}"

    def range_prefix(self, name: str, old: object) -> str | None:
        """What stdout shows before a refused write (FreeBSD prints the old value)."""
        return None

    def at_line(self, msg: str, fname: str | None, lineno: int) -> str:
        return msg


class OpenBSD(Dialect):
    name = "openbsd"
    options = "Aanqwf:"
    usage = "usage: sysctl [-Aanq] [name[=value] ...]"
    bare_listing = True

    def line(self, name: str, value: object, eflag: bool = False) -> str:
        return f"{name}={value}"

    def parse_int(self, name: str, value: str) -> int:
        # strtonum(value, INT_MIN, INT_MAX): decimal only.
        text = value.strip()
        body = text[1:] if text[:1] in "+-" else text
        if not body.isdigit() or not body.isascii():
            raise BadNumber(f"{name}: value is invalid: {value}")
        n = int(text)
        if n > INT_MAX:
            raise BadNumber(f"{name}: value is too large: {value}")
        if n < INT_MIN:
            raise BadNumber(f"{name}: value is too small: {value}")
        return n

    def unknown(self, name: str, index: int, part: str, past_leaf: bool) -> str:
        if past_leaf:
            return f"name {part} in {name} is unknown"
        return f"{_level(index)} level name {part} in {name} is invalid"

    def struct_read(self, name: str) -> str | None:
        return f"use netstat to view {name} information"


class FreeBSD(Dialect):
    name = "freebsd"
    # -w is not FreeBSD's, but the legacy carp(4) pages' `sysctl -w ...` must run.
    options = "AabdeFf:hiNnoqTtWwx"
    usage = (
        "usage: sysctl [-bdehiNnoqTtWx] [ -B <bufsize> ] [-f filename] name[=value] ...\n"
        "       sysctl [-bdehNnoqTtWx] [ -B <bufsize> ] -a"
    )
    exit_with_count = True

    def line(self, name: str, value: object, eflag: bool = False) -> str:
        return f"{name}={value}" if eflag else f"{name}: {value}"

    def echo(self, name: str, old: object, new: object, nflag: bool) -> str:
        return f"{old} -> {new}" if nflag else f"{name}: {old} -> {new}"

    def parse_int(self, name: str, value: str) -> int:
        try:
            n = c_strtol(value)
        except ValueError:
            n = None
        if n is None or not INT_MIN <= n <= INT_MAX:
            raise BadNumber(f"invalid integer '{value}'")
        return n

    def unknown(self, name: str, index: int, part: str, past_leaf: bool) -> str:
        return f"unknown oid '{name}'"

    def read_only(self, name: str) -> str:
        return f"oid '{name}' is read only"

    def not_leaf(self, name: str) -> str:
        return f"oid '{name}' isn't a leaf node"

    def struct_write(self, name: str) -> str:
        return f"oid '{name}' is type 5, cannot set that"  # CTLTYPE_OPAQUE

    def kernel_error(self, name: str, value: str, reason: str) -> str:
        return f"{name}={value}: {reason}"

    def range_prefix(self, name: str, old: object) -> str | None:
        return f"{name}: {old}"

    def at_line(self, msg: str, fname: str | None, lineno: int) -> str:
        return f"{msg} at line {lineno}" if fname else msg


class NetBSD(Dialect):
    name = "netbsd"
    options = "Aabdef:Mnqrwx"
    usage = (
        "usage:\tsysctl [-dne] [-x[x]|-r] variable ...\n"
        "\tsysctl [-ne] [-q] -w variable=value ...\n"
        "\tsysctl [-dne] -a\n"
        "\tsysctl [-dne] -A\n"
        "\tsysctl [-ne] -M\n"
        "\tsysctl [-dne] [-q] -f file"
    )
    stop_on_error = True

    def line(self, name: str, value: object, eflag: bool = False) -> str:
        return f"{name}={value}" if eflag else f"{name} = {value}"

    def parse_int(self, name: str, value: str) -> int:
        # strtouq(value, &t, 0) then truncation to int: "-240" wraps back to -240.
        try:
            n = c_strtol(value)
        except ValueError:
            raise BadNumber(f"{value}: not a number") from None
        if not INT_MIN <= n <= 2**32 - 1:
            raise BadNumber(f"{value}: Result too large")
        return n - 2**32 if n > INT_MAX else n

    def unknown(self, name: str, index: int, part: str, past_leaf: bool) -> str:
        return f"{_level(index)} level name '{part}' in '{name}' is invalid"

    def struct_read(self, name: str) -> str | None:
        return f"{name}: this type is unknown to this program"

    def struct_write(self, name: str) -> str:
        return f"{name}: this type is unknown to this program"

    def at_line(self, msg: str, fname: str | None, lineno: int) -> str:
        return f"{fname}#{lineno}: {msg}" if fname else msg


DIALECTS: dict[str, Dialect] = {d.name: d for d in (OpenBSD(), FreeBSD(), NetBSD())}
