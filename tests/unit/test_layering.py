"""The layering the code keeps, read from the sources (ast): the core never imports the
sysctl front end, the lab's modules import each other one way only, value classes are
written one way, and states are compared through carp.states' constants."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("carp/**/*.py"), *ROOT.glob("sysctl/**/*.py")])
STATE_NAMES = {"INIT", "BACKUP", "MASTER"}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
        and node.test.id == "TYPE_CHECKING"


def runtime_imports(source: str, package: str = "") -> set[str]:
    """The modules a source imports when it runs (anywhere, functions included), not
    those imported for the type checker only."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1],
                                 *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def test_the_import_reader() -> None:
    src = ("import a.b\nfrom c import d\nTYPE_CHECKING = False\nif TYPE_CHECKING:\n"
           "    from e import f\ndef g():\n    from h import i\n")
    assert runtime_imports(src) == {"a.b", "c", "c.d", "h", "h.i"}


@pytest.mark.parametrize("path", [p for p in SOURCES if p.parts[len(ROOT.parts)] == "carp"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_never_imports_the_sysctl_front_end(path: Path) -> None:
    imported = runtime_imports(path.read_text(), _module(path))
    assert not [m for m in imported if m == "sysctl" or m.startswith("sysctl.")]


def test_the_lab_modules_import_each_other_one_way() -> None:
    # the package's __init__ gathers them all: `from carp.lab import netns` is netns's
    lab = {_module(p): p for p in ROOT.glob("carp/lab/*.py") if p.name != "__init__.py"}
    graph = {name: {m for m in runtime_imports(p.read_text(), name) if m in lab and m != name}
             for name, p in lab.items()}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph[start] - seen:
            if nxt == goal or reaches(nxt, goal, seen | {nxt}):
                return True
        return False

    assert [m for m in sorted(graph) if reaches(m, m, set())] == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_value_classes_are_dataclasses_or_records(path: Path) -> None:
    """One way to write a value class: @dataclass, or @record where start-up counts."""
    bases = [b for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.ClassDef) for b in node.bases]
    assert [ast.unparse(b) for b in bases if ast.unparse(b).endswith("NamedTuple")] == []


def state_literal_comparisons(source: str) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Compare)
            and any(isinstance(side, ast.Constant) and side.value in STATE_NAMES
                    for side in (node.left, *node.comparators))]


def test_the_state_scanner() -> None:
    assert state_literal_comparisons('a = s == "MASTER"\nb = s == MASTER\n') == [1]


@pytest.mark.parametrize("path", [p for p in SOURCES if p.name != "states.py"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_states_are_compared_through_their_constants(path: Path) -> None:
    assert state_literal_comparisons(path.read_text()) == []
