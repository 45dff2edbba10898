"""Random ifconfig commands, run in-process one after the other inside a lab host:

    ip netns exec NS python -m tests.netns.crash_driver SEED COUNT

Each command goes through the real front end (carp.ifconfig.cli.run: parse, validate,
one locked commit, notify carpd and wait for it when it runs).  One JSON line per
command: its argv, its exit status and, when it succeeded, the store's carp interfaces
as they were right after it (`summary`) -- the last acknowledged store."""

from __future__ import annotations

import io
import json
import random
import sys
from typing import Any

from carp.ifconfig.cli import run
from carp.store import Store

NAMES = [f"carp{i}" for i in range(6)]


def summary(store: Store) -> dict[str, Any]:
    """name -> what carpd must realise of it: carpdev, vhids with advskew, addresses, up."""
    out: dict[str, Any] = {}
    for key, ci in sorted(store.load().interfaces.items()):
        out[key] = {
            "parent": ci.parent,
            "nodes": sorted([n.vhid, n.advskew] for n in ci.nodes),
            "addresses": sorted(f"{a.address}/{a.prefixlen}" for a in ci.addresses),
            "up": ci.up,
        }
    return out


def command(rng: random.Random) -> list[str]:
    name = rng.choice(NAMES)
    vhid = str(rng.randint(1, 12))
    ip = f"192.168.1.{rng.randint(10, 40)}"
    kind = rng.random()
    if kind < 0.14:
        return [name, "create"]
    if kind < 0.24:
        return [name, "destroy"]
    if kind < 0.44:
        return [name, "vhid", vhid, "pass", "crash", "carpdev", "em0", f"{ip}/24"]
    if kind < 0.58:
        return [name, "advskew", str(rng.randint(0, 200))]
    if kind < 0.68:
        return [name, "vhid", vhid]
    if kind < 0.80:
        return [name, "inet", f"{ip}/24", "alias"]
    if kind < 0.88:
        return [name, "inet", ip, "-alias"]
    if kind < 0.94:
        return [name, "down"]
    return [name, "up"]


def main(argv: list[str]) -> int:
    rng = random.Random(int(argv[0]))
    store = Store()
    for _ in range(int(argv[1])):
        args = command(rng)
        rc = run(args, stdout=io.StringIO(), stderr=io.StringIO(), store=store)
        line: dict[str, Any] = {"argv": args, "rc": rc}
        if rc == 0:
            line["summary"] = summary(store)
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
