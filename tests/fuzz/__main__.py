"""`make fuzz`: run the mutation fuzzer over carpd's receive path and report.

    .venv/bin/python -m tests.fuzz [--inputs N] [--seed S] [--crash-dir DIR]

Deterministic from the seed: the same seed replays the same inputs against the same
targets.  Every crash and invariant violation is written to DIR (one .bin file, the
input, and one .txt file, what went wrong); the exit status is 1 if there was any.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tests.fuzz.run import fuzz


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz")
    ap.add_argument("--inputs", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--crash-dir", default="fuzz-crashes")
    args = ap.parse_args(argv)
    start_cpu, start = time.process_time(), time.perf_counter()
    result = fuzz(args.inputs, args.seed, progress=sys.stderr)
    cpu, wall = time.process_time() - start_cpu, time.perf_counter() - start
    print(f"fuzz: seed {args.seed}: {result.inputs:,} inputs in {wall:.1f} s "
          f"({result.inputs / wall:,.0f} inputs/s; {result.inputs / cpu:,.0f} per CPU s)")
    print(f"fuzz: {result.crashes} crashes, {result.violations} invariant violations")
    width = max(map(len, result.outcomes), default=0)
    for outcome, n in sorted(result.outcomes.items()):
        print(f"  {outcome:<{width}} {n:>10,}")
    if result.failures:
        out = Path(args.crash_dir)
        out.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(result.failures):
            stem = out / f"{args.seed}-{i:04d}-{f.kind}"
            stem.with_suffix(".bin").write_bytes(f.data)
            stem.with_suffix(".txt").write_text(f"{f.target}\n{f.data.hex()}\n{f.detail}\n")
        print(f"fuzz: {len(result.failures)} failing inputs written to {out}/")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
