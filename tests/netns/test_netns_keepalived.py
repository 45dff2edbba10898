"""carpd in VRRPv3 mode (FreeBSD personality, `carpver 3`) and keepalived 2.2 in one group.

Host A runs carpd with `ifconfig em0 vhid 1 carpver 3 vrrpprio P vrrpinterval 100` and
an IPv4 and an IPv6 address; host B runs keepalived (`vrrp_version 3`, VRID 1, one
instance per family, advert_int 1).  Each side accepts the other's advertisements only
if the header, the pseudo-header checksum and the TTL agree byte for byte:

- keepalived MASTER, carpd BACKUP: carpd counts keepalived's adverts in both families,
  drops none and stays BACKUP; kill -9 of keepalived: carpd takes over after its
  master-down, 3 x 100 + 156 x 100 / 256 = 360 cs after the last advert; keepalived back
  (it preempts): carpd yields; keepalived stopped gracefully: its priority-0 advert makes
  carpd restart its full master-down (FreeBSD), not wait Skew_Time as RFC 5798 says.
- carpd MASTER, keepalived BACKUP: keepalived logs no rejection, counts carpd's adverts
  as received with no packet or authentication error (its SIGUSR2 stats), and stays BACKUP; a
  graceful stop of carpd sends nothing (FreeBSD), so keepalived takes over after its own
  master-down; carpd back with net.inet.carp.preempt=1 takes over at keepalived's first
  advert; kill -9 of carpd: keepalived again.
- Equal priority: FreeBSD has no address tie-break.  Two MASTERs stay MASTER when carpd's
  address is the lower one (keepalived keeps MASTER too, as RFC 5798 says); with carpd's
  address the higher one keepalived yields and carpd stays.

keepalived runs inside the host's namespace (`ip netns exec` execs in place: the Popen
PID is keepalived's parent), VRRP only, no respawn, its config, pid files and log in the
lab's temp dir; kill -9 is SIGKILL to its VRRP child (read from its pid file) and then to
the parent, always by PID."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

import pytest

from carp.lab import Host, netns
from carp.lab.capture import Capture, Predicate, Record
from carp.lab.scenario import vhid_states, wait_states, wait_until
from tests.external import program
from tests.netns.lab_fixtures import VIP, carp_counters, drops, open_lab

pytestmark = pytest.mark.netns

VIP6 = "2001:db8:1::1"
TOLERANCE = 0.150  # as in test_netns_freebsd: wall-clock capture, Python daemon, 2 cores


def md(prio: int, mi_cs: int) -> float:
    """FreeBSD's master-down in seconds, written out (§1.7)."""
    return (3 * mi_cs + (256 - prio) * mi_cs // 256) / 100


def ka_md(prio: int, interval: float) -> float:
    """keepalived's: 3 x interval + (256 - prio) x interval / 256, not cut to centiseconds."""
    return 3 * interval + (256 - prio) * interval / 256


# every message keepalived 2.2.7 logs when it drops or questions an advertisement
KA_REJECTS = re.compile(
    r"Invalid VRRPv3 checksum|invalid TTL|wrong version|interval mismatch|unexpected ip number"
    r"|ip_tot_len mismatch|expected \d+ VIPs|not present in MASTER advert|packet too short"
)
KA_STATE = re.compile(r"\((v[46])\) Entering (MASTER|BACKUP|FAULT) STATE")


class Keepalived:
    """keepalived on one lab host's em0, one vrrp_instance per family (`v4`, `v6`)."""

    def __init__(self, host: Host, prio: int, state: str = "BACKUP", v6: bool = True,
                 interval: float = 1.0) -> None:
        self.host = host
        tmp = host.lab.tmp
        self.conf = tmp / f"keepalived-{host.letter}.conf"
        self.log_path = tmp / f"keepalived-{host.letter}.log"
        self.pids = [tmp / f"keepalived-{host.letter}.{n}.pid" for n in ("main", "vrrp", "chk")]
        self.tmpdir = tmp / f"keepalived-{host.letter}.tmp"  # its TMPDIR: where stats go
        self.tmpdir.mkdir(exist_ok=True)
        self.instances = 2 if v6 else 1
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_from = 0
        instances = [("v4", f"{VIP}/24")] + ([("v6", f"{VIP6}/64")] if v6 else [])
        self.conf.write_text("global_defs {\n  vrrp_version 3\n}\n" + "".join(
            f"vrrp_instance {name} {{\n  state {state}\n  interface {host.dev()}\n"
            f"  virtual_router_id 1\n  priority {prio}\n  advert_int {interval}\n"
            f"  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n" for name, vip in instances))

    def start(self) -> int:
        # -P: VRRP only; -R: no respawn (a kill -9 stays a crash); -n -l: foreground, log
        # to the console (our file); -D: detailed log; pid files in the lab's temp dir
        argv = [program("keepalived"), "-P", "-R", "-n", "-l", "-D", "-f", str(self.conf),
                "-p", str(self.pids[0]), "-r", str(self.pids[1]), "-c", str(self.pids[2])]
        with open(self.log_path, "ab") as log:
            self.log_from = log.tell()  # this run's lines only (the file is the host's)
            self.proc = subprocess.Popen(netns.exec_argv(self.host.ns, argv),
                                         env={**os.environ, "TMPDIR": str(self.tmpdir)},
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        assert wait_until(lambda: self._child() is not None, 5), self.log()
        return self.proc.pid

    def _child(self) -> int | None:
        try:
            return int(self.pids[1].read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> float:
        """kill -9: the VRRP child, then the parent (-R: it respawns nothing)."""
        t = time.time()
        proc, child = self.proc, self._child()
        if proc is None or proc.poll() is not None:
            return t
        if child is not None and Path(f"/proc/{child}/task/{child}").exists():
            netns_kill(child)
        netns.stop(proc, signal.SIGKILL)
        return t

    def stop(self) -> float:
        """A graceful stop (SIGTERM): keepalived's master sends priority 0."""
        t = time.time()
        if self.proc is not None and self.proc.poll() is None:
            netns.stop(self.proc, signal.SIGTERM, 10)
        return t

    def stats(self) -> dict[str, dict[str, int]]:
        """keepalived's own counters per instance, e.g. stats()["v4"]["advertisements
        received"]: SIGUSR2 makes it write them to $TMPDIR/keepalived.stats."""
        path = self.tmpdir / "keepalived.stats"
        path.unlink(missing_ok=True)
        assert self.proc is not None and self.proc.poll() is None
        self.proc.send_signal(signal.SIGUSR2)

        def written() -> bool:  # "Sent:" closes the advert and the priority-0 sections
            text = path.read_text() if path.exists() else ""
            return len(re.findall(r"^\s+Sent: \d+$", text, re.MULTILINE)) == 2 * self.instances

        assert wait_until(written, 5), self.log()
        out: dict[str, dict[str, int]] = {}
        inst, section = "", ""
        for line in path.read_text().splitlines():
            key, _, value = line.strip().partition(":")
            if line.startswith("VRRP Instance:"):
                inst = value.strip()
                out[inst] = {}
            elif not value.strip():
                section = key.lower()
            elif inst:  # "  Became master: 1" has no section; "    Received: 3" has one
                name = key.lower() if line.startswith("  ") and not line.startswith("    ") \
                    else f"{section} {key.lower()}"
                out[inst][name] = int(value)
        return out

    def log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_from)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def states(self, instance: str = "v4") -> list[str]:
        return [s for name, s in KA_STATE.findall(self.log()) if name == instance]

    def state(self, instance: str = "v4") -> str | None:
        states = self.states(instance)
        return states[-1] if states else None

    def wait_state(self, state: str, timeout: float, instances: tuple[str, ...] = ("v4",)
                   ) -> bool:
        return wait_until(lambda: all(self.state(i) == state for i in instances), timeout)

    def rejects(self) -> list[str]:
        return [line for line in self.log().splitlines() if KA_REJECTS.search(line)]

    def __enter__(self) -> Keepalived:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.kill()
        print(f"----- keepalived log of {self.host.name}\n{self.log()}")


def netns_kill(pid: int) -> None:
    """SIGKILL one PID we started (keepalived's VRRP child), tolerating its exit."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def ka_errors(stats: dict[str, int]) -> dict[str, int]:
    """keepalived's packet and authentication errors that are not zero."""
    return {k: n for k, n in stats.items()
            if k.startswith(("packet errors", "authentication errors")) and n}


def configure_vrrp(host: Host, prio: int, interval: int = 100, v6: bool = True) -> None:
    """ifconfig(8) of FreeBSD 15: one vhid in VRRPv3 mode with the two addresses."""
    host.ifconfig("em0", "vhid", "1", "carpver", "3", "vrrpprio", str(prio),
                  "vrrpinterval", str(interval), f"{VIP}/24", "alias")
    if v6:
        host.ifconfig("em0", "inet6", f"{VIP6}/64", "alias", "vhid", "1")


def since(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in after.items()}


def sent_by(host: Host, family: int | None = None) -> Predicate:
    """A VRRPv3 advertisement that entered the switch on `host`'s port."""
    return lambda r: (r["kind"] == "carp" and r["port"] == host.port()
                      and (family is None or (":" in r["src_ip"]) == (family == 6)))


def last_advert(cap: Capture, host: Host, family: int, before: float | None = None) -> Record:
    return [r for r in cap.adverts(port=host.port(), until=before) if sent_by(host, family)(r)
            ][-1]


def takeover(cap: Capture, old: Host, new: Host, since: float, bound: float) -> float:
    """Seconds from `old`'s last advert to `new`'s first: of the family whose last advert
    came first, as that family's master-down timer runs out first."""
    first = cap.wait_for(sent_by(new), bound + 3, since)
    assert first is not None, f"{new.name} never took over"
    last = min(last_advert(cap, old, f, first["t"])["t"] for f in (4, 6))
    return float(first["t"] - last)


def all_vrrp_sums_ok(cap: Capture) -> None:
    ads = cap.adverts()
    assert ads and all(r["version"] == 3 and r["ttl"] == 255 and r["sum_ok"] for r in ads), [
        r for r in ads if not r.get("sum_ok")][:3]


def test_keepalived_master_carpd_backup_then_each_takes_over() -> None:
    program("keepalived")
    with open_lab(hosts=2, lans=1, personality="freebsd") as lab:
        a, b = lab.hosts
        cap = lab.capture()
        with Keepalived(b, prio=150) as ka:
            ka.start()
            assert ka.wait_state("MASTER", 6, ("v4", "v6")), ka.log()
            a.start_carpd()
            configure_vrrp(a, prio=100)
            t_conf = time.time()
            assert wait_states({a: {1: "BACKUP"}}, 5), vhid_states(a)
            # an IPv6 advert between the two ifconfig commands found no vhid: not counted
            before = carp_counters(a, "freebsd")
            time.sleep(md(100, 100) + 1.5)  # carpd would have claimed MASTER by now

            # carpd hears keepalived in both families, drops nothing, stays BACKUP
            counters = since(carp_counters(a, "freebsd"), before)
            assert drops(counters) == {}
            assert counters["ipackets"] >= 4 and counters["ipackets6"] >= 4, counters
            assert (counters["opackets"], counters["opackets6"]) == (0, 0)
            assert cap.adverts(port=a.port(), since=t_conf) == [], "carpd advertised"
            assert "vrrp: BACKUP vrid 1 prio 100 interval 100" in a.ifconfig("em0").stdout
            assert a.holds(VIP) == [] and b.holds(VIP) == ["em0"]
            for inst, st in ka.stats().items():  # keepalived heard nothing, sent plenty
                assert st["advertisements received"] == 0 and ka_errors(st) == {}, st
                assert st["advertisements sent"] >= 4 and st["became master"] == 1, (inst, st)

            # kill -9 keepalived: carpd takes over after its master-down (MI = 100 cs)
            t_kill = ka.kill()
            detect = takeover(cap, b, a, t_kill, md(100, 100))
            print(f"carpd took over {detect:.3f} s after keepalived's last advert "
                  f"(master-down {md(100, 100):.2f} s)")
            assert md(100, 100) - 0.05 <= detect <= md(100, 100) + TOLERANCE, detect
            assert wait_states({a: {1: "MASTER"}}, 2)
            assert wait_until(lambda: a.holds(VIP) != [], 3), a.addresses()
            assert cap.wait_for(sent_by(a, 6), 2, t_kill) is not None, "no IPv6 advert"

        # keepalived back (it preempts by default): carpd yields to priority 150
        with Keepalived(b, prio=150) as ka:
            t_back = time.time()
            ka.start()
            assert ka.wait_state("MASTER", ka_md(150, 1) + 3, ("v4", "v6")), ka.log()
            assert wait_states({a: {1: "BACKUP"}}, 2), vhid_states(a)
            assert "MASTER -> BACKUP (more frequent advertisement received)" in a.log()
            # one master at a time: carpd's adverts stop once keepalived's start
            first_b = cap.wait_for(sent_by(b), 1, t_back)
            assert first_b is not None
            time.sleep(1.5)
            assert cap.adverts(port=a.port(), since=first_b["t"] + 0.2) == []

            # graceful stop: priority 0, and carpd waits its full master-down (FreeBSD
            # restarts it on any advert; RFC 5798 would wait Skew_Time, 0.61 s)
            t_stop = ka.stop()
            zero = cap.wait_for(lambda r: sent_by(b)(r) and r["priority"] == 0, 3, t_stop)
            assert zero is not None, "keepalived sent no priority-0 advert"
            first_a = cap.wait_for(sent_by(a), md(100, 100) + 3, t_stop)
            assert first_a is not None
            last_b = min(last_advert(cap, b, f, first_a["t"])["t"] for f in (4, 6))
            wait = first_a["t"] - last_b
            print(f"carpd took over {wait:.3f} s after keepalived's priority-0 advert")
            assert md(100, 100) - 0.05 <= wait <= md(100, 100) + TOLERANCE, wait
            assert wait_states({a: {1: "MASTER"}}, 2)
        assert drops(since(carp_counters(a, "freebsd"), before)) == {}
        all_vrrp_sums_ok(cap)


def test_carpd_master_keepalived_backup_then_each_takes_over() -> None:
    program("keepalived")
    with open_lab(hosts=2, lans=1, personality="freebsd") as lab:
        a, b = lab.hosts
        cap = lab.capture()
        a.start_carpd()
        configure_vrrp(a, prio=150)
        assert wait_states({a: {1: "MASTER"}}, md(150, 100) + 3), vhid_states(a)
        with Keepalived(b, prio=100) as ka:
            t_start = time.time()
            ka.start()
            assert ka.wait_state("BACKUP", 5, ("v4", "v6")), ka.log()
            time.sleep(ka_md(100, 1) + 1.5)
            # keepalived accepts carpd's adverts: no rejection, never MASTER, silent
            assert ka.rejects() == [], ka.rejects()
            assert ka.states("v4") == ["BACKUP"] and ka.states("v6") == ["BACKUP"], ka.log()
            assert cap.adverts(port=b.port(), since=t_start) == [], "keepalived advertised"
            counters = carp_counters(a, "freebsd")
            assert counters["ipackets"] == counters["ipackets6"] == 0
            assert counters["opackets"] >= 4 and counters["opackets6"] >= 4, counters
            # keepalived received every one sent since it started (give or take the one
            # in flight), none with an error, and sent none
            for inst, sent in ka.stats().items():
                out = counters["opackets" if inst == "v4" else "opackets6"]
                assert 4 <= sent["advertisements received"] <= out, (inst, sent, counters)
                assert ka_errors(sent) == {} and sent["advertisements sent"] == 0, sent

            # graceful stop of carpd: FreeBSD sends nothing, keepalived's master-down runs
            t_stop = a.stop_carpd()
            detect = takeover(cap, a, b, t_stop, ka_md(100, 1))
            print(f"keepalived took over {detect:.3f} s after carpd's last advert "
                  f"(its master-down {ka_md(100, 1):.3f} s)")
            assert ka_md(100, 1) - 0.05 <= detect <= ka_md(100, 1) + TOLERANCE, detect
            assert ka.wait_state("MASTER", 2, ("v4", "v6")), ka.log()

            # carpd back with preemption: it takes over at keepalived's first advert
            a.start_carpd()
            a.sysctl("net.inet.carp.preempt=1")
            assert wait_states({a: {1: "MASTER"}}, 5), vhid_states(a)
            assert "BACKUP -> MASTER (preempting a slower master)" in a.log()
            assert ka.wait_state("BACKUP", 3, ("v4", "v6")), ka.log()
            t_back = time.time()
            time.sleep(1.5)
            assert cap.adverts(port=b.port(), since=t_back) == []

            # kill -9 carpd: keepalived again
            t_kill = a.kill_carpd()
            detect = takeover(cap, a, b, t_kill, ka_md(100, 1))
            assert ka_md(100, 1) - 0.05 <= detect <= ka_md(100, 1) + TOLERANCE, detect
            assert ka.rejects() == [], ka.rejects()
        all_vrrp_sums_ok(cap)


def test_equal_priority_has_no_address_tie_break() -> None:
    """Priority 100 both, each MASTER on its side of a partition, then the partition heals.
    FreeBSD never yields to an equal priority; keepalived yields to a higher address only
    (RFC 5798).  So: carpd's address the lower -> two masters; the higher -> one."""
    program("keepalived")
    with open_lab(hosts=2, lans=1, personality="freebsd") as lab:
        a, b = lab.hosts  # A 192.168.1.2 < B 192.168.1.3
        cap = lab.capture()
        for carpd, other in ((a, b), (b, a)):
            carpd.start_carpd()
            configure_vrrp(carpd, prio=100, v6=False)
            assert wait_states({carpd: {1: "MASTER"}}, md(100, 100) + 3)
            lab.cut(other)
            with Keepalived(other, prio=100, v6=False) as ka:
                ka.start()
                assert ka.wait_state("MASTER", ka_md(100, 1) + 3), ka.log()
                lab.rejoin(other)
                time.sleep(md(100, 100) + 0.5)
                t = time.time()
                time.sleep(1.5)
                if carpd is a:  # lower address: neither yields
                    assert ka.state() == "MASTER" and vhid_states(a) == {1: "MASTER"}
                    assert cap.adverts(port=a.port(), since=t)
                    assert cap.adverts(port=b.port(), since=t)
                else:  # higher address: keepalived yields, carpd stays
                    assert ka.states()[-2:] == ["MASTER", "BACKUP"], ka.log()
                    assert "same priority 100 but higher IP address" in ka.log()
                    assert vhid_states(b) == {1: "MASTER"}
                    assert cap.adverts(port=a.port(), since=t) == []
                assert ka.rejects() == [] and drops(carp_counters(carpd, "freebsd")) == {}
            carpd.kill_carpd()


def test_vrrpinterval_10_pair_fails_over_in_a_third_of_a_second() -> None:
    """Two carpd at 10 cs: adverts every 100 ms, master-down 36 cs at priority 100."""
    with open_lab(hosts=2, lans=1, personality="freebsd") as lab:
        a, b = lab.hosts
        cap = lab.capture()
        for host, prio in ((a, 150), (b, 100)):
            host.start_carpd()
            configure_vrrp(host, prio=prio, interval=10)
        assert wait_states({a: {1: "MASTER"}, b: {1: "BACKUP"}}, 5), (
            vhid_states(a), vhid_states(b))
        # A's IPv6 adverts start once its carpdev's link-local address has left DAD
        assert cap.wait_for(sent_by(a, 6), 5) is not None
        before = carp_counters(b, "freebsd")  # A's IPv6 adverts before B's inet6: badvhid
        time.sleep(1)
        ads = [r["t"] for r in cap.adverts(port=a.port()) if sent_by(a, 4)(r)]
        gaps = [y - x for x, y in zip(ads, ads[1:], strict=False)]
        assert len(gaps) >= 5 and 0.08 < sum(gaps[-5:]) / 5 < 0.12, gaps
        t_kill = a.kill_carpd()
        detect = takeover(cap, a, b, t_kill, md(100, 10))
        print(f"B took over {detect * 1000:.0f} ms after A's last advert "
              f"(master-down {md(100, 10) * 1000:.0f} ms)")
        assert md(100, 10) - 0.05 <= detect <= md(100, 10) + TOLERANCE, detect
        assert wait_states({b: {1: "MASTER"}}, 1)
        counters = since(carp_counters(b, "freebsd"), before)
        assert drops(counters) == {} and counters["ipackets6"] >= 5, counters
        all_vrrp_sums_ok(cap)
