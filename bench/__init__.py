"""`make bench`: every bench/bench_*.py module's `run()` figures, printed as a table.

Each module exposes `run() -> list[Figure]`; a figure is (name, value, unit, target),
target a short text such as ">= 50000" or "" when there is none."""
