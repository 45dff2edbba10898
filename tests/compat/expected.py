"""What each corpus sequence leaves behind, as its man page describes it.

Per sequence: interface specs keyed by the store's interface key (`carp0`, or
`em0:1` for a FreeBSD 10+ vhid on em0), sysctl values, and group demote counters.
A spec is space-separated `field=value` words:

    vhid=N advskew=N advbase=N      the single carp node (leader) and the shared advbase
    nodes=V:S,V:S                   the whole carpnodes list ("" = no vhid configured)
    carpdev=IF pass=P balancing=M   balancing is the effective mode (ip when >1 node)
    addr=A[/LEN][,A...]             exactly these addresses ("" = none); /LEN checks the prefix
    peer=A peer6=A version=N vrrpprio=N vrrpinterval=N style=clone|vhid

Fields a page does not pin down are left out (a mask-less `192.168.1.10` has no
prefix here: the page says nothing about it).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Expect:
    ifs: dict[str, str] = field(default_factory=dict)
    sysctl: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)  # group -> carpdemote


def parse_spec(spec: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in spec.split())


_MEK = "pass=mekmitasdigoat"


def _pair(a: str, b: str, *, p: str = _MEK, skew0: int = 0, skew1: int = 0,
          dev: bool = True, extra: str = "") -> dict[str, str]:
    """carp0 vhid 1 with address a, carp1 vhid 2 with address b (the usual two-host page)."""
    d0 = " carpdev=em0" if dev else ""
    d1 = " carpdev=em1" if dev and b.startswith("192.168.2.") else " carpdev=em0" if dev else ""
    return {
        "carp0": f"style=clone vhid=1 advskew={skew0} advbase=1 {p} addr={a}{d0} {extra}",
        "carp1": f"style=clone vhid=2 advskew={skew1} advbase=1 {p} addr={b}{d1} {extra}",
    }


def _vhids(skew: int) -> dict[str, str]:
    """FreeBSD 10+ carp.4: vhid 1 on em0 and vhid 2 on em1, addresses bound to the vhid."""
    return {
        "em0:1": f"style=vhid vhid=1 advskew={skew} {_MEK} addr=192.168.1.1/24",
        "em1:2": f"style=vhid vhid=2 advskew={skew} {_MEK} addr=192.168.2.1/24",
    }


PREEMPT = {"net.inet.carp.preempt": 1}
ARPBAL = {"net.inet.carp.arpbalance": 1}
V4A, V4B, V4LB = "192.168.1.1/24", "192.168.2.1/24", "192.168.1.10/24"

EXPECT: dict[str, Expect] = {
    # NetBSD: carpdev is found by subnet ("the kernel attempts to set carpdev by looking
    # for another interface with the same subnet").
    "seed000/preempt-hostA": Expect(_pair(V4A, V4B), PREEMPT),
    "seed000/preempt-hostB": Expect(_pair(V4A, V4B, skew0=100, skew1=100), PREEMPT),
    "seed000/arpbalance-hostA": Expect(_pair(V4LB, V4LB, skew1=100), ARPBAL),
    "seed000/arpbalance-hostB": Expect(_pair(V4LB, V4LB, skew0=100), ARPBAL),
    "seed001/preempt-hostA": Expect(_vhids(100), PREEMPT),
    "seed001/preempt-hostB": Expect(_vhids(200), PREEMPT),
    # FreeBSD legacy as rendered in seed 002: the addresses were lost, so none are set.
    "seed002/preempt-hostA": Expect(_pair("", "", dev=False), PREEMPT),
    "seed002/preempt-hostB": Expect(_pair("", "", skew0=100, skew1=100, dev=False), PREEMPT),
    "seed002/arpbalance-hostA": Expect(_pair("", "", skew1=100, dev=False), ARPBAL),
    "seed002/arpbalance-hostB": Expect(_pair("", "", skew0=100, dev=False), ARPBAL),
    # OpenBSD carpnodes era: no carpdev given, found by subnet.
    "seed003/preempt-hostA": Expect({
        "carp0": "vhid=1 advskew=0 addr=192.168.1.1 carpdev=em0",
        "carp1": "vhid=2 advskew=0 addr=192.168.2.1 carpdev=em1",
    }, PREEMPT),
    "seed003/preempt-hostB": Expect({
        "carp0": "vhid=1 advskew=100 addr=192.168.1.1 carpdev=em0",
        "carp1": "vhid=2 advskew=100 addr=192.168.2.1 carpdev=em1",
    }, PREEMPT),
    "seed003/carpnodes": Expect({"carp0": "nodes=3:0,4:0,6:100 balancing=ip addr="}),
    "seed003/balancing-hostA": Expect(
        {"carp0": "nodes=1:0,2:100 balancing=ip addr=192.168.1.10 carpdev=em0"}),
    "seed003/balancing-hostB": Expect(
        {"carp0": "nodes=1:100,2:0 balancing=ip addr=192.168.1.10 carpdev=em0"}),
    "seed004/announce": Expect(
        {"carp0": "vhid=1 advskew=100 advbase=1 addr=192.168.1.10 carpdev=em0"}),
    # OpenBSD 3.5/3.6
    "ref9/OpenBSD carp.4 r1.3/hostA": Expect(_pair(
        "192.168.1.10", "192.168.1.10", skew1=100), ARPBAL),
    "ref9/OpenBSD carp.4 r1.3/hostB": Expect(_pair(
        "192.168.1.10", "192.168.1.10", skew0=100), ARPBAL),
    "ref9/OpenBSD carp.4 r1.7/hostA": Expect(_pair(
        "192.168.1.10", "192.168.1.10", skew1=100), ARPBAL),
    "ref9/OpenBSD carp.4 r1.7/hostB": Expect(_pair(
        "192.168.1.10", "192.168.1.10", skew0=100), ARPBAL),
    # OpenBSD 2015
    "ref9/OpenBSD carp.4 r1.36/hostA": Expect(_pair(V4A, V4B, p=""), PREEMPT),
    "ref9/OpenBSD carp.4 r1.36/hostB": Expect(_pair(V4A, V4B, p="", skew0=100, skew1=100),
                                              PREEMPT),
    "ref9/OpenBSD carp.4 r1.36/carpnodes": Expect(
        {"carp0": "nodes=3:0,4:0,6:100 balancing=ip addr="}),
    "ref9/OpenBSD carp.4 r1.36/balancing-hostA": Expect(
        {"carp0": "nodes=1:0,2:100 balancing=ip addr=192.168.1.10 carpdev=em0"}),
    "ref9/OpenBSD carp.4 r1.36/balancing-hostB": Expect(
        {"carp0": "nodes=1:100,2:0 balancing=ip addr=192.168.1.10 carpdev=em0"}),
    "ref9/OpenBSD carp.4 r1.36/ip-stealth": Expect(
        {"carp0": "nodes=1:0,2:100 balancing=ip-stealth addr=192.168.1.10 carpdev=em0"}),
    "ref9/OpenBSD carp.4 r1.36/ip-unicast": Expect(
        {"carp0": "nodes=1:0,2:100 balancing=ip-unicast addr=192.168.1.10 carpdev=em0"}),
    "ref9/OpenBSD carp.4 r1.36/arp": Expect(
        {"carp0": "nodes=1:0,2:100 balancing=arp addr=192.168.1.10 carpdev=em0"}),
    # OpenBSD ifconfig(8), FAQ, rc: the group counter adds and subtracts.
    "ref9/OpenBSD ifconfig.8/demote": Expect(groups={"carp": 1}),
    "ref9/OpenBSD ifconfig.8/carp0": Expect(
        {"carp0": "nodes= peer=224.0.0.18 balancing=ip-stealth addr="}),
    "ref9/OpenBSD FAQ/carp1": Expect({"carp1": (
        "vhid=1 advskew=0 carpdev=em0 pass=mekmitasdigoat addr=172.16.0.100/24")}),
    "ref9/OpenBSD rc/boot": Expect(groups={"carp": 0}),
    # FreeBSD legacy pages, with addresses.
    "ref9/FreeBSD carp.4 2005/preempt-hostA": Expect(_pair(V4A, V4B, p="pass=foobar"), PREEMPT),
    "ref9/FreeBSD carp.4 2005/preempt-hostB": Expect(_pair(
        V4A, V4B, p="pass=foobar", skew0=100, skew1=100), PREEMPT),
    "ref9/FreeBSD carp.4 2005/arpbalance-hostA": Expect(_pair(
        V4LB, V4LB, p="pass=foobar", skew1=100), ARPBAL),
    "ref9/FreeBSD carp.4 2005/arpbalance-hostB": Expect(_pair(
        V4LB, V4LB, p="pass=foobar", skew0=100), ARPBAL),
    "ref9/FreeBSD carp.4 2010/preempt-hostA": Expect(_pair(V4A, V4B), PREEMPT),
    "ref9/FreeBSD carp.4 2010/preempt-hostB": Expect(_pair(V4A, V4B, skew0=100, skew1=100),
                                                     PREEMPT),
    "ref9/FreeBSD carp.4 2010/arpbalance-hostA": Expect(_pair(V4LB, V4LB, skew1=100), ARPBAL),
    "ref9/FreeBSD carp.4 2010/arpbalance-hostB": Expect(_pair(V4LB, V4LB, skew0=100), ARPBAL),
    # FreeBSD 10+
    "ref9/FreeBSD carp.4 10+/preempt-hostA": Expect(_vhids(100), PREEMPT),
    "ref9/FreeBSD carp.4 10+/preempt-hostB": Expect(_vhids(200), PREEMPT),
    # `mcast`/`mcast6` undo `peer`/`peer6`; `state` is a one-shot request.
    "ref9/FreeBSD ifconfig.8 14+/peer": Expect(
        {"em0:1": "style=vhid vhid=1 peer=224.0.0.18 peer6=ff02::12 addr="}),
    "ref9/FreeBSD ifconfig.8 15+/vrrp": Expect({"em0:1": (
        "style=vhid vhid=1 version=3 vrrpprio=100 vrrpinterval=100 addr=192.168.1.1/24")}),
    # demotion adds: +240 then -240 leaves 0
    "ref9/FreeBSD sysctl/demotion": Expect(sysctl={"net.inet.carp.demotion": 0}),
    "ref9/FreeBSD handbook/master": Expect(
        {"em0:1": "style=vhid vhid=1 advskew=0 pass=testpass addr=192.168.1.50/32"}),
    "ref9/FreeBSD handbook/backup": Expect(
        {"em0:1": "style=vhid vhid=1 advskew=100 pass=testpass addr=192.168.1.50/32"}),
    # NetBSD carp.4 r1.4
    "ref9/NetBSD carp.4/preempt-hostA": Expect(_pair(V4A, V4B), PREEMPT),
    "ref9/NetBSD carp.4/preempt-hostB": Expect(_pair(V4A, V4B, skew0=100, skew1=100), PREEMPT),
    "ref9/NetBSD carp.4/arpbalance-hostA": Expect(_pair(V4LB, V4LB, skew1=100), ARPBAL),
    "ref9/NetBSD carp.4/arpbalance-hostB": Expect(_pair(V4LB, V4LB, skew0=100), ARPBAL),
    # read-only commands after one configuring line
    "ref9/read-only/openbsd": Expect({"carp0": f"vhid=1 advskew=0 carpdev=em0 addr={V4A}"}),
    "ref9/read-only/freebsd": Expect(
        {"em0:1": f"style=vhid vhid=1 advskew=100 {_MEK} addr={V4A}"}),
    "ref9/read-only/freebsd-legacy": Expect(
        {"carp0": f"style=clone vhid=1 pass=foobar addr={V4A}"}),
    "ref9/read-only/netbsd": Expect({"carp0": f"vhid=1 carpdev=em0 {_MEK} addr={V4A}"}),
}
