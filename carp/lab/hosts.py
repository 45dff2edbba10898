"""One lab host (a namespace running the project's real programs) and one LAN client."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from carp.lab import netns
from carp.lab.netns import lab_mac, lan_ip

if TYPE_CHECKING:
    from carp.lab.lab import Lab

_IFCONFIG_CARP = re.compile(r"carp: (INIT|BACKUP|MASTER)\b.*?\bvhid (\d+)")


class Host:
    def __init__(self, lab: Lab, letter: str, index: int, ns: str) -> None:
        self.lab = lab
        self.letter = letter
        self.index = index
        self.ns = ns
        self.octet = 2 + index  # A .2, B .3, C .4 ...
        self.carpd: subprocess.Popen[bytes] | None = None
        self.rundir = netns.RUN_NETNS / ns
        self.log_path = lab.tmp / f"carpd-{letter}.log"

    def __repr__(self) -> str:
        return f"<host {self.letter} ns={self.ns}>"

    @property
    def name(self) -> str:
        return f"host{self.letter}"

    def dev(self, lan: int = 1) -> str:
        return f"em{lan - 1}"

    def port(self, lan: int = 1) -> str:
        return f"{self.letter}-em{lan - 1}"

    def ip(self, lan: int = 1) -> str:
        return lan_ip(lan, self.octet)

    def mac(self, lan: int = 1) -> str:
        return lab_mac(lan, self.octet)

    # -- running programs ---------------------------------------------------------------

    def run(
        self, argv: list[str], check: bool = True, timeout: float = 30.0,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return netns.run(
            netns.exec_argv(self.ns, argv), check=check, timeout=timeout,
            env=netns.child_env({**self._env(), **(env or {})}),
        )

    def _env(self) -> dict[str, str]:
        """A lab personality reaches every program: the first one to write the store
        fixes the store's personality from $CARP_PERSONALITY."""
        return {"CARP_PERSONALITY": self.lab.personality} if self.lab.personality else {}

    def ifconfig(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run([str(netns.BIN / "ifconfig"), *args], check=check)

    def sysctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run([str(netns.BIN / "sysctl"), *args], check=check)

    def netstat(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run([str(netns.BIN / "netstat"), *args], check=check)

    def iproute(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return netns.ip(*args, ns=self.ns, check=check)

    def set_link(self, dev: str, up: bool) -> float:
        """`ip link set dev up|down` in this host; returns the wall-clock time just before
        (carpd may react before the command returns)."""
        t = time.time()
        self.iproute("link", "set", dev, "up" if up else "down")
        return t

    # -- carpd ------------------------------------------------------------------------

    def start_carpd(
        self, *args: str, wait: bool = True, timeout: float = 10.0,
        env: dict[str, str] | None = None, without_caps: tuple[str, ...] = (),
    ) -> int:
        """Start carpd in this host (foreground; output to the lab's log); its PID.
        `env` adds to its environment (which its hooks inherit); `without_caps`
        ("bpf", ...) are taken out of its bounding set, so root runs it without them."""
        if self.carpd_running:
            raise RuntimeError(f"{self.name}: carpd already runs (pid {self.carpd_pid})")
        argv = [str(netns.BIN / "carpd"), *self.lab.carpd_args, *args]
        if without_caps:  # setpriv execs carpd: the PID stays carpd's
            argv = ["setpriv", "--bounding-set=" + ",".join(f"-{c}" for c in without_caps),
                    *argv]
        env = {**self._env(), **(env or {})}
        with open(self.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} start {' '.join(argv)}\n".encode())
            log.flush()
            self.carpd = subprocess.Popen(
                netns.exec_argv(self.ns, argv), env=netns.child_env(env),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait_carpd_ready(timeout)
        return self.carpd.pid

    def wait_carpd_ready(self, timeout: float = 10.0) -> None:
        """Until carpd published status under its own PID (it has read the store)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.carpd is None or self.carpd.poll() is not None:
                raise RuntimeError(f"{self.name}: carpd exited\n{self.log()}")
            status = self.status()
            if status is not None and status.get("pid") == self.carpd.pid:
                return
            time.sleep(0.02)
        raise RuntimeError(f"{self.name}: carpd published no status in {timeout}s\n{self.log()}")

    @property
    def carpd_pid(self) -> int | None:
        return self.carpd.pid if self.carpd is not None else None

    @property
    def carpd_running(self) -> bool:
        return self.carpd is not None and self.carpd.poll() is None

    def stop_carpd(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> float:
        """Signal carpd by PID and reap it (SIGKILL after `timeout`); the signal's time."""
        proc = self.carpd
        t = time.time()
        if proc is None:
            return t
        if proc.poll() is None:
            t = time.time()
            netns.stop(proc, sig, timeout)
        return t

    def kill_carpd(self) -> float:
        """kill -9 carpd; returns when it was sent."""
        return self.stop_carpd(signal.SIGKILL)

    def carpd_children(self) -> list[int]:
        """PIDs of the processes carpd forked: its watchdog, and hooks while they run."""
        pid = self.carpd_pid
        if pid is None or not self.carpd_running:
            return []
        try:
            return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def kill_service(self) -> float:
        """kill -9 of every process of carpd's service at once, as a cgroup OOM kill or
        `systemctl kill -s KILL` does: the watchdog first, so that it cannot act.  Returns
        when the first signal was sent."""
        children = self.carpd_children()
        t = time.time()
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        self.stop_carpd(signal.SIGKILL)
        return t

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def serve(self, port: int = 8000, reply: str | None = None) -> subprocess.Popen[str]:
        """A TCP server on every address of this host that answers each connection with
        `reply` (default: the host's letter) -- which host accepted it.  Ends with the lab
        (or stop it by its PID)."""
        proc = subprocess.Popen(
            netns.exec_argv(self.ns, netns.python_argv(
                "carp.lab.probe", "serve", "--port", str(port), "--reply", reply or self.letter)),
            env=netns.child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            proc.kill()
            raise RuntimeError(f"{self.name}: server did not start: {line}")
        return proc

    # -- observing ----------------------------------------------------------------------

    def status(self) -> dict[str, Any] | None:
        """carpd's published status.json (None when no live carpd wrote it)."""
        from carp.store import Store

        return Store(self.rundir).read_status()

    def states(self) -> dict[tuple[str, int], str]:
        """(interface key, vhid) -> INIT/BACKUP/MASTER from status.json."""
        status = self.status() or {}
        out: dict[tuple[str, int], str] = {}
        for key, vhids in status.get("vhosts", {}).items():
            for vhid, info in vhids.items():
                out[(key, int(vhid))] = info["state"]
        return out

    def ifconfig_states(self, *args: str) -> dict[int, str]:
        """vhid -> state as `ifconfig` prints it (`ifconfig -a` by default)."""
        out = self.ifconfig(*(args or ("-a",))).stdout
        return {int(v): s for s, v in _IFCONFIG_CARP.findall(out)}

    def links(self) -> list[str]:
        data = json.loads(self.iproute("-j", "link", "show").stdout)
        return [link["ifname"] for link in data]

    def addresses(self, dev: str | None = None) -> list[str]:
        """'ip/prefix' of IPv4 addresses (of one device, or all but lo)."""
        data = json.loads(self.iproute("-j", "-4", "addr", "show").stdout)
        out = []
        for link in data:
            if link["ifname"] == "lo" or (dev is not None and link["ifname"] != dev):
                continue
            out += [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])]
        return out

    def watch_address(self, ip: str, timeout: float = 15.0) -> AddressWatch:
        """Start noting when the kernel deletes `ip` in this host (returns once listening)."""
        return AddressWatch(self.ns, ip, timeout)

    def tcx_programs(self, dev: str = "em0", egress: bool = False) -> int:
        """How many eBPF programs are attached to a device's tcx hook in this host."""
        code = ("import socket, sys; from carp.daemon import ebpf; "
                "print(ebpf.tcx_program_count(socket.if_nametoindex(sys.argv[1]), "
                "ebpf.TCX_EGRESS if sys.argv[2] == '1' else ebpf.TCX_INGRESS))")
        out = self.run([sys.executable, "-c", code, dev, str(int(egress))])
        return int(out.stdout)

    def link_multicast(self, dev: str = "em0") -> list[str]:
        """The link-layer multicast addresses `dev` accepts (`ip maddr`)."""
        out = self.iproute("maddr", "show", "dev", dev).stdout
        return [line.split()[1] for line in out.splitlines() if line.strip().startswith("link")]

    def holds(self, ip: str) -> list[str]:
        """Devices of this host carrying `ip` (the VIP: at most one, and only when MASTER)."""
        data = json.loads(self.iproute("-j", "-4", "addr", "show").stdout)
        return [
            link["ifname"] for link in data
            for a in link.get("addr_info", []) if a["local"] == ip
        ]


class AddressWatch:
    """The `addrgone` probe in one host: when the kernel deleted an address (wall clock)."""

    def __init__(self, ns: str, ip: str, timeout: float) -> None:
        argv = netns.exec_argv(ns, netns.python_argv(
            "carp.lab.probe", "addrgone", "--ip", ip, "--timeout", str(timeout)))
        self.proc = subprocess.Popen(argv, env=netns.child_env(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # {"ready": t} once subscribed
        if "ready" not in line:
            self.proc.kill()
            raise RuntimeError(f"addrgone probe did not start: {self.proc.communicate()}")

    def gone(self) -> float | None:
        """Wait for the deletion (or the probe's timeout): its time, or None."""
        out, _err = self.proc.communicate()
        for line in out.splitlines():
            result = json.loads(line)
            if "gone" in result:
                gone: float | None = result["gone"]
                return gone
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


class Client:
    """The client on one LAN: asks who has the virtual address and pings it."""

    def __init__(self, lab: Lab, lan: int, ns: str) -> None:
        self.lab = lab
        self.lan = lan
        self.ns = ns
        self.octet = 100
        self.port = f"cl{lan}"

    @property
    def name(self) -> str:
        return f"client{self.lan}"

    @property
    def ip(self) -> str:
        return lan_ip(self.lan, self.octet)

    def _probe_argv(self, *args: str) -> list[str]:
        return netns.exec_argv(self.ns, netns.python_argv("carp.lab.probe", *args))

    def _probe(self, *args: str, timeout: float) -> dict[str, Any]:
        proc = netns.run(self._probe_argv(*args), check=False, timeout=timeout,
                         env=netns.child_env())
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            raise netns.CommandError(self._probe_argv(*args), proc)
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    def arp_args(self, ip: str, window: float, count: int, interval: float,
                 first: bool, src_ip: str | None = None,
                 src_mac: str | None = None) -> list[str]:
        return ["arp", "--iface", "eth0", "--src-ip", src_ip or self.ip, "--ip", ip,
                "--count", str(count), "--interval", str(interval), "--window", str(window),
                *(["--first"] if first else []), *(["--src-mac", src_mac] if src_mac else [])]

    def arp(self, ip: str, window: float = 0.3, count: int = 1, interval: float = 0.1,
            first: bool = False, src_ip: str | None = None,
            src_mac: str | None = None) -> dict[str, Any]:
        """{"sent": [t...], "replies": [{"t", "mac", "eth_src"}...]} for who-has `ip`,
        asked as this client or as the station (src_ip, src_mac) it poses as."""
        args = self.arp_args(ip, window, count, interval, first, src_ip, src_mac)
        return self._probe(*args, timeout=count * interval + window + 20)

    def arp_macs(self, ip: str, window: float = 0.3) -> list[str]:
        return [r["mac"] for r in self.arp(ip, window)["replies"]]

    def arp_background(self, ip: str, count: int, interval: float,
                       window: float = 0.2, src_ip: str | None = None,
                       src_mac: str | None = None) -> subprocess.Popen[str]:
        """ARP requests every `interval` in the background (the switch capture tells who
        answered), as this client or as the station (src_ip, src_mac) it poses as; read
        the result with `.communicate()`."""
        return subprocess.Popen(
            self._probe_argv(*self.arp_args(ip, window, count, interval, False, src_ip,
                                            src_mac)),
            env=netns.child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def flood_argv(self, rate: float, seconds: float, vhid: int = 1,
                   kinds: list[str] | None = None) -> list[str]:
        args = ["flood", "--iface", "eth0", "--src-ip", self.ip, "--vhid", str(vhid),
                "--rate", str(rate), "--seconds", str(seconds)]
        return self._probe_argv(*args, *(["--kinds", ",".join(kinds)] if kinds else []))

    def flood(self, rate: float, seconds: float, vhid: int = 1,
              kinds: list[str] | None = None) -> dict[str, Any]:
        """Bad advertisements for `vhid` at `rate` a second (carp.lab.probe flood):
        {"sent": {counter: n}, "seconds": s}."""
        proc = netns.run(self.flood_argv(rate, seconds, vhid, kinds), timeout=seconds + 60,
                         env=netns.child_env())
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    def ping(self, ip: str, count: int = 1, timeout: float = 1.0,
             interval: float = 0.2) -> dict[str, Any]:
        """{"sent": n, "replies": [{"seq", "t", "rtt", "ttl"}...]}."""
        return self._probe("ping", "--ip", ip, "--count", str(count), "--timeout",
                           str(timeout), "--interval", str(interval),
                           timeout=count * (timeout + interval) + 20)

    def reaches(self, ip: str, timeout: float = 1.0) -> bool:
        return bool(self.ping(ip, timeout=timeout)["replies"])

    def forget_neighbours(self) -> None:
        """Flush the client namespace's ARP and neighbour caches (as if they had aged)."""
        netns.ip("neigh", "flush", "all", ns=self.ns)

    def echo_stream(self, target: str, source: str, duration: float,
                    interval: float = 0.002) -> subprocess.Popen[str]:
        """ICMP echo requests to `target` from `source` ("address%device") every
        `interval` for `duration` seconds, in the background (the capture sees who
        answers); `.communicate()` reads {"sent": n}."""
        return subprocess.Popen(
            self._probe_argv("stream", "--to", target, "--src", source, "--interval",
                             str(interval), "--duration", str(duration)),
            env=netns.child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def stations(self, n: int, first: int = 110, ipv6: bool = False) -> list[Station]:
        """`n` more stations on this LAN: macvlans of eth0 in the client's namespace, each
        with its own MAC 02:00:00:00:<lan>:<octet> and address 192.168.<lan>.<octet>/24
        (and 2001:db8:<lan>::<octet>/64), answering ARP only for their own address."""
        out = [Station(f"st{first + i}", lab_mac(self.lan, first + i),
                       lan_ip(self.lan, first + i), f"2001:db8:{self.lan}::{first + i:x}")
               for i in range(n)]
        sysctls = ["net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
                   "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"]
        netns.run(netns.exec_argv(self.ns, ["sysctl", "-qw", *sysctls]))
        batch = []
        for st in out:
            batch += [f"link add {st.dev} link eth0 address {st.mac} type macvlan mode bridge",
                      f"link set {st.dev} up", f"addr add {st.ip}/24 dev {st.dev}"]
            if ipv6:
                batch.append(f"addr add {st.ip6}/64 dev {st.dev} nodad")
        netns.run(["ip", "-n", self.ns, "-batch", "-"], input="\n".join(batch) + "\n")
        return out

    def connect(self, target: str, sources: list[str], port: int = 8000,
                timeout: float = 2.0) -> dict[str, str]:
        """One TCP connection to target:port from each source ("address" or
        "address%device"), all at once: {source address: reply text or "error: ..."}."""
        return self._probe("connect", "--to", target, "--port", str(port), "--src",
                           ",".join(sources), "--timeout", str(timeout),
                           timeout=timeout * 2 + 20)


@dataclasses.dataclass(frozen=True)
class Station:
    """A client station of Client.stations: a macvlan with its own MAC and addresses."""

    dev: str
    mac: str
    ip: str
    ip6: str

    def source(self, family: int = 4) -> str:
        return f"{self.ip6 if family == 6 else self.ip}%{self.dev}"

