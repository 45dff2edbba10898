"""`make demo`: the carp(4) example on two namespace hosts, then a failover to watch,
then the LOAD BALANCING example.

Builds a lab (hostA, hostB and a client on 192.168.1.0/24, all network namespaces joined
by a bridge), types the man page's commands into the hosts, kills the MASTER's carpd with
kill -9 and shows, from a capture on the switch, how hostB took over.  Then both hosts
share 192.168.1.10 with `carpnodes ... balancing ip`: eight client stations connect and
each connection lands on the host the man page's hash picks, until one host dies.
Everything it made is removed at the end, also on Ctrl-C."""

from __future__ import annotations

import os
import sys
import time

from carp.balance import ip_fold
from carp.lab import Capture, Host, Lab
from carp.lab.hosts import Station
from carp.lab.scenario import VMAC1, ifconfig, manpage_pair, master_down, wait_states
from carp.states import BACKUP, MASTER

VIP = "192.168.1.1"
SHARED = "192.168.1.10"


def say(text: str = "") -> None:
    print(text, flush=True)


def echo(host: Host, argv: list[str]) -> None:
    say(f"{host.name}# {' '.join(argv)}")


def show_ifconfig(host: Host) -> None:
    echo(host, ["ifconfig", "carp0"])
    say(host.ifconfig("carp0").stdout.rstrip())


def who_answers(lab: Lab, cap: Capture) -> str:
    """What the client resolves the VIP to, and which host's switch port the reply entered."""
    since = time.time()
    macs = [r["mac"] for r in lab.client(1).arp(VIP, window=0.3)["replies"]]
    hosts = sorted({lab.port_owner(r["port"]) for r in cap.arp_replies(VIP, since=since)})
    owners = ", ".join(f"host{h}" for h in hosts) or "nobody"
    return f"{VIP} is-at {', '.join(macs) or '(no reply)'} (answered by {owners})"


def takeover(lab: Lab, cap: Capture, t_kill: float) -> None:
    a, b = lab.hosts
    md = master_down(1, 100)
    first_b = cap.wait_for(
        lambda r: r["kind"] == "carp" and r["port"] == b.port() and r["vhid"] == 1,
        timeout=md + 3, since=t_kill,
    )
    if first_b is None:
        say("!! hostB did not take over")
        return
    time.sleep(0.2)
    last_a = max(r["t"] for r in cap.adverts(vhid=1, port=a.port()))
    garp = cap.garps(port=b.port(), sender_ip=VIP, since=t_kill)

    events = [
        (last_a, "last advertisement from hostA (vhid 1, advskew 0)"),
        (t_kill, "kill -9"),
        (first_b["t"], f"first advertisement from hostB as MASTER (vhid 1, advskew "
         f"{first_b['advskew']}): {first_b['t'] - last_a:.3f} s after hostA's last; "
         f"master-down = 3 x (1 + 100/256) = {md:.3f} s"),
    ]
    events += [(g["t"], f"gratuitous ARP from hostB: who-has {g['target_ip']} tell "
                f"{g['sender_ip']}, sender {g['sender_mac']}") for g in garp]
    say("\ntimeline from the capture on the switch (0 = kill -9 of hostA's carpd):")
    for t, text in sorted(events, key=lambda e: e[0]):
        say(f"  {t - t_kill:+8.3f} s  {text}")
    if not garp:
        say("  (no gratuitous ARP from hostB captured)")
    say(f"  client now: {who_answers(lab, cap)}")


def connections(lab: Lab, stations: list[Station]) -> None:
    replies = lab.client(1).connect(SHARED, [st.source() for st in stations])
    for st in stations:
        node = ip_fold(st.ip, SHARED) % 2  # carp(4) IP BALANCING
        say(f"  {st.ip:<15} -> {SHARED}: fold % 2 = {node} (vhid {node + 1}), "
            f"accepted by host{replies[st.ip]}")


def balancing(lab: Lab) -> None:
    """The LOAD BALANCING example of carp(4), balancing ip, and a host's death."""
    a, b = lab.hosts
    say("\n--- LOAD BALANCING: two hosts share 192.168.1.10, each the designated MASTER "
        "of one carpnode")
    echo(a, ["carpd"])
    a.start_carpd()
    for host, nodes in ((a, "1:0,2:100"), (b, "1:100,2:0")):
        ifconfig(host, ["carp0", "destroy"], echo)
        ifconfig(host, ["carp0", SHARED, "carpnodes", nodes, "balancing", "ip"], echo)
        host.serve(8000)  # answers each connection with the host's letter
    wait_states({a: {1: MASTER, 2: BACKUP}, b: {1: BACKUP, 2: MASTER}}, 15)
    show_ifconfig(a)
    stations = lab.client(1).stations(8)
    arp = lab.client(1).arp(SHARED, window=0.3)["replies"]
    say(f"\nclient: {SHARED} is-at {', '.join(r['mac'] for r in arp)} (a multicast MAC: the "
        "switch floods, hostA's and hostB's kernels keep their share, in eBPF)")
    say("8 client stations open a TCP connection each:")
    connections(lab, stations)
    say(f"\nhostB# kill -9 {b.carpd_pid}")
    b.kill_carpd()
    wait_states({a: {1: MASTER, 2: MASTER}}, 10)
    say("(hostA becomes MASTER of vhid 2 after its master-down interval, 3 x (1 + 100/256) s)")
    connections(lab, stations)


def run() -> int:
    if os.geteuid() != 0:
        say("make demo needs root: it creates network namespaces")
        return 1
    started = time.monotonic()
    with Lab(hosts=2, lans=1) as lab:
        a, b = lab.hosts
        say(f"lab: hostA (em0 {a.ip()}), hostB (em0 {b.ip()}), client {lab.client().ip} "
            f"on one bridge; namespaces {lab.prefix}-*")
        cap = lab.capture()
        for host in (a, b):
            echo(host, ["carpd"])
            host.start_carpd()
        manpage_pair(lab, echo=echo)
        say("(hostA becomes MASTER after one master-down interval, 3 s)\n")
        show_ifconfig(a)
        show_ifconfig(b)
        say(f"\nclient: {who_answers(lab, cap)}   [virtual MAC {VMAC1}]")
        time.sleep(1.0)

        say(f"\nhostA# kill -9 {a.carpd_pid}        # carpd dies without a word")
        t_kill = a.kill_carpd()
        takeover(lab, cap, t_kill)
        wait_states({b: {1: MASTER}}, 2)
        say("")
        show_ifconfig(b)
        show_ifconfig(a)
        say(f"(hostA runs no carpd: its watchdog removed the macvlan, so "
            f"{'nothing' if not a.holds(VIP) else 'STILL something'} answers for {VIP} there)")
        balancing(lab)
        say(f"\ncleaning up {len(lab.made)} namespaces")
    left = lab.leftovers()
    say(f"done in {time.monotonic() - started:.1f} s; "
        f"{'nothing left behind' if not left else 'LEFT: ' + ' '.join(left)}")
    return 0 if not left else 1


def main() -> None:
    try:
        sys.exit(run())
    except KeyboardInterrupt:
        say("\ninterrupted; the lab was removed")
        sys.exit(130)


if __name__ == "__main__":
    main()
