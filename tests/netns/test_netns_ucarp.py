"""carpd and ucarp 1.5.2 in one CARP group, both ways round.

Host A runs carpd (OpenBSD personality) with the carp(4) example; host B runs ucarp on
em0 with the same vhid, passphrase and one IPv4 address (ucarp's HMAC covers exactly
one, peers.md), so each side accepts the other's advertisements only if the header,
checksum, TTL and the kernel HMAC construction agree byte for byte:

- carpd MASTER (advskew 0), ucarp BACKUP (advskew 100): ucarp stays backup and logs no
  rejection; after kill -9 of carpd ucarp takes over, and its first advertisement
  carries carpd's counter + 1 (it copies the counter of a peer whose digest verified).
- ucarp MASTER (advskew 0), carpd BACKUP (advskew 100): carpd counts ucarp's
  advertisements as received, drops none, and stays BACKUP until ucarp is killed.
- The control: a passphrase that differs is refused by both, so the checks above can fail.

ucarp runs inside host B's namespace (`ip netns exec`, which execs in place: the Popen
PID is ucarp's) and is always killed by that PID; the lab removes the rest."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import pytest

from carp.lab import Host, Lab, netns
from carp.lab.capture import Predicate
from carp.lab.scenario import PASS, VMAC1, configure_carp, vhid_states, wait_states, wait_until
from tests.external import carp_records, program, tcpdump
from tests.netns.lab_fixtures import VIP, carp_counters, drops, open_lab

pytestmark = pytest.mark.netns

UCARP_MAC = "00:00:5e:00:00:01"  # ucarp's advertisement source MAC for vhid 1 (peers.md)
# ucarp BACKUP (advbase 1, advskew 100): master-down 3 x advbase + advskew/256, checked
# only when poll() wakes, every advbase + advskew/256 (peers.md: ~850 ms late)
UCARP_MD = 3 + 100 / 256
UCARP_POLL = 1 + 100 / 256
# Long enough for a ucarp BACKUP that heard nothing it accepted to have claimed MASTER.
HOLD = UCARP_MD + UCARP_POLL + 1.0
CARPD_MD = 3 * (1 + 100 / 256)  # OpenBSD: 3 x (advbase + advskew/256), KA-3
# every message ucarp 1.5.2 logs when it drops an advertisement (its strings)
UCARP_REJECTS = re.compile(
    r"Bad TTL|Bad version|Ignoring vhid|Bad IP checksum|Bogus size|Bad digest"
    r"|Ignoring different multicast"
)
UCARP_STATE = re.compile(r"Switching to state: (INIT|BACKUP|MASTER)")


class Ucarp:
    """ucarp on one lab host's em0, output to the lab's temp dir; its up/down scripts add
    and remove the address on em0 as a ucarp admin's would."""

    def __init__(self, host: Host, advskew: int, password: str = PASS) -> None:
        self.host = host
        self.advskew = advskew
        self.password = password
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = host.lab.tmp / f"ucarp-{host.letter}.log"
        self.up = _script(host.lab, "vip-up.sh", 'ip addr add "$2/24" dev "$1"')
        self.down = _script(host.lab, "vip-down.sh",
                            'ip addr del "$2/24" dev "$1" 2>/dev/null; exit 0')

    def start(self) -> int:
        # -P: preempt, as an admin sets it; -f none: no syslog, stderr is the log
        argv = [program("ucarp"), "-i", self.host.dev(), "-s", self.host.ip(), "-v", "1",
                "-p", self.password, "-a", VIP, "-b", "1", "-k", str(self.advskew),
                "-u", str(self.up), "-d", str(self.down), "-P", "-f", "none"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(netns.exec_argv(self.host.ns, argv),
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        return self.proc.pid

    def kill(self) -> float:
        """SIGKILL by PID (no down script runs, as after a crash); when it was sent."""
        t = time.time()
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=5)
        return t

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def states(self) -> list[str]:
        return UCARP_STATE.findall(self.log())

    def rejects(self) -> list[str]:
        return [line for line in self.log().splitlines() if UCARP_REJECTS.search(line)]

    def wait_state(self, state: str, timeout: float) -> bool:
        return wait_until(lambda: state in self.states(), timeout)

    def __enter__(self) -> Ucarp:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.kill()
        print(f"----- ucarp log of {self.host.name}\n{self.log()}")


class SwitchDump:
    """tcpdump writing every protocol-112 frame that crosses LAN 1's bridge to a pcap."""

    def __init__(self, lab: Lab) -> None:
        self.path = lab.tmp / "switch.pcap"
        err = lab.tmp / "tcpdump.err"
        # --immediate-mode: libpcap hands over each frame at once, not in timed blocks
        # that a SIGTERM would discard; -U writes each to the file as it comes
        argv = [program("tcpdump"), "-i", "br1", "-nn", "--immediate-mode", "-U",
                "-w", str(self.path), "ip proto 112"]
        with open(err, "wb") as f:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                netns.exec_argv(lab.switch, argv), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=f)
        if not wait_until(lambda: "listening on" in err.read_text(errors="replace"), 10):
            self.stop()
            raise RuntimeError(f"tcpdump did not start: {err.read_text(errors='replace')}")

    def stop(self) -> None:
        """SIGTERM by PID (tcpdump flushes and exits), SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is not None:
            netns.stop(proc)

    def __enter__(self) -> SwitchDump:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _script(lab: Lab, name: str, line: str) -> Path:
    path = lab.tmp / name
    path.write_text(f"#!/bin/sh\n# ucarp calls: {name} <interface> <address>\n{line}\n")
    path.chmod(0o755)
    return path


def from_port(port: str) -> Predicate:
    """An advertisement that entered the switch on `port` (so: sent by that host)."""
    return lambda r: r["kind"] == "carp" and r["port"] == port


def test_carpd_master_ucarp_backup_then_ucarp_takes_over() -> None:
    for tool in ("ucarp", "tcpdump"):
        program(tool)  # skip (or fail in CI) before building a lab
    with open_lab(hosts=2, lans=1) as lab:
        a, b = lab.hosts
        cap = lab.capture()
        with SwitchDump(lab) as dump, Ucarp(b, advskew=100) as uc:
            a.start_carpd()
            configure_carp(a)  # advskew 0
            assert wait_states({a: {1: "MASTER"}}, 10), vhid_states(a)
            t_start = time.time()
            uc.start()
            assert uc.wait_state("BACKUP", 5), uc.log()
            time.sleep(HOLD)

            # (a) ucarp accepts carpd's advertisements: it stays BACKUP and never sends
            heard = cap.adverts(port=a.port(), since=t_start)
            assert len(heard) >= 4, "carpd stopped advertising"
            assert uc.states() == ["BACKUP"], uc.log()
            assert uc.rejects() == []
            assert cap.adverts(port=b.port()) == [], "ucarp advertised while carpd is master"
            counters = carp_counters(a)
            assert drops(counters) == {}
            assert counters["ipackets"] == 0  # nothing but carpd's own adverts on the LAN
            assert vhid_states(a) == {1: "MASTER"}
            assert a.holds(VIP) == ["carp0"] and b.holds(VIP) == []

            # (b) kill -9 carpd: ucarp takes over after its master-down
            t_kill = a.kill_carpd()
            first_b = cap.wait_for(from_port(b.port()), UCARP_MD + UCARP_POLL + 3, t_kill)
            assert first_b is not None, f"ucarp never took over\n{uc.log()}"
            last_a = max(r["t"] for r in cap.adverts(port=a.port()))
            detect = first_b["t"] - last_a
            print(f"ucarp took over {detect:.3f} s after carpd's last advertisement "
                  f"(master-down {UCARP_MD:.3f} s)")
            # never early; late by at most one of ucarp's poll() periods (peers.md)
            assert UCARP_MD - 0.05 <= detect <= UCARP_MD + UCARP_POLL + 0.5, detect
            assert (first_b["vhid"], first_b["advbase"], first_b["advskew"]) == (1, 1, 100)
            assert (first_b["ttl"], first_b["src_mac"]) == (255, UCARP_MAC)
            assert uc.wait_state("MASTER", 2), uc.log()
            assert wait_until(lambda: b.holds(VIP) == ["em0"], 3), b.addresses()
            assert b.mac() in lab.client().arp_macs(VIP)
            assert cap.wait_for(from_port(b.port()), 3, first_b["t"] + 0.01) is not None
            assert uc.rejects() == []
            dump.stop()

        # tcpdump read the same exchange: both senders decode cleanly, and ucarp's first
        # counter is carpd's + 1, the counter it took from carpd's authenticated adverts
        recs = carp_records(tcpdump(dump.path, "-e", "-vv", "-T", "carp"))
        assert recs and all("unparsed" not in r for r in recs), recs
        for r in recs:
            assert (r["vhid"], r["advbase"], r["authlen"], r["ttl"], r["proto"]) == (
                1, 1, 7, 255, 112), r["text"]
            assert "bad" not in r["text"] and r["ttl_note"] is None, r["text"]
        carpd = [r for r in recs if r["src"] == a.ip()]
        ucarp = [r for r in recs if r["src"] == b.ip()]
        assert len(carpd) + len(ucarp) == len(recs)
        assert {(r["src_mac"], r["advskew"]) for r in carpd} == {(VMAC1, 0)}
        assert {(r["src_mac"], r["advskew"]) for r in ucarp} == {(UCARP_MAC, 100)}
        assert len(ucarp) >= 2 and carpd[-1]["t"] < ucarp[0]["t"]
        assert ucarp[0]["counter"] == (carpd[-1]["counter"] + 1) % 2**64
        assert ucarp[1]["counter"] == ucarp[0]["counter"] + 1


def test_ucarp_master_carpd_backup_then_carpd_takes_over() -> None:
    program("ucarp")
    with open_lab(hosts=2, lans=1) as lab:
        a, b = lab.hosts
        cap = lab.capture()
        with Ucarp(b, advskew=0) as uc:
            uc.start()
            assert uc.wait_state("MASTER", 3 + 1 + 3), uc.log()  # ucarp master-down 3 s
            t_start = time.time()
            a.start_carpd()
            configure_carp(a, advskew=100)
            t_conf = time.time()
            assert wait_states({a: {1: "BACKUP"}}, 5), vhid_states(a)
            time.sleep(CARPD_MD + 1.5)  # carpd would have claimed MASTER by now

            # (c) carpd accepts ucarp's advertisements: counted, none dropped, BACKUP
            counters = carp_counters(a)
            t_count = time.time()
            sent_in = len(cap.adverts(port=b.port(), since=t_start, until=t_count))
            sent_conf = len(cap.adverts(port=b.port(), since=t_conf, until=t_count))
            assert sent_conf >= 4, "ucarp stopped advertising"
            assert drops(counters) == {}
            # an advert in flight around the two clock reads may fall either side
            assert sent_conf - 1 <= counters["ipackets"] <= sent_in + 1, (counters, sent_in)
            assert (counters["opackets"], counters["preempt"]) == (0, 0)
            assert cap.adverts(port=a.port()) == [], "carpd advertised while BACKUP"
            assert vhid_states(a) == {1: "BACKUP"}
            assert a.ifconfig_states("carp0") == {1: "BACKUP"}
            assert a.holds(VIP) == [] and b.holds(VIP) == ["em0"]
            assert uc.states() == ["BACKUP", "MASTER"], uc.log()
            assert uc.rejects() == []

            # kill ucarp: carpd becomes MASTER after its own master-down
            t_kill = uc.kill()
            assert wait_states({a: {1: "MASTER"}}, CARPD_MD + 3), vhid_states(a)
            first_a = cap.wait_for(from_port(a.port()), 2, t_kill)
            assert first_a is not None, "carpd MASTER but no advertisement"
            last_b = max(r["t"] for r in cap.adverts(port=b.port()))
            detect = first_a["t"] - last_b
            print(f"carpd took over {detect:.3f} s after ucarp's last advertisement "
                  f"(master-down {CARPD_MD:.3f} s)")
            assert detect >= CARPD_MD - 0.05, detect
            assert (first_a["advskew"], first_a["ttl"], first_a["src_mac"]) == (100, 255, VMAC1)
            counters = carp_counters(a)
            assert drops(counters) == {}
            assert counters["preempt"] == 1 and counters["opackets"] >= 1
            assert a.holds(VIP) == ["carp0"]


def test_a_wrong_passphrase_is_refused_both_ways() -> None:
    """The control: with ucarp's passphrase one letter longer, ucarp logs "Bad digest" for
    carpd's advertisements and claims MASTER, and carpd counts ucarp's as badauth."""
    program("ucarp")
    with open_lab(hosts=2, lans=1) as lab:
        a, b = lab.hosts
        cap = lab.capture()
        a.start_carpd()
        configure_carp(a)
        assert wait_states({a: {1: "MASTER"}}, 10), vhid_states(a)
        with Ucarp(b, advskew=100, password=PASS + "x") as uc:
            t_start = time.time()
            uc.start()
            assert uc.wait_state("MASTER", HOLD + 2), uc.log()
            assert any("Bad digest" in line for line in uc.rejects()), uc.log()
            assert cap.wait_for(from_port(b.port()), 3, t_start) is not None
            assert wait_until(lambda: carp_counters(a)["badauth"] >= 1, 3), carp_counters(a)
            counters = carp_counters(a)
            assert counters["ipackets"] >= counters["badauth"] >= 1
            assert vhid_states(a) == {1: "MASTER"}  # nothing it accepted told it otherwise
