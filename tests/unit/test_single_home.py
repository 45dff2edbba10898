"""Constants and helpers that several front ends share have one home (no repeated code):
a second definition would drift from the first."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("carp/**/*.py"), *ROOT.glob("sysctl/**/*.py")])


def _assigned(tree: ast.Module) -> set[str]:
    return {t.id for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def _elf_checks(tree: ast.Module) -> int:
    return sum(isinstance(node, ast.Constant) and node.value == b"\x7fELF"
               for node in ast.walk(tree))


@pytest.mark.parametrize(("name", "home"), [("INT_MAX", "carp/mib.py"),
                                            ("INT_MIN", "carp/mib.py")])
def test_int_limits_are_defined_once(name: str, home: str) -> None:
    homes = [str(p.relative_to(ROOT)) for p in SOURCES
             if name in _assigned(ast.parse(p.read_text()))]
    assert homes == [home]


def test_the_system_program_check_is_written_once() -> None:
    """carp.netstat and sysctl.procps both find Linux's own program through carp.sysbin."""
    homes = [str(p.relative_to(ROOT)) for p in SOURCES if _elf_checks(ast.parse(p.read_text()))]
    assert homes == ["carp/sysbin.py"]


def _constant_homes(value: str) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in SOURCES
            if any(isinstance(n, ast.Constant) and n.value == value
                   for n in ast.walk(ast.parse(p.read_text())))]


@pytest.mark.parametrize(("value", "home"), [("224.0.0.18", "carp/config.py"),
                                             ("ff02::12", "carp/config.py"),
                                             ("00:00:5e:00:01:", "carp/mac.py")])
def test_the_multicast_groups_and_the_virtual_mac_prefix_are_written_once(
    value: str, home: str
) -> None:
    assert _constant_homes(value) == [home]
