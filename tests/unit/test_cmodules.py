"""carp.cmodules: the C modules the front ends start with, and their public fallbacks.

Each check runs in a fresh interpreter, once as it is and once with the C modules
hidden (sys.modules[name] = None makes their import fail), and the answers must match."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HIDDEN = ("_sha256", "_json")  # _socket has no fallback: socket.py needs it too

PROBE = """
import json, sys
for name in {hide!r}:
    sys.modules[name] = None
from carp import cmodules, cjson
from carp.ifconfig import render_fmt
from carp.store import Store, _digest

doc = {{"b": [1, 2.5, None, True], "a": "caf\\u00e9", "n": -3}}
text = cjson.dumps(doc, sort_keys=True, separators=(",", ":"))
store = Store(sys.argv[1])
with store.transaction() as state:
    state.sysctl["net.inet.carp.preempt"] = 1
print(json.dumps({{
    "sha256": cmodules.sha256.__module__,
    "json_c": cmodules.json_c is not None,
    "digest": _digest(b"carp"),
    "dumps": text,
    "loads": cjson.loads(text),
    "loads_bad": _error(cjson.loads, "{{x"),
    "bcast": render_fmt.broadcast_of("192.168.1.1", 24),
    "stored": store.load().sysctl["net.inet.carp.preempt"],
}}))
"""


def _run(tmp_path: Path, hide: tuple[str, ...]) -> dict[str, object]:
    code = "def _error(f, *a):\n    try:\n        return f(*a)\n    except Exception as e:\n" \
        "        return type(e).__name__ + str(e)\n" + PROBE.format(hide=hide)
    rundir = tmp_path / ("public" if hide else "c")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARP_")}
    out = subprocess.run([sys.executable, "-c", code, str(rundir)], capture_output=True,
                         text=True, check=True, env=env)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_the_c_modules_and_their_fallbacks_answer_alike(tmp_path: Path) -> None:
    fast, public = _run(tmp_path, ()), _run(tmp_path, HIDDEN)
    assert (fast["json_c"], public["json_c"]) == (True, False)
    assert fast["sha256"] != public["sha256"]  # really two implementations
    same = ("digest", "dumps", "loads", "loads_bad", "bcast", "stored")
    assert {k: fast[k] for k in same} == {k: public[k] for k in same}
    assert str(fast["loads_bad"]).startswith("JSONDecodeError")  # json's own error both ways


@pytest.mark.parametrize("name", ("_socket", *HIDDEN))
def test_each_c_module_is_still_there(name: str) -> None:
    """If CPython drops one, the fallback keeps working but start-up slows: notice it."""
    __import__(name)
