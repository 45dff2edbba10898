"""House rule: no class over ~300 lines, counted from its `class` line to its last,
docstrings and comments included.  A class that grows past it hands a whole concern to a
module of its own (CarpHost: carp.membership, carp.deadlines, carp.host_status,
carp.vhid_factory; VirtualHost: carp.adcounter, carp.masterdown, carp.announce; Store:
carp.control_client; carpd's Daemon: carp.daemon.carpdev_io, carp.daemon.macvlans)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 300
SOURCES = sorted(p for d in ("carp", "sysctl") for p in (ROOT / d).rglob("*.py"))


def long_classes(source: str, limit: int = LIMIT) -> dict[str, int]:
    """Class name -> its length in lines, for every class (nested too) over `limit`."""
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            if size > limit:
                out[node.name] = size
    return out


def test_the_counter_finds_a_long_class() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(LIMIT))
    assert long_classes(f"class Big:\n{body}class Small:\n    pass\n") == {"Big": LIMIT + 1}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_class_is_over_the_limit(path: Path) -> None:
    assert long_classes(path.read_text()) == {}
