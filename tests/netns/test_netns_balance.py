"""OpenBSD carpnodes load balancing on namespace hosts: the carp(4) LOAD BALANCING example
(host A `carpnodes 1:0,2:100`, host B `carpnodes 1:100,2:0`) in each balancing mode, with
32 client stations (each its own MAC and address) opening TCP connections to the shared
address.  Which host must accept each connection is computed here from the man page's
rules, independently of carpd's code: ip modes hash the addresses (src XOR dst as one
big-endian word, modulo the node count), arp mode hashes the station's MAC with
carp_hash.  The switch capture proves nobody answers twice and, for ip-stealth, that no
frame leaves with a virtual MAC as its source."""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from carp.lab import Capture, Host, Lab, netns
from carp.lab.hosts import Station
from carp.lab.scenario import vhid_states, wait_states, wait_until
from tests.netns.lab_fixtures import open_lab

pytestmark = pytest.mark.netns

VIP = "192.168.1.10"
VIP6 = "2001:db8:1::10"
STATIONS = 32
PORT = 8000
MODES = ["ip", "ip-stealth", "ip-unicast", "arp"]
VIRTUAL = ("00:00:5e:00:01:", "01:00:5e:00:01:")


# -- the man page's rules, written out again ----------------------------------------------


def fold(src: str, dst: str) -> int:
    family = socket.AF_INET6 if ":" in src else socket.AF_INET
    raw = socket.inet_pton(family, src) + socket.inet_pton(family, dst)
    out = 0
    for (word,) in struct.iter_unpack("!I", raw):
        out ^= word
    return out


def carp_hash_index(mac: str, count: int, passphrase: str = "") -> int:
    """OpenBSD carp_hash(sc, src) % lscount, lookup2's mix keyed from the HMAC pad."""
    key = passphrase.encode()[:19].ljust(20, b"\0")
    kmd = struct.unpack("<5I", hashlib.sha1(bytes(b ^ 0x36 for b in key.ljust(64, b"\0"))
                                            + b"\x02\x01").digest())
    m = 0xFFFFFFFF
    src = bytes.fromhex(mac.replace(":", ""))
    a = (0x9E3779B9 + int.from_bytes(src[:4], "little")) & m
    b = ((kmd[0] ^ kmd[1]) + (src[5] << 8) + src[4]) & m
    c = ((kmd[2] ^ kmd[3]) + int.from_bytes(key[:4], "little")) & m
    for sa, sb, sc in ((13, 8, 13), (12, 16, 5), (3, 10, 15)):
        a = ((a - b - c) & m) ^ (c >> sa)
        b = ((b - c - a) & m) ^ ((a << sb) & m)
        c = ((c - a - b) & m) ^ (b >> sc)
    return c % count


def node_of(mode: str, st: Station, count: int, family: int = 4) -> int:
    if mode == "arp":
        return carp_hash_index(st.mac, count)
    return fold(st.ip6 if family == 6 else st.ip, VIP6 if family == 6 else VIP) % count


# -- the lab -------------------------------------------------------------------------------


def configure(host: Host, skews: list[int], mode: str, vhids: list[int] | None = None,
              ipv6: bool = False) -> None:
    """The man page's one line (and an IPv6 address for the IPv6 tests)."""
    vhids = vhids or list(range(1, len(skews) + 1))
    nodes = ",".join(f"{v}:{s}" for v, s in zip(vhids, skews, strict=True))
    host.ifconfig("carp0", VIP, "carpnodes", nodes, "balancing", mode)
    if ipv6:
        host.ifconfig("carp0", "inet6", VIP6, "prefixlen", "64")


@contextlib.contextmanager
def balanced(mode: str, hosts: int = 2, vhids: list[int] | None = None, hub: bool = False,
             ipv6: bool = False) -> Iterator[tuple[Lab, Capture, list[Station]]]:
    """`hosts` hosts each the designated MASTER of one node (advskew 0 there, 100
    elsewhere), preempt on (the man page's first example), a TCP server on each host that
    answers with its letter, and 32 stations on the client's LAN."""
    with open_lab(hosts=hosts, lans=1) as lab:
        if hub:
            lab.hub(1)
        cap = lab.capture(every=True)
        for i, host in enumerate(lab.hosts):
            host.start_carpd()
            host.sysctl("-w", "net.inet.carp.preempt=1")
            configure(host, [0 if j == i else 100 for j in range(hosts)], mode, vhids, ipv6)
        vhids = vhids or list(range(1, hosts + 1))
        want = {h: {v: "MASTER" if i == j else "BACKUP" for j, v in enumerate(vhids)}
                for i, h in enumerate(lab.hosts)}
        assert wait_states(want, 15), {h.letter: vhid_states(h) for h in lab.hosts}
        for host in lab.hosts:
            host.serve(PORT)
        yield lab, cap, lab.client(1).stations(STATIONS, ipv6=ipv6)


