"""carpd on two real hosts (network namespaces joined by a veth pair).

A (advskew 0) becomes MASTER and holds 192.168.1.1 on its macvlan with the virtual MAC;
B (advskew 100) stays BACKUP without the address.  `kill -9` of A's carpd: A's watchdog
withdraws the address at once and B takes over.  A restarts as BACKUP.  SIGTERM of B:
its bow-out hands the address back to A at once, and B exits leaving nothing behind.
Everything stays inside the namespaces this test creates and always deletes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from carp.lab import netns
from carp.store import Store

pytestmark = pytest.mark.netns

ROOT = Path(__file__).resolve().parents[2]
CARPD = ROOT / "bin" / "carpd"
VIP = "192.168.1.1"
VMAC = "00:00:5e:00:01:01"

WRITE_STORE = """
import sys
from carp.config import Address, CarpInterface, Node
from carp.store import Store
with Store().transaction() as st:
    st.interfaces["carp0"] = CarpInterface(
        name="carp0", carpdev=sys.argv[1], nodes=[Node(1, int(sys.argv[2]))],
        addresses=[Address("192.168.1.1", 24)], up=True, passphrase="smoke",
    )
"""

ARP_PROBE = r"""
import socket, struct, sys, time
dev, src, target = sys.argv[1], socket.inet_aton(sys.argv[2]), socket.inet_aton(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
s.bind((dev, 0x0806))
mac = s.getsockname()[4]
arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + src + bytes(6) + target
s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)
s.settimeout(0.1)
end, replies = time.monotonic() + 0.5, []
while time.monotonic() < end:
    try:
        f = s.recv(128)
    except socket.timeout:
        continue
    if f[20:22] == b"\x00\x02" and f[28:32] == target:  # a reply for the target
        replies.append(f[22:28].hex(":"))
