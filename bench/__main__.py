"""Run every benchmark module and print its figures (no pass/fail: targets are shown),
one table per module (tabulate), printed as soon as that module has run."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

from tabulate import tabulate

Figure = tuple[str, float, str, str]
HEADERS = ("figure", "value", "unit", "target")


def report(figures: list[Figure]) -> str:
    """One module's figures as a table, values aligned on the decimal point."""
    rows = [(name, f"{value:,.3f}", unit, target) for name, value, unit, target in figures]
    return tabulate(rows, headers=HEADERS, tablefmt="simple",
                    colalign=("left", "right", "left", "left"), disable_numparse=True)


def main(argv: list[str]) -> int:
    wanted = set(argv)
    here = Path(__file__).parent
    status = 0
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if not info.name.startswith("bench_") or (wanted and info.name not in wanted):
            continue
        print(f"== {info.name}", flush=True)
        try:
            figures: list[Figure] = importlib.import_module(f"bench.{info.name}").run()
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            status = 1
            continue
        print(report(figures), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