def carp0(host: Host) -> dict[int, str]:
    """vhid -> state of carp0's nodes (empty while the host runs no carpd)."""
    return {vhid: s for (key, vhid), s in host.states().items() if key == "carp0"}


def node_count(lab: Lab) -> int:
    return max(len(carp0(h)) for h in lab.hosts)


def masters(lab: Lab) -> dict[int, list[str]]:
    """Node index -> the letters of the hosts MASTER of carp0's node (vhid order)."""
    out: dict[int, list[str]] = {}
    for host in lab.hosts:
        states = carp0(host)
        for i, vhid in enumerate(sorted(states)):
            if states[vhid] == "MASTER":
                out.setdefault(i, []).append(host.letter)
    return out


def owners(lab: Lab) -> dict[int, str]:
    """Node index -> the letter of the one host MASTER of carp0's node."""
    found = masters(lab)
    assert all(len(hosts) == 1 for hosts in found.values()), f"two MASTERs: {found}"
    return {i: hosts[0] for i, hosts in found.items()}


def check_split(lab: Lab, cap: Capture, stations: list[Station], mode: str,
                family: int = 4) -> dict[str, int]:
    """Every station connects once; each connection is accepted by the host MASTER of
    the node the rules pick, and by nobody else (SYN-ACKs from that host's port only: a
    retransmitted one under load is the same host answering again)."""
    count = node_count(lab)
    who = owners(lab)
    since = time.time()
    target = VIP6 if family == 6 else VIP
    replies = lab.client(1).connect(target, [st.source(family) for st in stations], PORT)
    tally: dict[str, int] = {}
    for st in stations:
        addr = st.ip6 if family == 6 else st.ip
        want = who[node_of(mode, st, count, family)]
        assert replies[addr] == want, (addr, st.mac, replies[addr], want)
        tally[want] = tally.get(want, 0) + 1
    time.sleep(0.2)  # the capture has seen the last segments too
    synacks = [r for r in cap.select("tcp", since=since) if r["syn"] and r["ack"]]
    by_station: dict[str, list[str]] = {}
    for r in synacks:
        by_station.setdefault(r["dst_ip"], []).append(lab.port_owner(r["port"]))
    for st in stations:
        addr = st.ip6 if family == 6 else st.ip
        assert set(by_station.get(addr, [])) == {replies[addr]}, (addr, by_station.get(addr))
    return tally


def check_neighbour_answers(lab: Lab, cap: Capture, stations: list[Station], mode: str,
                            family: int = 4) -> None:
    """Each station asked for the shared address (its kernel, before connecting) and got
    one answer per question: ip modes from the leader's MASTER with the interface's MAC,
    arp mode from the MASTER of the station's node with that node's MAC."""
    who = owners(lab)
    for st in stations:
        if family == 6:
            asked = [r for r in cap.select("ns", src_mac=st.mac) if r["target"] == VIP6]
            answers = [r for r in cap.select("na") if r["target"] == VIP6
                       and r["dst_mac"] == st.mac]
        else:
            asked = cap.select("arp", op=1, sender_mac=st.mac, target_ip=VIP)
            answers = cap.arp_replies(VIP, target_mac=st.mac)
        assert len(answers) == len(asked) >= 1, (st, asked, answers)
        node = carp_hash_index(st.mac, node_count(lab)) if mode == "arp" else 0
        mac = {"ip": "01:00:5e:00:01:01"}.get(mode, "00:00:5e:00:01:01")
        if mode == "arp":
            mac = f"00:00:5e:00:01:{node + 1:02x}"
        assert {r.get("lladdr", r.get("sender_mac")) for r in answers} == {mac}
        assert {lab.port_owner(r["port"]) for r in answers} == {who[node]}


def virtual_sources(lab: Lab, cap: Capture) -> list[dict[str, object]]:
    """Frames that entered the switch from a host with a virtual MAC as source."""
    hosts = {h.port() for h in lab.hosts}
    return [r for r in cap.select() if r.get("port") in hosts
            and str(r.get("src_mac", "")).startswith(VIRTUAL)]