print(" ".join(replies))
"""

HOOK = """#!/bin/sh
echo "$1 $2 $CARP_VHID $CARP_INTERFACE" >> "$(dirname "$0")/../hook.log"
"""


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=20)


def wait_for(what: str, cond: Callable[[], Any], timeout: float) -> float:
    """Poll until cond() is truthy; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if cond():
            return time.monotonic() - start
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class Host:
    ns: str
    dev: str
    rundir: Path
    proc: subprocess.Popen[bytes] | None = None
    watchdogs: list[int] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return Store(self.rundir)

    def state(self) -> str | None:
        status = self.store.read_status()
        if not status:
            return None
        return status.get("vhosts", {}).get("carp0", {}).get("1", {}).get("state")

    def addresses(self, ifname: str = "carp0") -> list[str]:
        out = run("ip", "-j", "-n", self.ns, "addr", "show", "dev", ifname, check=False)
        if out.returncode:
            return []
        return [a["local"] for link in json.loads(out.stdout) for a in link["addr_info"]]

    def link(self, ifname: str = "carp0") -> dict[str, Any] | None:
        out = run("ip", "-j", "-n", self.ns, "link", "show", "dev", ifname, check=False)
        return json.loads(out.stdout)[0] if out.returncode == 0 else None

    def arp_replies(self, src: str, target: str = VIP) -> list[str]:
        """Who answers an ARP request for `target` on this host's LAN (sender MACs)."""
        out = run("ip", "netns", "exec", self.ns, sys.executable, "-c", ARP_PROBE,
                  self.dev, src, target)
        return out.stdout.split()

    def log(self) -> str:
        path = self.rundir / "carpd.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Host, Host]]:
    tag = f"smk{os.getpid()}"
    a = Host(f"{tag}a", "veth0", tmp_path / "a")
    b = Host(f"{tag}b", "veth0", tmp_path / "b")
    hosts = (a, b)
    try:
        for h in hosts:
            run("ip", "netns", "add", h.ns)
            run("ip", "-n", h.ns, "link", "set", "lo", "up")
        run("ip", "-n", a.ns, "link", "add", a.dev, "type", "veth",
            "peer", "name", b.dev, "netns", b.ns)
        for i, (h, skew) in enumerate(((a, 0), (b, 100)), start=11):
            run("ip", "-n", h.ns, "addr", "add", f"192.168.1.{i}/24", "dev", h.dev)
            run("ip", "-n", h.ns, "link", "set", h.dev, "up")
            h.rundir.mkdir()
            (h.rundir / "hooks.d").mkdir()
            hook = h.rundir / "hooks.d" / "10-record"
            hook.write_text(HOOK)
            hook.chmod(0o755)
            env = ("env", f"CARP_RUNDIR={h.rundir}", f"PYTHONPATH={ROOT}")
            run("ip", "netns", "exec", h.ns, *env, sys.executable, "-c", WRITE_STORE,
                h.dev, str(skew))
        yield a, b
    finally:
        for h in hosts:
            if h.proc is not None:
                netns.stop(h.proc, timeout=10)
            for pid in h.watchdogs:  # ours: forked by the carpd we started
                _wait_gone(pid, 5.0)
            print(f"----- carpd log of {h.ns}\n{h.log()}")
        for h in hosts:
            run("ip", "netns", "del", h.ns, check=False)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def start(h: Host) -> None:
    log = open(h.rundir / "carpd.log", "wb")  # noqa: SIM115 - lives as long as carpd
    h.proc = subprocess.Popen(
        ["ip", "netns", "exec", h.ns, "env", f"CARP_RUNDIR={h.rundir}",
         str(CARPD), "-d", "-H", str(h.rundir / "hooks.d")],
        stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    pid = h.proc.pid  # `ip netns exec`, env and the launcher all exec: this is carpd
    wait_for(f"carpd in {h.ns} to publish status", lambda: h.store.read_status(), 15)
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    h.watchdogs += [int(c) for c in children]
    assert h.store.read_status()["pid"] == pid  # type: ignore[index]


def test_master_backup_kill9_takeover_and_clean_stop(pair: tuple[Host, Host]) -> None:
    a, b = pair
    start(a)
    start(b)
    wait_for("A MASTER", lambda: a.state() == "MASTER", 15)
    wait_for("B BACKUP", lambda: b.state() == "BACKUP", 5)
    time.sleep(1.5)  # a few advertisements: B must stay BACKUP
    assert (a.state(), b.state()) == ("MASTER", "BACKUP")

    # The master's macvlan holds the address with the virtual MAC; the backup's does not.
    wait_for("VIP on A", lambda: VIP in a.addresses(), 5)
    link_a = a.link()
    assert link_a is not None and link_a["address"] == VMAC and "UP" in link_a["flags"]
    link_b = b.link()
    assert link_b is not None and link_b["address"] == VMAC
    assert VIP not in b.addresses()
    assert VIP not in a.addresses(a.dev) and VIP not in b.addresses(b.dev)
    for h in (a, b):  # ARP flux prevention on the carpdev
        conf = run("ip", "netns", "exec", h.ns, "cat",
                   f"/proc/sys/net/ipv4/conf/{h.dev}/arp_ignore").stdout
        assert conf.strip() == "1"
    # Only the MASTER answers ARP for the virtual address, with the virtual MAC (no flux).
    assert b.arp_replies("192.168.1.12") == [VMAC]
    status_a = a.store.read_status()
    assert status_a is not None and status_a["counters"]["opackets"] >= 1
    assert (a.rundir / "hook.log").read_text().splitlines()[-1] == "1@carp0 MASTER 1 carp0"

    # kill -9: the watchdog removes the dead carpd's macvlan (and address) at once.
    assert a.proc is not None
    killed = time.monotonic()
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(5)
    wait_for("A's address to vanish", lambda: VIP not in a.addresses(), 3)
    print(f"address withdrawn {(time.monotonic() - killed) * 1000:.0f} ms after kill -9")
    wait_for("A's macvlan to vanish", lambda: a.link() is None, 3)
    wait_for("B MASTER", lambda: b.state() == "MASTER", 10)
    wait_for("VIP on B", lambda: VIP in b.addresses(), 3)
    print(f"B MASTER with the address {time.monotonic() - killed:.2f} s after kill -9")
    assert a.arp_replies("192.168.1.11") == [VMAC]  # answered by B now; A stays silent
    for pid in a.watchdogs:
        _wait_gone(pid, 3)
        assert not _alive(pid)

    # Restart: A resumes through INIT -> BACKUP (B is MASTER now) with one fresh macvlan.
    start(a)
    wait_for("restarted A BACKUP", lambda: a.state() == "BACKUP", 10)
    wait_for("A's macvlan", lambda: a.link() is not None, 3)
    time.sleep(1.5)
    assert (a.state(), b.state()) == ("BACKUP", "MASTER")
    assert VIP not in a.addresses()

    # SIGTERM: bow-out, addresses withdrawn, interfaces removed, status gone, exit 0.
    assert b.proc is not None
    stopped = time.monotonic()
    b.proc.send_signal(signal.SIGTERM)
    assert b.proc.wait(10) == 0
    # The bow-out (advbase/advskew 255) makes A take over at once, not after master-down.
    wait_for("A MASTER after B's bow-out", lambda: a.state() == "MASTER", 2.5)
    print(f"A MASTER {(time.monotonic() - stopped) * 1000:.0f} ms after SIGTERM of B")
    assert b.link() is None
    assert b.store.read_status() is None and not b.store.status_path.exists()
    for pid in b.watchdogs:
        _wait_gone(pid, 3)
        assert not _alive(pid)
    hook_b = (b.rundir / "hook.log").read_text().splitlines()
    assert hook_b[-2:] == ["1@carp0 MASTER 1 carp0", "1@carp0 INIT 1 carp0"]
