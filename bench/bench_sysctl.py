"""Start-up cost of the sysctl read path: `bin/sysctl net.inet.carp.preempt`.

Median wall time over RUNS subprocess runs, as a ratio to `python3 -c pass` measured in
the same loop (runs interleaved so drift hits every command alike).  Two baselines:
`python3` = the real interpreter this venv is built on (`python3` on PATH may be a
pyenv shell shim costing 100+ ms, which would flatter the ratio), and the checkout's
own `.venv/bin/python -c pass` (the stricter one: same site-packages start-up).
Store cases: a fresh temporary CARP_RUNDIR (no store file yet) and an existing store.
Byte-code is compiled first, as an installed package would have it.
"""

from __future__ import annotations

import compileall
import os
import subprocess
import tempfile
from pathlib import Path

from bench import timing

Figure = tuple[str, float, str, str]
ROOT = Path(__file__).resolve().parents[1]
RUNS = 30
NAME = "net.inet.carp.preempt"


def run() -> list[Figure]:
    for pkg in ("sysctl", "carp"):
        compileall.compile_dir(str(ROOT / pkg), quiet=1)
    sysctl = str(ROOT / "bin" / "sysctl")
    python3 = timing.python3()
    with tempfile.TemporaryDirectory() as fresh, tempfile.TemporaryDirectory() as used:
        env = dict(os.environ)
        env.pop("CARP_PERSONALITY", None)
        fresh_env = dict(env, CARP_RUNDIR=fresh)
        used_env = dict(env, CARP_RUNDIR=used)
        first = subprocess.run([sysctl, f"{NAME}=0"], env=used_env, capture_output=True,
                               text=True, check=False)
        if first.returncode != 0:
            raise RuntimeError(f"sysctl write failed: {first.stderr}")
        check = subprocess.run([sysctl, NAME], env=fresh_env, capture_output=True, text=True,
                               check=False)
        if check.stdout != f"{NAME}=0\n":
            raise RuntimeError(f"unexpected sysctl output {check.stdout!r} {check.stderr!r}")
        cmds = {**timing.baselines(), "fresh": [[sysctl, NAME]], "used": [[sysctl, NAME]]}
        envs = {"python3": env, "venv": env, "fresh": fresh_env, "used": used_env}
        med = timing.median_times(cmds, RUNS, envs)
    return [
        ("sysctl read, no store / python3 -c pass", med["fresh"] / med["python3"], "x", "<= 3x"),
        ("sysctl read, store / python3 -c pass", med["used"] / med["python3"], "x", "<= 3x"),
        ("sysctl read, no store / .venv python -c pass", med["fresh"] / med["venv"], "x",
         "<= 3x"),
        ("sysctl read, store / .venv python -c pass", med["used"] / med["venv"], "x", "<= 3x"),
        (f"bin/sysctl {NAME} (no store)", med["fresh"] * 1000, "ms", "median"),
        (f"bin/sysctl {NAME} (store)", med["used"] * 1000, "ms", "median"),
        (f"{python3} -c pass", med["python3"] * 1000, "ms", "baseline"),
        (".venv/bin/python -c pass", med["venv"] * 1000, "ms", "baseline"),
    ]