# -- the tests -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_manpage_pair(mode: str) -> None:
    """Split, failover after kill -9, split again after preemption; ip-unicast on a hub
    (its unicast MAC is learnt by a switch), the others on the lab's learning bridge."""
    with balanced(mode, hub=mode == "ip-unicast") as (lab, cap, stations):
        a, b = lab.hosts
        tally = check_split(lab, cap, stations, mode)
        assert set(tally) == {"A", "B"}, tally
        check_neighbour_answers(lab, cap, stations, mode)
        if mode in ("ip", "ip-stealth"):
            assert virtual_sources(lab, cap) == []
        assert a.tcx_programs() == 1 and a.tcx_programs("carp0", egress=True) == 1

        a.kill_carpd()
        assert wait_states({b: {1: "MASTER", 2: "MASTER"}}, 10), vhid_states(b)
        assert wait_until(lambda: a.holds(VIP) == [], 2)
        assert a.tcx_programs() == 0, "a dead carpd's filter stays attached"
        assert "01:00:5e:00:01:01" not in a.link_multicast()
        assert check_split(lab, cap, stations, mode) == {"B": STATIONS}

        a.start_carpd()  # preempt: A takes node 1 back
        assert wait_states({a: {1: "MASTER", 2: "BACKUP"}, b: {1: "BACKUP", 2: "MASTER"}},
                           10), (vhid_states(a), vhid_states(b))
        assert check_split(lab, cap, stations, mode) == tally
        if mode in ("ip", "ip-stealth"):
            assert virtual_sources(lab, cap) == []


@pytest.mark.parametrize("mode", ["ip", "arp"])
def test_icmp_echo_is_answered_once_by_its_node(mode: str) -> None:
    """Echo requests are hashed like any packet (icmp_input's reflect path; arp mode: by
    the station's node), and a dropped one never reaches the other host's stack, which
    would answer it too: every echo gets one reply, from the host the rules pick."""
    with balanced(mode) as (lab, cap, stations):
        who, count = owners(lab), node_count(lab)
        pingers = stations[:8]
        since = time.time()
        streams = [lab.client(1).echo_stream(VIP, st.source(), duration=0.5, interval=0.1)
                   for st in pingers]
        sent = [json.loads(p.communicate(timeout=30)[0])["sent"] for p in streams]
        time.sleep(0.2)  # the capture has seen the last replies
        for st, n in zip(pingers, sent, strict=True):
            replies = cap.select("icmp_reply", dst_ip=st.ip, since=since)
            assert n >= 1 and len(replies) == n, (st, n, replies)
            assert {lab.port_owner(r["port"]) for r in replies} == {
                who[node_of(mode, st, count)]}, (st, replies)


def test_ip_unicast_needs_the_hub() -> None:
    """On a learning bridge the unicast virtual MAC is learnt at one port and the other
    node never sees its share: why the man page asks for a hub or a monitor port."""
    with balanced("ip-unicast") as (lab, cap, stations):
        replies = lab.client(1).connect(VIP, [st.source() for st in stations], PORT,
                                        timeout=1.0)
        assert any(r.startswith("error") for r in replies.values())


def test_three_nodes() -> None:
    """carp(4): `carpnodes 3:0,4:0,6:100` style, three hosts each the MASTER of one of
    vhids 3, 4 and 6; every connection to the node fold % 3 picks.  One host dies and
    the others share its node as their advskews say."""
    with balanced("ip", hosts=3, vhids=[3, 4, 6]) as (lab, cap, stations):
        assert set(check_split(lab, cap, stations, "ip")) == {"A", "B", "C"}
        a, b, c = lab.hosts
        c.kill_carpd()
        # A and B have equal advskew on C's node: a tie, settled within an interval or two
        settled = {"A", "B"}

        def shared() -> bool:
            found = masters(lab)
            return len(found) == 3 and all(len(h) == 1 and h[0] in settled
                                           for h in found.values())

        assert wait_until(shared, 10), masters(lab)
        assert "C" not in check_split(lab, cap, stations, "ip")


