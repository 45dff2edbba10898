"""50 writers at once on one host, 1,000 commands in all, while carpd runs.

25 ifconfig writers (FreeBSD personality) each make one vhid on em0 and add 19 addresses
to it; 25 sysctl writers each add 1 to net.inet.carp.demotion 20 times (FreeBSD's
demotion node adds what is written).  Every command must be acknowledged (exit 0), and
each acknowledged one is in the store exactly once: every address once, the demotion
equal to the number of sysctl writes, one generation per command.  Meanwhile a reader
polls the store without the lock and must parse every version it meets (never a torn
file, never a store.json whose keys file is missing), seeing generations only grow;
carpd applies the last one.  The figures are printed (pytest -s) for the README.
"""

from __future__ import annotations

import shlex
import subprocess
import threading
import time

import pytest

from carp.lab import Host, netns
from carp.lab.scenario import wait_until
from carp.store import Store
from tests.netns.lab_fixtures import open_lab

pytestmark = pytest.mark.netns

IFCONFIG_WRITERS = 25
SYSCTL_WRITERS = 25
PER_WRITER = 20  # 50 writers x 20 = 1,000 commands
ADVBASE = 200  # master-down 600 s: every vhid stays BACKUP, carpd adds no address


def ifconfig_commands(w: int) -> list[list[str]]:
    """Writer w's vhid w: made with its first address, then 19 more (10.w.j.1/32)."""
    first = ["em0", "vhid", str(w), "advbase", str(ADVBASE), "pass", f"k{w}", f"10.{w}.0.1/32"]
    rest = [["em0", "vhid", str(w), "alias", f"10.{w}.{j}.1/32"] for j in range(1, PER_WRITER)]
    return [first, *rest]


def script(program: str, commands: list[list[str]]) -> str:
    """sh: run each command, print `<exit status> <index> <stderr on one line>`."""
    lines = ['e=$(mktemp)']
    for i, argv in enumerate(commands):
        lines.append(f'{shlex.join([program, *argv])} >/dev/null 2>"$e"; '
                     f'echo "$? {i} $(tr "\\n" " " < "$e")"')
    lines.append('rm -f "$e"')
    return "\n".join(lines)


class Reader(threading.Thread):
    """Polls the store, as root, without its lock, until stopped."""

    def __init__(self, store: Store) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.stop = threading.Event()
        self.reads = 0
        self.generations: list[int] = []
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                doc = self.store.load_doc(keys=True)
            except Exception as exc:  # a torn file or a missing keys file: the failure
                self.errors.append(repr(exc))
                continue
            self.reads += 1
            time.sleep(0.001)  # a core for the writers: the machine has two
            if doc is not None and (not self.generations
                                    or doc["generation"] != self.generations[-1]):
                self.generations.append(doc["generation"])


def test_fifty_writers_thousand_commands_while_carpd_runs() -> None:
    with open_lab(hosts=1, lans=1, personality="freebsd") as lab:
        host: Host = lab.hosts[0]
        host.start_carpd()
        store = Store(host.rundir)
        start_gen = (store.load_doc() or {"generation": 0})["generation"]
        writers: list[tuple[str, int, list[list[str]]]] = []
        for w in range(1, IFCONFIG_WRITERS + 1):
            writers.append(("ifconfig", w, ifconfig_commands(w)))
        for w in range(1, SYSCTL_WRITERS + 1):
            writers.append(("sysctl", w, [["net.inet.carp.demotion=1"]] * PER_WRITER))
        reader = Reader(store)
        reader.start()
        t0 = time.monotonic()
        procs = [
            subprocess.Popen(
                netns.exec_argv(host.ns, ["sh", "-c", script(str(netns.BIN / prog), cmds)]),
                env=netns.child_env({"CARP_PERSONALITY": "freebsd"}),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )
            for prog, _w, cmds in writers
        ]
        outputs = [p.communicate(timeout=900)[0] for p in procs]
        elapsed = time.monotonic() - t0
        reader.stop.set()
        reader.join(30)

        acked: dict[tuple[str, int], set[int]] = {}
        failed = []
        for (prog, w, _cmds), out in zip(writers, outputs, strict=True):
            for line in out.splitlines():
                code, index, *err = line.split(" ", 2)
                if code == "0":
                    acked.setdefault((prog, w), set()).add(int(index))
                else:
                    failed.append(f"{prog} writer {w} #{index}: exit {code} {err}")
        n_acked = sum(len(v) for v in acked.values())
        assert failed == [] and n_acked == (IFCONFIG_WRITERS + SYSCTL_WRITERS) * PER_WRITER

        state = store.load()
        for w in range(1, IFCONFIG_WRITERS + 1):
            addresses = [a.address for a in state.interfaces[f"em0:{w}"].addresses]
            wanted = [f"10.{w}.{j}.1" for j in sorted(acked[("ifconfig", w)])]
            assert sorted(addresses) == sorted(wanted)  # each acknowledged one, once
            assert state.interfaces[f"em0:{w}"].passphrase == f"k{w}"
        sysctl_acks = sum(len(acked[("sysctl", w)]) for w in range(1, SYSCTL_WRITERS + 1))
        assert state.sysctl["net.inet.carp.demotion"] == sysctl_acks
        assert state.generation == start_gen + n_acked  # one commit per command, no more

        assert reader.errors == []
        assert reader.generations == sorted(reader.generations)
        assert wait_until(lambda: (host.status() or {}).get("applied_generation")
                          == state.generation, 30), host.log()
        assert host.carpd_running
        print(f"\n{n_acked} commands by {len(writers)} writers in {elapsed:.1f} s "
              f"({n_acked / elapsed:.0f}/s); the reader parsed the store {reader.reads} "
              f"times and met {len(reader.generations)} generations, none torn")
