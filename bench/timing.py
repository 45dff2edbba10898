"""Median wall time of whole commands, interleaved so machine drift hits each alike.

Also runnable inside a namespace host: `python -m bench.timing RUNS JSON` reads
{"name": [[argv...], ...]} (variants cycled per run) and prints {"name": median_s};
`python -m bench.timing --each FILE` runs the JSON list of argvs in FILE once each, in
order, and prints the list of their wall times."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python3() -> str:
    """The real interpreter behind the venv: `python3` on PATH may be a slow pyenv shim."""
    return os.path.join(sys.base_prefix, "bin", "python3")


def venv_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def baselines() -> dict[str, list[list[str]]]:
    return {"python3": [[python3(), "-c", "pass"]], "venv": [[venv_python(), "-c", "pass"]]}


def _once(argv: list[str], env: dict[str, str] | None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.decode()}")
    return elapsed


def median_times(
    commands: dict[str, list[list[str]]],
    runs: int,
    envs: dict[str, dict[str, str]] | None = None,
) -> dict[str, float]:
    """Median seconds per named command; run i of a command uses variant i % len."""
    times: dict[str, list[float]] = {k: [] for k in commands}
    for i in range(runs):
        for name, variants in commands.items():
            env = (envs or {}).get(name)
            times[name].append(_once(variants[i % len(variants)], env))
    return {k: statistics.median(v) for k, v in times.items()}


def each_time(argvs: list[list[str]]) -> list[float]:
    """Seconds of each command, run once each in order (a configuration being built)."""
    return [_once(argv, None) for argv in argvs]


if __name__ == "__main__":
    if sys.argv[1] == "--each":
        print(json.dumps(each_time(json.loads(Path(sys.argv[2]).read_text()))))
    else:
        print(json.dumps(median_times(json.loads(sys.argv[2]), int(sys.argv[1]))))