def test_the_manpage_three_node_line_verbatim() -> None:
    """carp(4)'s `ifconfig carp0 carpnodes 3:0,4:0,6:100` as written (no create, no
    address: it comes in a second line) and its mirror on host B: A is MASTER of vhids
    3 and 4, B of 6, and the flows split as those advskews say."""
    with open_lab(hosts=2, lans=1) as lab:
        cap = lab.capture(every=True)
        a, b = lab.hosts
        for host, nodes in ((a, "3:0,4:0,6:100"), (b, "3:100,4:100,6:0")):
            host.start_carpd()
            host.sysctl("-w", "net.inet.carp.preempt=1")
            host.ifconfig("carp0", "carpnodes", nodes)
            host.ifconfig("carp0", VIP)
        want = {a: {3: "MASTER", 4: "MASTER", 6: "BACKUP"},
                b: {3: "BACKUP", 4: "BACKUP", 6: "MASTER"}}
        assert wait_states(want, 15), (vhid_states(a), vhid_states(b))
        assert owners(lab) == {0: "A", 1: "A", 2: "B"}
        for host in lab.hosts:
            host.serve(PORT)
        assert set(check_split(lab, cap, lab.client(1).stations(STATIONS), "ip")) == {"A", "B"}


@pytest.mark.parametrize("mode", ["ip", "ip-stealth", "arp"])
def test_ipv6(mode: str) -> None:
    """The same split over IPv6; neighbour solicitations answered once ("ARP balancing
    also works for IPv6, but instead of ARP the Neighbor Discovery Protocol is used").
    In ip and ip-stealth modes the IPv6 frames (MLD, DAD, answers) hide the virtual MAC
    as well."""
    with balanced(mode, ipv6=True) as (lab, cap, stations):
        tally = check_split(lab, cap, stations, mode, family=6)
        assert set(tally) == {"A", "B"}
        check_neighbour_answers(lab, cap, stations, mode, family=6)
        if mode in ("ip", "ip-stealth"):
            assert virtual_sources(lab, cap) == []
        # The hosts reach the stations through the macvlan (their carpdevs have no
        # address in 2001:db8:1::/64): the kernels' own solicitations announced what the
        # stations were told, so each station still knows the MAC of its node.
        neigh = netns.run(["ip", "-n", lab.client(1).ns, "-6", "neigh", "show", VIP6]).stdout
        for st in stations:
            node = carp_hash_index(st.mac, 2) if mode == "arp" else 0
            want = "01:00:5e:00:01:01" if mode == "ip" else f"00:00:5e:00:01:0{node + 1}"
            assert f"dev {st.dev} lladdr {want}" in neigh, (st, neigh)
        assert check_split(lab, cap, stations, mode, family=6) == tally
        check_split(lab, cap, stations, mode)  # and IPv4 beside it


def test_reconfiguring_one_interface_leaves_the_other_alone() -> None:
    """carp1, a plain failover address, keeps its MASTER and its connections while carp0
    changes its balancing mode and then its carpnodes."""
    with balanced("ip") as (lab, cap, stations):
        a, b = lab.hosts
        for host, skew in ((a, 0), (b, 100)):
            host.ifconfig("carp1", "create")
            host.ifconfig("carp1", "vhid", "9", "advskew", str(skew), "192.168.1.20/24")
        assert wait_states({a: {9: "MASTER"}, b: {9: "BACKUP"}}, 10)
        since_a = a.status()["vhosts"]["carp1"]["9"]["since"]  # type: ignore[index]
        other = [st.source() for st in stations[:4]]
        assert set(lab.client(1).connect("192.168.1.20", other, PORT).values()) == {"A"}

        for host in (a, b):
            host.ifconfig("carp0", "balancing", "ip-stealth")
        assert wait_states({a: {1: "MASTER", 2: "BACKUP"}, b: {1: "BACKUP", 2: "MASTER"}}, 15)
        assert set(check_split(lab, cap, stations, "ip-stealth")) == {"A", "B"}

        # three nodes over two hosts: vhid 3 goes to whoever wins its election
        a.ifconfig("carp0", "carpnodes", "1:0,2:100,3:100")
        b.ifconfig("carp0", "carpnodes", "1:100,2:0,3:100")
        assert wait_until(lambda: len(owners(lab)) == 3, 15), owners(lab)
        assert sum(check_split(lab, cap, stations, "ip-stealth").values()) == STATIONS

        assert a.status()["vhosts"]["carp1"]["9"]["since"] == since_a  # type: ignore[index]
        assert set(lab.client(1).connect("192.168.1.20", other, PORT).values()) == {"A"}
        assert a.tcx_programs() == 1


