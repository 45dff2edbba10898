"""Every benchmark `make bench` runs imports: bench/__main__.py reports a broken module
and goes on, so a helper moved elsewhere would only show in a run nobody checks."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
MODULES = sorted(m.name for m in pkgutil.iter_modules([str(BENCH)]) if m.name.startswith("bench_"))


def test_the_benchmarks_are_found() -> None:
    assert "bench_balance" in MODULES and "bench_carpd" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_each_benchmark_imports_and_has_run(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(module.run)
