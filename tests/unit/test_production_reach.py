"""No scaffolding: every public function, class and method of the codec, the balancing
arithmetic and the store is used by something other than the tests (carpd, the front
ends, bench/, the lab and its demo, bin/, the packaging).  Helpers only tests need live
in tests/ (tests/wirekit.py, tests/lsdrop.py).

A use is an identifier in a Python source outside tests/ (a name, an attribute, an
import) or a string constant spelling the name (getattr, policy lookups), or a word of
a non-Python file there (bin/ launchers, setup.cfg entry points, the Makefile).  Names
in comments and docstrings do not count.  Limits: a method counts as used when any
object's attribute of that name is, and a function reached only from another unused
one counts as used."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARDED = ("carp/wire.py", "carp/balance.py", "carp/store.py")
PYTHON_DIRS = ("carp", "sysctl", "bench")
TEXT_FILES = ("bin/*", "setup.cfg", "Makefile", "pkg/**/*", "systemd/**/*")


def public_defs(source: str) -> list[str]:
    """Public top-level functions and classes, and the public methods of those classes."""
    names: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        if isinstance(node, ast.ClassDef):
            names += [m.name for m in node.body
                      if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)]
    return [n for n in names if not n.startswith("_")]


def used_names(py_sources: Iterable[str], texts: Iterable[str]) -> set[str]:
    used: set[str] = set()
    for source in py_sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.alias):
                used.add(node.name.rsplit(".", 1)[-1])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                used.add(node.value)
    for text in texts:
        used.update(re.findall(r"\w+", text))
    return used


def production_names(root: Path) -> set[str]:
    py = [p for d in PYTHON_DIRS for p in sorted((root / d).glob("**/*.py"))]
    text = [p for pattern in TEXT_FILES for p in sorted(root.glob(pattern))
            if p.is_file() and p.suffix != ".py"]
    return used_names((p.read_text() for p in py),
                      (p.read_text(errors="replace") for p in text))


def test_the_reader_tells_a_test_only_function(tmp_path: Path) -> None:
    (tmp_path / "carp").mkdir()
    (tmp_path / "bin").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "carp" / "m.py").write_text(
        "class C:\n    def used(self): pass\n    def spare(self): pass\n    def _own(self): pass\n"
        "def f(): pass\ndef g(): pass\ndef h(): pass\ndef by_name(): pass\n"
        "def only_documented():\n    '''only_documented: named here, used nowhere'''\n"
        "# g is called by the tests\n")
    (tmp_path / "carp" / "n.py").write_text(
        "from carp.m import f\nC().used()\ngetattr(m, 'by_name')\n")
    (tmp_path / "bin" / "tool").write_text("#!/bin/sh\nexec python -c 'import m; m.h()'\n")
    (tmp_path / "tests" / "t.py").write_text("from carp.m import g, spare\n")
    defs = public_defs((tmp_path / "carp" / "m.py").read_text())
    assert defs == ["C", "used", "spare", "f", "g", "h", "by_name", "only_documented"]
    used = production_names(tmp_path)
    assert [d for d in defs if d not in used] == ["spare", "g", "only_documented"]


@pytest.fixture(scope="module")
def used() -> set[str]:
    return production_names(ROOT)


@pytest.mark.parametrize("module", GUARDED)
def test_public_functions_are_used_outside_the_tests(module: str, used: set[str]) -> None:
    spare = [n for n in public_defs((ROOT / module).read_text()) if n not in used]
    assert spare == [], (
        f"{module}: {spare} used by tests only: move them to tests/ or use them")