def test_without_cap_bpf_carpd_runs_and_names_what_is_missing() -> None:
    """carpd starts without CAP_BPF; a balanced interface runs its elections, and the log
    names the interface and the capability, once."""
    with open_lab(hosts=1, lans=1) as lab:
        a = lab.hosts[0]
        a.start_carpd(without_caps=("bpf", "sys_admin"))
        a.ifconfig("carp0", VIP, "carpnodes", "1:0,2:100", "balancing", "ip")
        assert wait_states({a: {1: "MASTER", 2: "MASTER"}}, 15), vhid_states(a)
        a.ifconfig("carp0", "balancing", "arp")  # a reconfiguration says nothing new
        assert wait_until(lambda: "carpd_state" in a.log(), 5), a.log()
        lines = [line for line in a.log().splitlines() if "load balancing unavailable" in line]
        assert len(lines) == 1 and "carp0" in lines[0], lines
        assert "missing capability CAP_BPF" in lines[0], lines
        assert a.carpd_running and a.tcx_programs() == 0


def test_clean_exit_leaves_nothing_and_touches_nothing_else() -> None:
    """carpd creates no qdisc and no tc filter, and one it did not create survives it."""
    with balanced("arp") as (lab, _cap, _stations):
        a = lab.hosts[0]
        assert a.tcx_programs() == 1 and a.tcx_programs("carp0", egress=True) == 1
        a.run(["tc", "qdisc", "add", "dev", "em0", "clsact"])
        a.stop_carpd(signal.SIGTERM)
        assert a.tcx_programs() == 0
        assert set(a.links()) == {"lo", "em0"}
        assert not [m for m in a.link_multicast() if m.startswith(VIRTUAL)]
        assert "clsact" in a.run(["tc", "qdisc", "show", "dev", "em0"]).stdout


@pytest.mark.parametrize("mode", ["ip", "arp"])
def test_subnet_only_on_the_carp_interface(mode: str) -> None:
    """The carpdevs have no address in the shared subnet, so the hosts answer through the
    macvlan and their kernels resolve the stations from it: those requests must announce
    what carpd told each station (ip: the multicast MAC; arp: the station's node), or the
    station would move to another node mid-connection, and must leave from the carpdev's
    MAC."""
    net = "10.77.0"
    with open_lab(hosts=2, lans=1) as lab:
        cap = lab.capture(every=True)
        a, b = lab.hosts
        for host, nodes in ((a, "1:0,2:100"), (b, "1:100,2:0")):
            host.start_carpd()
            host.ifconfig("carp0", "create")
            host.ifconfig("carp0", f"{net}.10/24", "carpdev", "em0", "carpnodes", nodes,
                          "balancing", mode)
        assert wait_states({a: {1: "MASTER", 2: "BACKUP"}, b: {1: "BACKUP", 2: "MASTER"}}, 15)
        for host in lab.hosts:
            host.serve(PORT)
        client = lab.client(1)
        stations = client.stations(8)
        batch = [f"addr add {net}.{110 + i}/24 dev {st.dev}" for i, st in enumerate(stations)]
        netns.run(["ip", "-n", client.ns, "-batch", "-"], input="\n".join(batch) + "\n")
        sources = [f"{net}.{110 + i}%{st.dev}" for i, st in enumerate(stations)]
        for _ in range(2):  # the second round after the hosts' kernels asked about them
            replies = client.connect(f"{net}.10", sources, PORT)
            for i, st in enumerate(stations):
                addr = f"{net}.{110 + i}"
                node = carp_hash_index(st.mac, 2) if mode == "arp" else fold(addr, f"{net}.10") % 2
                assert replies[addr] == "AB"[node], (addr, replies[addr])
        neigh = netns.run(["ip", "-n", client.ns, "neigh", "show", f"{net}.10"]).stdout
        for st in stations:
            node = carp_hash_index(st.mac, 2) if mode == "arp" else 0
            want = "01:00:5e:00:01:01" if mode == "ip" else f"00:00:5e:00:01:0{node + 1}"
            assert f"dev {st.dev} lladdr {want}" in neigh, (st, neigh)
        asked = [r for r in cap.select("arp", op=1) if r["port"] in (a.port(), b.port())]
        assert asked, "the hosts' kernels never asked for a station"
        if mode == "ip":
            assert virtual_sources(lab, cap) == []
