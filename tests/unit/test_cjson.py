"""carp.cjson: json's own results, text and errors without importing json at start-up."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carp import cjson

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    """Equality that takes NaN as equal to itself."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(VALUES)
def test_dumps_writes_json_text(value: object) -> None:
    assert cjson.dumps(value) == json.dumps(value)
    compact = {"sort_keys": True, "separators": (",", ":")}
    assert cjson.dumps(value, **compact) == json.dumps(value, **compact)  # type: ignore[arg-type]


@given(VALUES, st.sampled_from(["", " ", "\n", " \t\r\n "]))
def test_loads_reads_what_json_reads(value: object, pad: str) -> None:
    text = pad + json.dumps(value) + pad
    assert _same(cjson.loads(text), json.loads(text))
    raw = text.encode()
    assert _same(cjson.loads(raw), json.loads(raw))


def _outcome(fn: object, data: str | bytes) -> object:
    try:
        return ("ok", fn(data))  # type: ignore[operator]
    except Exception as exc:  # the exception is what is compared
        return (type(exc), str(exc))


@pytest.mark.parametrize(
    "data",
    [
        "", "{", "{torn", '{"a":1} x', '{"a":1}{}', "\ufeff{}", '{"a":"\x01"}', "[1,]", "nul",
        b"", b"{", b'{"a":\xff}', b"\xef\xbb\xbf{}", '{"a":1}'.encode("utf-16"),
        '{"a":1}'.encode("utf-16-le"), '{"a":1}'.encode("utf-32"), b"[1]", b" {}",
    ],
)
def test_anything_else_gets_json_own_answer_or_error(data: str | bytes) -> None:
    assert _outcome(cjson.loads, data) == _outcome(json.loads, data)


@given(st.binary(max_size=12) | st.text(max_size=12))
def test_arbitrary_input_gets_json_own_answer_or_error(data: str | bytes) -> None:
    ours, theirs = _outcome(cjson.loads, data), _outcome(json.loads, data)
    assert ours[0] == theirs[0] and _same(ours[1], theirs[1])


def test_values_json_cannot_encode_raise_json_own_error() -> None:
    for value in ({"a": object()}, {(1, 2): 3}):
        with pytest.raises(TypeError) as ours:
            cjson.dumps(value)
        with pytest.raises(TypeError) as theirs:
            json.dumps(value)
        assert str(ours.value) == str(theirs.value)
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        cjson.dumps(loop)
