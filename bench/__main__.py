"""Run every benchmark module and print its figures (no pass/fail: targets are shown)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path

Figure = tuple[str, float, str, str]


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
        for name, value, unit, target in figures:
            print(f"  {name:<66} {value:>14,.3f} {unit:<8} {target}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
