"""The value parsers match the regular expressions they replace (re costs ifconfig ~8 ms).

Each reference below is the code these functions had when they used re."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from carp.ifconfig import values
from carp.ifconfig.apply_common import is_clone_name

# Signs, digits of several scripts, Unicode and ASCII white space, letters.
CHARS = st.sampled_from("+-0123456789٣߂０١ \t\n\u00a0\u2003\u3000xaF:_.")
WORDS = st.text(CHARS, max_size=8) | st.text(max_size=6)


def _strtonum(text: str, low: int, high: int) -> tuple[int, str | None]:
    m = re.fullmatch(r"\s*([+-]?\d+)", text)
    if m is None:
        return 0, "invalid"
    value = int(m.group(1))
    if value < low:
        return 0, "too small"
    if value > high:
        return 0, "too large"
    return value, None


def _atoi(text: str) -> int:
    m = re.match(r"\s*([+-]?\d+)", text)
    return 0 if m is None else max(min(int(m.group(1)), 2**31 - 1), -(2**31))


def _decimal(text: str, low: int, high: int) -> int | None:
    if re.fullmatch(r"[+-]?\d+", text) is None:
        return None
    value = int(text)
    return value if low <= value <= high else None


def _mac(text: str) -> str | None:
    parts = text.split(":")
    if len(parts) != 6 or not all(re.fullmatch(r"[0-9A-Fa-f]{1,2}", p) for p in parts):
        return None
    return ":".join(f"{int(p, 16):02x}" for p in parts)


@given(WORDS)
@example(" +12")
@example("-0")
@example("+")
@example("٣")
@example("1 ")
@example("\u3000 7x")
def test_integer_parsers_match_the_regular_expressions(text: str) -> None:
    assert values.strtonum(text, 0, 255) == _strtonum(text, 0, 255)
    assert values.strtonum(text, -5, 5) == _strtonum(text, -5, 5)
    assert values.atoi(text) == _atoi(text)
    assert values.decimal(text, 0, 255) == _decimal(text, 0, 255)


@given(st.text(st.sampled_from("0123456789abcdefABCDEFgG:٣ "), max_size=20))
@example("0:1:22:a:bB:cc")
@example("00:11:22:33:44:555")
@example("::::::")
def test_mac_matches_the_regular_expression(text: str) -> None:
    assert values.mac(text) == _mac(text)


@given(st.text(st.sampled_from("carpCARP0123٣ x"), max_size=8))
@example("carp")
@example("carp0")
@example("carp٣")
@example("carp0 ")
@example("carp10")
def test_clone_names_match_the_regular_expression(name: str) -> None:
    assert is_clone_name(name) == (re.fullmatch(r"carp\d+", name) is not None)
