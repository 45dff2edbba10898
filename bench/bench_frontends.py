"""Front-end start-up cost on a real namespace host with carpd running.

Median wall time of `ifconfig carp0`, `ifconfig -a` with 32 carp interfaces,
`ifconfig carp0 advskew 50` (the write returns once carpd acknowledged the new
generation) and `sysctl net.inet.carp.preempt`, each as a ratio to `python3 -c pass`
timed in the same interleaved loop inside the host's namespace.  `python3` is the real
interpreter behind the venv (a pyenv shim on PATH would flatter the ratios); the ratio to
`.venv/bin/python -c pass` (same site-packages start-up) is shown too.
"""

from __future__ import annotations

import compileall
import json

from bench import timing
from carp.lab import Lab
from carp.lab.netns import BIN
from carp.lab.scenario import configure_carp

Figure = tuple[str, float, str, str]
RUNS = 30
INTERFACES = 32
TARGETS = {"show": "<= 4x", "show_all": "<= 4x", "write": "<= 6x", "sysctl": "<= 3x"}
LABELS = {
    "show": "ifconfig carp0",
    "show_all": f"ifconfig -a ({INTERFACES} carp interfaces)",
    "write": "ifconfig carp0 advskew 50 (carpd acknowledged)",
    "sysctl": "sysctl net.inet.carp.preempt",
}


def run() -> list[Figure]:
    for pkg in ("carp", "sysctl"):
        compileall.compile_dir(str(timing.ROOT / pkg), quiet=1)
    ifconfig, sysctl = str(BIN / "ifconfig"), str(BIN / "sysctl")
    commands = {
        **timing.baselines(),
        "show": [[ifconfig, "carp0"]],
        "show_all": [[ifconfig, "-a"]],
        # alternate values so every write is a real change carpd must apply
        "write": [[ifconfig, "carp0", "advskew", "50"], [ifconfig, "carp0", "advskew", "0"]],
        "sysctl": [[sysctl, "net.inet.carp.preempt"]],
    }
    with Lab(hosts=1, lans=1) as lab:
        host = lab.hosts[0]
        host.start_carpd()
        for i in range(INTERFACES):
            configure_carp(host, f"carp{i}", vhid=i + 1, vip=f"192.168.1.{10 + i}/24")
        out = host.run(
            [timing.venv_python(), "-m", "bench.timing", str(RUNS), json.dumps(commands)],
            timeout=600,
        )
        med: dict[str, float] = json.loads(out.stdout)
    figures: list[Figure] = []
    for key, label in LABELS.items():
        figures.append((f"{label} / python3 -c pass", med[key] / med["python3"], "x",
                        TARGETS[key]))
        figures.append((f"{label} / .venv python -c pass", med[key] / med["venv"], "x", ""))
    for key, label in LABELS.items():
        figures.append((label, med[key] * 1000, "ms", "median"))
    figures.append(("python3 -c pass", med["python3"] * 1000, "ms", "baseline"))
    figures.append((".venv/bin/python -c pass", med["venv"] * 1000, "ms", "baseline"))
    return figures
