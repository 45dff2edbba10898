"""The passphrase is root's, on a real host (a lab namespace running carpd).

With carpd MASTER and a hook run: the key is in no file but the 0600 keys file -- not
store.json, status.json, carpd's log, the hook's arguments and environment, carpd's
command line or environment.  As nobody, `ifconfig` shows what root sees, except
nothing that is the key, `netstat -s -p carp` works, the keys file cannot be read, and
every write fails with BSD's `Operation not permitted` and changes neither the store nor
carpd; carpd's control socket refuses nobody even when its file is made 0666.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from carp.lab import Host, netns
from carp.lab.scenario import PASS, configure_carp, vhid_states, wait_until
from carp.store import KEYS_PREFIX
from tests.netns.lab_fixtures import open_lab
from tests.unprivileged import NOBODY_ARGV, nobody_env, nobody_python

pytestmark = pytest.mark.netns

HOOK = """#!/bin/sh
{{ echo "argv: $0 $*"; env; }} >> "{out}"
"""

ASK = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.recv(4096).decode(), end="")
"""


@pytest.fixture
def host() -> Iterator[Host]:
    with open_lab(hosts=1, lans=1, personality="openbsd") as lab:
        yield lab.hosts[0]


def as_nobody(host: Host, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """A program run by nobody inside the host."""
    env = nobody_env(netns.child_env({"CARP_PERSONALITY": "openbsd"}))
    return netns.run(netns.exec_argv(host.ns, [*NOBODY_ARGV, *argv]), check=False, env=env)


def front_end(name: str) -> str:
    return str(netns.BIN / name)


def store_files(host: Host) -> dict[str, bytes]:
    """The configuration: store.json, its keys file, the lock (status.json is carpd's)."""
    return {p.name: p.read_bytes() for p in sorted(host.rundir.iterdir())
            if p.name.startswith(("store.", KEYS_PREFIX))}


def test_only_root_has_the_key(host: Host) -> None:
    hooks, out = host.lab.tmp / "hooks.d", host.lab.tmp / "hook.out"
    hooks.mkdir()
    (hooks / "10-record").write_text(HOOK.format(out=out))
    (hooks / "10-record").chmod(0o755)
    configure_carp(host)
    host.start_carpd("-H", str(hooks))
    assert wait_until(lambda: vhid_states(host).get(1) == "MASTER", 15), host.log()
    assert wait_until(lambda: "MASTER" in (out.read_text() if out.exists() else ""), 10)

    # the key is in the keys file alone, and that is root's
    [keys] = [p for p in host.rundir.iterdir() if p.name.startswith(KEYS_PREFIX)]
    assert PASS.encode() in keys.read_bytes() and keys.stat().st_mode & 0o077 == 0
    pid = host.carpd_pid
    places = {
        "store.json": (host.rundir / "store.json").read_bytes(),
        "status.json": (host.rundir / "status.json").read_bytes(),
        "carpd log": host.log().encode(),
        "hook argv and environment": out.read_bytes(),
        "carpd cmdline": Path(f"/proc/{pid}/cmdline").read_bytes(),
        "carpd environ": Path(f"/proc/{pid}/environ").read_bytes(),
    }
    assert [where for where, data in places.items() if PASS.encode() in data] == []

    # nobody reads everything but the key
    root_view = host.ifconfig("carp0").stdout
    shown = as_nobody(host, [front_end("ifconfig"), "carp0"])
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, root_view, "")
    assert "carp: MASTER carpdev em0 vhid 1" in shown.stdout
    stats = as_nobody(host, [front_end("netstat"), "-s", "-p", "carp"])
    assert stats.returncode == 0 and stats.stdout.startswith("carp:\n"), stats.stderr
    peek = as_nobody(host, ["cat", str(keys)])
    assert peek.returncode == 1 and "Permission denied" in peek.stderr

    # and changes nothing
    before, applied = store_files(host), (host.status() or {}).get("applied_generation")
    refused = {
        ("ifconfig", "carp0", "advskew", "200"): "ifconfig: carp0: SIOCSVH: ",
        ("ifconfig", "carp0", "pass", "forged"): "ifconfig: carp0: SIOCSVH: ",
        ("ifconfig", "carp0", "down"): "ifconfig: SIOCSIFFLAGS: ",
        ("ifconfig", "carp0", "destroy"): "ifconfig: carp0: SIOCIFDESTROY: ",
        ("ifconfig", "carp1", "create"): "ifconfig: carp1: SIOCIFCREATE: ",
        ("ifconfig", "-g", "carp", "carpdemote", "50"): "ifconfig: SIOCSIFGATTR: ",
        ("sysctl", "net.inet.carp.preempt=1"): "sysctl: net.inet.carp.preempt: ",
    }
    for (prog, *args), text in refused.items():
        proc = as_nobody(host, [front_end(prog), *args])
        code = 0 if prog == "sysctl" else 1  # OpenBSD's sysctl exits 0 after a warning
        assert (proc.returncode, proc.stderr) == (code, text + "Operation not permitted\n")
    # carpd's socket, even made 0666, serves nobody: no reload, no counters
    sock = host.rundir / "carpd.sock"
    sock.chmod(0o666)
    python = nobody_python(netns.child_env())
    for request in ("sync 1000", "counters"):
        proc = as_nobody(host, [python, "-c", ASK, str(sock), request])
        assert proc.stdout == "error Operation not permitted\n", proc.stderr
    assert store_files(host) == before
    assert (host.status() or {}).get("applied_generation") == applied
    assert vhid_states(host) == {1: "MASTER"}
    assert "advskew 0" in host.ifconfig("carp0").stdout


def test_freebsd_shows_the_key_to_root_alone() -> None:
    with open_lab(hosts=1, lans=1, personality="freebsd") as lab:
        host = lab.hosts[0]
        host.ifconfig("em0", "vhid", "1", "pass", PASS, "192.168.1.1/24")
        root = host.ifconfig("-k", "em0").stdout
        assert f'key "{PASS}"' in root
        env = nobody_env(netns.child_env({"CARP_PERSONALITY": "freebsd"}))
        argv = netns.exec_argv(host.ns, [*NOBODY_ARGV, front_end("ifconfig"), "-k", "em0"])
        user = netns.run(argv, env=env)
        assert user.stdout == root.replace(f' key "{PASS}"', "")
