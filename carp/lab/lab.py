"""The namespace lab: hosts, clients and a switch as network namespaces.

    with Lab(hosts=2) as lab:
        a, b = lab.hosts
        a.ifconfig("carp0", "create")
        a.start_carpd()
        lab.client(1).arp("192.168.1.1")

Topology (LAN n = 192.168.n.0/24, one Linux bridge `brn` per LAN in the switch namespace,
STP and multicast snooping off so CARP multicast floods like on a dumb switch):

    host A (ns <prefix>-a): em0 192.168.1.2, em1 192.168.2.2 ...  switch port "A-em0"
    host B (ns <prefix>-b): em0 192.168.1.3, em1 192.168.2.3 ...  switch port "B-em0"
    client n (ns <prefix>-c<n>): eth0 192.168.n.100                 switch port "cl<n>"

MACs are readable: 02:00:00:00:<lan>:<last octet of the IP>.  Everything the lab makes
(namespaces, processes, /run/carp/netns/<ns>, its temporary directory) is removed on
exit, also on exceptions, KeyboardInterrupt and SIGTERM."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import string
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from carp.lab import netns
from carp.lab.capture import Capture
from carp.lab.hosts import Client, Host
from carp.lab.netns import lab_mac, lan_ip

_counter = itertools.count()


class _Terminated(BaseException):
    """SIGTERM while a lab is open: unwinds through __exit__ like KeyboardInterrupt."""


class Lab:
    def __init__(
        self,
        hosts: int = 2,
        lans: int = 2,
        personality: str | None = None,
        carpd_args: tuple[str, ...] = (),
    ) -> None:
        if not 1 <= hosts <= 26 or not 1 <= lans <= 9:
            raise ValueError("1..26 hosts and 1..9 LANs")
        self.prefix = f"carp{os.getpid()}x{next(_counter)}"  # unique per process and lab
        self.n_hosts = hosts
        self.n_lans = lans
        self.personality = personality
        self.carpd_args = carpd_args
        self.switch = f"{self.prefix}-sw"
        self.hosts: list[Host] = []
        self.clients: list[Client] = []
        self.captures: list[Capture] = []
        self.helpers: list[subprocess.Popen[str]] = []  # stopped by PID at close
        self.made: list[str] = []  # namespaces, in creation order
        self.tmp = Path()  # made on entry: logs of carpd, capture files
        self._old_sigterm: Any = None
        self._closed = False

    # -- life cycle ------------------------------------------------------------------

    def __enter__(self) -> Lab:
        self._trap_sigterm()
        try:
            self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _trap_sigterm(self) -> None:
        # A SIGTERM would otherwise end the process without running __exit__.
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:

            def _raise(_sig: int, _frame: FrameType | None) -> None:
                raise _Terminated

            self._old_sigterm = signal.signal(signal.SIGTERM, _raise)

    def _netns(self, ns: str) -> str:
        netns.add(ns)
        self.made.append(ns)
        return ns

    def _build(self) -> None:
        netns.reap_stale()
        sw = self._netns(self.switch)
        netns.run(["ip", "netns", "exec", sw, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
        for lan in range(1, self.n_lans + 1):
            br = f"br{lan}"
            netns.ip("link", "add", br, "type", "bridge", "stp_state", "0",
                     "mcast_snooping", "0", "forward_delay", "0", ns=sw)
            netns.ip("link", "set", br, "up", ns=sw)
        for i, letter in enumerate(string.ascii_uppercase[: self.n_hosts]):
            host = Host(self, letter, i, self._netns(f"{self.prefix}-{letter.lower()}"))
            for lan in range(1, self.n_lans + 1):
                self._plug(host.ns, host.dev(lan), host.port(lan), lan, host.octet)
            self.hosts.append(host)
        for lan in range(1, self.n_lans + 1):
            client = Client(self, lan, self._netns(f"{self.prefix}-c{lan}"))
            self._plug(client.ns, "eth0", client.port, lan, client.octet)
            self.clients.append(client)

    def _plug(self, ns: str, dev: str, port: str, lan: int, octet: int) -> None:
        """A veth from namespace `ns` (as `dev`) to bridge `br<lan>` (as `port`)."""
        netns.ip("link", "add", port, "type", "veth", "peer", "name", dev, "netns", ns,
                 ns=self.switch)
        netns.ip("link", "set", port, "master", f"br{lan}", "up", ns=self.switch)
        netns.ip("link", "set", dev, "address", lab_mac(lan, octet), "up", ns=ns)
        netns.ip("addr", "add", f"{lan_ip(lan, octet)}/24", "brd", "+", "dev", dev, ns=ns)

    def close(self) -> None:
        """Remove everything, in an order where each step works even if an earlier failed."""
        if self._closed:
            return
        self._closed = True
        for cap in self.captures:
            _quietly(cap.stop)
        for proc in self.helpers:
            _quietly(proc.terminate)
            _quietly(proc.wait, 5)
        for host in self.hosts:
            _quietly(host.stop_carpd, signal.SIGKILL)
        for ns in reversed(self.made):
            _quietly(netns.delete, ns)
        if self.tmp != Path():
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self._old_sigterm is not None:
            signal.signal(signal.SIGTERM, self._old_sigterm)

    # -- access ------------------------------------------------------------------------

    def host(self, letter: str) -> Host:
        return self.hosts[string.ascii_uppercase.index(letter.upper())]

    def client(self, lan: int = 1) -> Client:
        return self.clients[lan - 1]

    def capture(self, ports: list[str] | None = None, every: bool = False) -> Capture:
        """Start recording every LAN's traffic in the switch (stopped at close at the
        latest), or only what enters through `ports` (e.g. a host's, beside a flood);
        `every`: a bare record of each frame the decoder does not know too."""
        path = self.tmp / f"capture{len(self.captures)}.jsonl"
        bridges = [f"br{lan}" for lan in range(1, self.n_lans + 1)]
        cap = Capture(self.switch, path, skip=bridges, ports=ports, every=every)
        self.captures.append(cap)
        return cap

    def cut(self, host: Host, lan: int = 1) -> float:
        """Partition: the switch stops forwarding to and from the host's port (bridge port
        state disabled).  The host's link stays up, and the capture still sees what the
        host sends.  Returns the wall-clock time just before."""
        return self._port_state(host.port(lan), "0")

    def rejoin(self, host: Host, lan: int = 1) -> float:
        """Heal a cut: the port forwards again.  Returns the wall-clock time just before."""
        return self._port_state(host.port(lan), "3")

    def _port_state(self, port: str, state: str) -> float:
        t = time.time()
        netns.run(["bridge", "-n", self.switch, "link", "set", "dev", port, "state", state])
        return t

    def fdb_port(self, mac: str, lan: int = 1) -> str | None:
        """The switch port that LAN's bridge has learnt `mac` on (None: not learnt)."""
        out = netns.run(["bridge", "-n", self.switch, "fdb", "show", "br", f"br{lan}"]).stdout
        for line in out.splitlines():
            words = line.split()
            if len(words) >= 3 and words[0] == mac.lower() and words[1] == "dev":
                if "permanent" not in words and "self" not in words:
                    return words[2]
        return None

    def quiet_switch(self) -> None:
        """Make the switch spend no CPU on the frames it floods: its bridges stop passing
        a copy of every multicast frame up to the switch namespace's own stack (what a
        hardware switch never does).  Until the lab closes."""
        bridges = ",".join(f"br{lan}" for lan in range(1, self.n_lans + 1))
        proc = subprocess.Popen(
            netns.exec_argv(self.switch, netns.python_argv("carp.lab.probe", "quiet", "--dev",
                                                           bridges)),
            env=netns.child_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            proc.kill()
            proc.wait()
            raise RuntimeError("the switch could not be quietened")
        self.helpers.append(proc)

    def hub(self, lan: int = 1) -> None:
        """Make LAN `lan`'s switch a hub: a bridge that learns nothing (ageing time 0)
        floods every frame to every port."""
        netns.ip("link", "set", f"br{lan}", "type", "bridge", "ageing_time", "0", ns=self.switch)

    def port_owner(self, port: str) -> str:
        """'A' for 'A-em0', 'client1' for 'cl1'."""
        if port.startswith("cl"):
            return f"client{port[2:]}"
        return port.split("-", 1)[0]

    def leftovers(self) -> list[str]:
        """This lab's namespaces still present (empty after close)."""
        return [ns for ns in netns.listing() if ns.startswith(self.prefix + "-")]


def _quietly(fn: Any, *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # cleanup goes on: one failed step must not leave the rest behind
        pass
