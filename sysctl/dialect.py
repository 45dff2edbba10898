"""How sysctl(8) prints, parses numbers and fails, in the personality's words.

Reference: docs/userland.md §3, and the NetBSD/FreeBSD/OpenBSD sysctl.c sources.
The texts and choices are the personality's (carp.personality, "sysctl_*"); this
module fills them in.  Each message is returned as text; the caller decides where it
goes and what it costs.
"""

from __future__ import annotations

from carp.mib import INT_MAX, INT_MIN

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from carp.personality import Policy

LEVELS = ("top", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
          "ninth", "tenth", "eleventh", "twelfth")
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


# -- the number parsers a sysctl(8) may use, by the C function it calls ---------------


def _strtonum(name: str, value: str) -> int:
    """strtonum(value, INT_MIN, INT_MAX): decimal only (OpenBSD)."""
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


def _strtol(name: str, value: str) -> int:
    """strtol(value, &end, 0) into an int (FreeBSD)."""
    try:
        n = c_strtol(value)
    except ValueError:
        n = None
    if n is None or not INT_MIN <= n <= INT_MAX:
        raise BadNumber(f"invalid integer '{value}'")
    return n


def _strtouq(name: str, value: str) -> int:
    """strtouq(value, &t, 0) then truncation to int: "-240" wraps back to -240 (NetBSD)."""
    try:
        n = c_strtol(value)
    except ValueError:
        raise BadNumber(f"{value}: not a number") from None
    if not INT_MIN <= n <= 2**32 - 1:
        raise BadNumber(f"{value}: Result too large")
    return n - 2**32 if n > INT_MAX else n


NUMBER_PARSERS: dict[str, Callable[[str, str], int]] = {
    "strtonum": _strtonum,
    "strtol": _strtol,
    "strtouq": _strtouq,
}


class Dialect:
    """One personality's sysctl(8): its output lines and messages."""

    __slots__ = ("pol",)

    def __init__(self, pol: Policy) -> None:
        self.pol = pol

    # -- output ---------------------------------------------------------------------

    def line(self, name: str, value: object, eflag: bool = False) -> str:
        return f"{name}{'=' if eflag else self.pol.sysctl_separator}{value}"

    def echo(self, name: str, old: object, new: object, nflag: bool) -> str:
        if not nflag:
            return f"{name}: {old} -> {new}"
        return f"{old} -> {new}" if self.pol.sysctl_n_echo_shows_old else f"{new}"

    def describe(self, name: str, descr: str) -> str:
        return f"{name}: {descr or self.pol.sysctl_no_description}"

    # -- numbers --------------------------------------------------------------------

    def parse_int(self, name: str, value: str) -> int:
        return NUMBER_PARSERS[self.pol.sysctl_numbers](name, value)

    # -- errors (without the "sysctl: " prefix) -------------------------------------

    def unknown(self, name: str, index: int, part: str, past_leaf: bool) -> str:
        text = (past_leaf and self.pol.sysctl_unknown_past_leaf) or self.pol.sysctl_unknown
        return text.format(name=name, part=part, level=_level(index))

    def read_only(self, name: str) -> str:
        return self.pol.sysctl_read_only.format(name=name)

    def not_leaf(self, name: str) -> str:
        return self.pol.sysctl_not_leaf.format(name=name)

    def struct_read(self, name: str) -> str | None:
        """The message for reading the stats struct (None: print nothing)."""
        text = self.pol.sysctl_struct_read
        return None if text is None else text.format(name=name)

    def struct_write(self, name: str) -> str:
        return self.pol.sysctl_struct_write.format(name=name)

    def kernel_error(self, name: str, value: str, reason: str) -> str:
        """The kernel refused the write (EINVAL for a range, EPERM ...)."""
        return self.pol.sysctl_kernel_error.format(name=name, value=value, reason=reason)

    def range_prefix(self, name: str, old: object) -> str | None:
        """What stdout shows before a refused write (FreeBSD prints the old value)."""
        text = self.pol.sysctl_refusal_shows
        return None if text is None else text.format(name=name, old=old)

    def at_line(self, msg: str, fname: str | None, lineno: int) -> str:
        if not fname:
            return msg
        return self.pol.sysctl_file_error.format(msg=msg, fname=fname, lineno=lineno)
