"""json.loads / json.dumps for the store, through json's own C accelerator (`_json`).

`import json` costs 10-15 ms at every start of ifconfig and sysctl: json.decoder and
json.encoder import re, and with it enum, functools and collections.  The C scanner
and encoder that json itself runs do not need any of that, so this module drives them
directly with json's default settings: the values read and the text written are
json's own.  Whatever the fast path does not take (text that is not valid JSON, a
value json cannot encode) goes to json itself, so errors and their messages are
json's too.
"""

from __future__ import annotations

from carp.cmodules import json_c as _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _Defaults:
    """What the C scanner reads from its json.JSONDecoder: the defaults of json.loads."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {
        "-Infinity": float("-inf"),
        "Infinity": float("inf"),
        "NaN": float("nan"),
    }.__getitem__


# duck-typed context; None without the C module: then json does all the work
_scan_once = _json.make_scanner(_Defaults()) if _json else None  # type: ignore[arg-type]
_WHITESPACE = " \t\n\r"  # json's WHITESPACE pattern
_SLOW = object()


def loads(data: str | bytes) -> Any:
    """json.loads(data)."""
    value = _fast_loads(data)
    if value is _SLOW:
        import json  # json's own result, or its own error

        return json.loads(data)
    return value


def _fast_loads(data: str | bytes) -> Any:
    """What json.loads returns for valid JSON, else _SLOW."""
    if _scan_once is None:
        return _SLOW
    if isinstance(data, bytes):
        # json guesses UTF-16/32 from NULs and BOMs; '{' and a non-NUL is UTF-8.
        if data[:1] != b"{" or data[1:2] == b"\0":
            return _SLOW
        try:
            data = data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return _SLOW
    start = len(data) - len(data.lstrip(_WHITESPACE))
    try:
        value, end = _scan_once(data, start)
    except (ValueError, StopIteration):
        return _SLOW
    return _SLOW if data[end:].strip(_WHITESPACE) else value


def _default(value: object) -> Any:
    import json

    return json.JSONEncoder().default(value)  # raises json's own TypeError


def dumps(
    value: Any, *, sort_keys: bool = False, separators: tuple[str, str] = (", ", ": ")
) -> str:
    """json.dumps(value, sort_keys=..., separators=...) with json's other defaults."""
    item_separator, key_separator = separators
    if _json is None:
        import json

        return json.dumps(value, sort_keys=sort_keys, separators=separators)
    encode = _json.make_encoder(
        {},  # markers: check_circular
        _default,
        _json.encode_basestring_ascii,  # ensure_ascii
        None,  # indent
        key_separator,
        item_separator,
        sort_keys,
        False,  # skipkeys
        True,  # allow_nan
    )
    return "".join(encode(value, 0))
