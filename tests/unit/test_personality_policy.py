"""Where the BSDs differ, the code asks the personality's policy object: outside
carp/personality/ no code compares a personality's name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from carp.personality import PERSONALITIES, policy

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p for d in ("carp", "sysctl") for p in (ROOT / d).rglob("*.py")
    if "personality" not in p.relative_to(ROOT).parts
)
NAMES = set(PERSONALITIES)


def _names_in(node: ast.AST) -> bool:
    """A personality name as a constant, or inside a literal tuple/list/set."""
    if isinstance(node, ast.Constant):
        return node.value in NAMES
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_in(e) for e in node.elts)
    return False


def name_comparisons(source: str) -> list[int]:
    """Lines that compare with a personality name (==, !=, in, match case)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare) and any(
            _names_in(side) for side in (node.left, *node.comparators)
        ):
            lines.append(node.lineno)
        elif isinstance(node, ast.MatchValue) and _names_in(node.value):
            lines.append(node.lineno)
    return lines


def test_the_scanner_finds_comparisons() -> None:
    src = 'a = p == "openbsd"\nb = p in ("freebsd", "netbsd")\nmatch p:\n    case "netbsd": pass\n'
    assert name_comparisons(src) == [1, 2, 4]
    assert name_comparisons('x = policy("openbsd")\ny = {"openbsd": 1}\n') == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_personality_name_is_compared_outside_carp_personality(path: Path) -> None:
    assert name_comparisons(path.read_text()) == []


@pytest.mark.parametrize("name", PERSONALITIES)
def test_each_personality_has_its_own_policy_module(name: str) -> None:
    pol = policy(name)
    assert pol.name == name
    assert type(pol).__module__ == f"carp.personality.{name}"


def test_an_unknown_personality_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown personality 'solaris'"):
        policy("solaris")
