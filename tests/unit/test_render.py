"""Golden tests: ifconfig output compared literally with docs/userland.md §2.

The Linux side is faked (monkeypatched carp.sysif) so the goldens do not depend on
this machine; a few tests at the end render the real interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from carp import sysif
from carp.config import Address, CarpInterface, Node
from carp.ifconfig import render
from carp.ifconfig import render_fmt as fmt
from carp.personality import policy
from carp.store import State

ETHER_UP = 0x11043  # Linux UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
LOOP_UP = 0x10049  # Linux UP|LOOPBACK|RUNNING|LOWER_UP


@dataclass
class FakeSys:
    """The facts render may ask carp.sysif for, by Linux name."""

    ifs: dict[str, sysif.SysIf] = field(default_factory=dict)
    speeds: dict[str, tuple[int | None, str | None]] = field(default_factory=dict)
    egress: set[str] = field(default_factory=set)
    caps: dict[str, int] = field(default_factory=dict)
    v6_off: set[str] = field(default_factory=set)

    def add(self, name: str, index: int, **kw: Any) -> sysif.SysIf:
        kw.setdefault("mac", "52:54:00:12:34:56")
        kw.setdefault("mtu", 1500)
        kw.setdefault("flags", ETHER_UP)
        kw.setdefault("carrier", True)
        kw.setdefault("operstate", "up")
        facts = sysif.SysIf(name=name, index=index, **kw)
        self.ifs[name] = facts
        return facts

    def names(self) -> list[str]:
        return [f.name for f in sorted(self.ifs.values(), key=lambda f: f.index)]

    def get(self, name: str, kind: str | None = None) -> sysif.SysIf | None:
        return self.ifs.get(name)

    def mtu(self, name: str) -> int | None:
        facts = self.ifs.get(name)
        return facts.mtu if facts else None


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeSys:
    fs = FakeSys()
    monkeypatch.setenv(sysif.IFMAP_ENV, str(tmp_path / "no-ifmap"))
    monkeypatch.setattr(sysif, "names", fs.names)
    monkeypatch.setattr(sysif, "get", fs.get)
    monkeypatch.setattr(sysif, "exists", lambda n: n in fs.ifs)
    monkeypatch.setattr(sysif, "mtu", fs.mtu)
    monkeypatch.setattr(sysif, "speed", lambda n: fs.speeds.get(n, (None, None)))
    monkeypatch.setattr(sysif, "default_route_devices", lambda: set(fs.egress))
    monkeypatch.setattr(sysif, "capabilities", lambda n: fs.caps.get(n))
    monkeypatch.setattr(sysif, "ipv6_disabled", lambda n: n in fs.v6_off)
    return fs


def _status(**vhosts: dict[int, str]) -> dict[str, Any]:
    """carpd's published status: _status(carp0={1: "MASTER"})."""
    return {
        "vhosts": {
            key.replace("__", ":"): {str(v): {"state": s} for v, s in m.items()}
            for key, m in vhosts.items()
        },
        "groups": {},
    }


def _carp(name: str, **kw: Any) -> CarpInterface:
    return CarpInterface(name, **kw)


# -- OpenBSD (docs/userland.md §2.2) ------------------------------------------------------

OBSD_MASTER = """\
carp0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\tlladdr 00:00:5e:00:01:01
\tindex 7 priority 15 llprio 3
\tcarp: MASTER carpdev em0 vhid 1 advbase 1 advskew 0
\tgroups: carp
\tstatus: master
\tinet 192.168.1.1 netmask 0xffffff00 broadcast 192.168.1.255
"""


@pytest.fixture
def obsd_master(fake: FakeSys) -> State:
    fake.add("eth0", 2)  # em0 is eth0 through the store's name map
    ci = _carp(
        "carp0", carpdev="em0", nodes=[Node(1, 0)], up=True, index=7, passphrase="mekmitasdigoat",
        addresses=[Address("192.168.1.1", 24)],
    )
    return State(personality="openbsd", interfaces={"carp0": ci}, ifmap={"em0": "eth0"})


def test_openbsd_master(obsd_master: State) -> None:
    out = render.show_interface("carp0", obsd_master, _status(carp0={1: "MASTER"}))
    assert out == OBSD_MASTER


def test_openbsd_pass_is_never_shown(obsd_master: State) -> None:
    out = render.show_interface("carp0", obsd_master, _status(carp0={1: "MASTER"}), show_key=True)
    assert out == OBSD_MASTER


def test_openbsd_without_carpd_reads_init_and_invalid(obsd_master: State) -> None:
    expected = OBSD_MASTER.replace("carp: MASTER", "carp: INIT").replace("master", "invalid")
    assert render.show_interface("carp0", obsd_master, None) == expected


def test_openbsd_mtu_follows_carpdev(obsd_master: State, fake: FakeSys) -> None:
    fake.ifs["eth0"].mtu = 9000
    out = render.show_interface("carp0", obsd_master, _status(carp0={1: "MASTER"}))
    assert out is not None
    assert out.splitlines()[0].endswith(" mtu 9000")


def test_openbsd_down_is_not_up_nor_running(obsd_master: State) -> None:
    obsd_master.interfaces["carp0"].up = False
    out = render.show_interface("carp0", obsd_master, _status(carp0={1: "INIT"}))
    assert out is not None
    assert out.splitlines()[0] == "carp0: flags=8802<BROADCAST,SIMPLEX,MULTICAST> mtu 1500"


OBSD_BACKUP = """\
carp1: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\tlladdr 00:00:5e:00:01:02
\tindex 8 priority 15 llprio 3
\tcarp: BACKUP carpdev em1 vhid 2 advbase 1 advskew 100 carppeer 10.0.0.2
\tgroups: carp
\tstatus: backup
\tinet6 fe80::200:5eff:fe00:102%carp1 prefixlen 64 scopeid 0x8
\tinet 10.0.0.10 netmask 0xffffff00 broadcast 10.0.0.255
"""


def test_openbsd_backup_with_carppeer_and_link_local(fake: FakeSys) -> None:
    fake.add("em1", 3)
    # carpd's macvlan: its ifindex and link-local show; its VIP copy is not shown twice.
    fake.add("carp1", 8, mac="00:00:5e:00:01:02", v4=[("10.0.0.10", 24, "10.0.0.255")],
             v6=[("fe80::200:5eff:fe00:102", 64, 8)], kind="macvlan")
    ci = _carp(
        "carp1", carpdev="em1", nodes=[Node(2, 100)], up=True, index=99, peer="10.0.0.2",
        addresses=[Address("10.0.0.10", 24)],
    )
    state = State(personality="openbsd", interfaces={"carp1": ci})
    assert render.show_interface("carp1", state, _status(carp1={2: "BACKUP"})) == OBSD_BACKUP


OBSD_BALANCING = """\
carp0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\tlladdr 01:00:5e:00:01:01
\tindex 9 priority 15 llprio 3
\tcarp: carpdev em0 advbase 1 balancing ip
\t\tstate MASTER vhid 1 advskew 0
\t\tstate BACKUP vhid 2 advskew 100
\tgroups: carp
\tstatus: master
\tinet 192.168.1.10 netmask 0xffffff00 broadcast 192.168.1.255
"""


def test_openbsd_carpnodes_balancing(fake: FakeSys) -> None:
    fake.add("em0", 1)
    ci = _carp(
        "carp0", carpdev="em0", nodes=[Node(1, 0), Node(2, 100)], balancing="ip", up=True,
        index=9, addresses=[Address("192.168.1.10", 24)],
    )
    state = State(personality="openbsd", interfaces={"carp0": ci})
    status = _status(carp0={1: "MASTER", 2: "BACKUP"})
    assert render.show_interface("carp0", state, status) == OBSD_BALANCING
    # balancing none with several nodes is forced to ip, as the kernel does
    ci.balancing = "none"
    assert render.show_interface("carp0", state, status) == OBSD_BALANCING


OBSD_FRESH = """\
carp0: flags=8802<BROADCAST,SIMPLEX,MULTICAST> mtu 1500
\tlladdr 00:00:00:00:00:00
\tindex 7 priority 15 llprio 3
\tgroups: carp
\tstatus: invalid
"""


def test_openbsd_fresh_unconfigured(fake: FakeSys) -> None:
    state = State(personality="openbsd", interfaces={"carp0": _carp("carp0", index=7)})
    assert render.show_interface("carp0", state, None) == OBSD_FRESH
    assert render.show_interface("carp0", state, _status()) == OBSD_FRESH


OBSD_PHYS = """\
em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\tlladdr 52:54:00:12:34:56
\tindex 1 priority 0 llprio 3
\tgroups: egress
\tmedia: Ethernet autoselect (1000baseT full-duplex)
\tstatus: active
\tinet 192.168.1.2 netmask 0xffffff00 broadcast 192.168.1.255
"""


def test_openbsd_physical_parent(fake: FakeSys) -> None:
    fake.add("em0", 1, v4=[("192.168.1.2", 24, "192.168.1.255")])
    fake.speeds["em0"] = (1000, "full")
    fake.egress.add("em0")
    assert render.show_interface("em0", State(personality="openbsd"), None) == OBSD_PHYS


def test_openbsd_physical_without_carrier_and_broadcast_fact(fake: FakeSys) -> None:
    # Linux may hold no broadcast address: BSD always shows the computed one.
    fake.add("em0", 1, v4=[("192.168.1.2", 24, None)], carrier=False, flags=0x1003)
    out = render.show_interface("em0", State(personality="openbsd"), None)
    assert out == (
        "em0: flags=8803<UP,BROADCAST,SIMPLEX,MULTICAST> mtu 1500\n"
        "\tlladdr 52:54:00:12:34:56\n"
        "\tindex 1 priority 0 llprio 3\n"
        "\tmedia: Ethernet autoselect (none)\n"
        "\tstatus: no carrier\n"
        "\tinet 192.168.1.2 netmask 0xffffff00 broadcast 192.168.1.255\n"
    )


@pytest.mark.parametrize(
    ("personality", "lines"),
    [
        ("openbsd", ["\tinet 10.0.0.1 netmask 0xfffffffe\n",
                     "\tinet 10.0.0.9 netmask 0xffffffff\n"]),
        ("freebsd", ["\tinet 10.0.0.1 netmask 0xfffffffe broadcast 255.255.255.255\n",
                     "\tinet 10.0.0.9 netmask 0xffffffff broadcast 10.0.0.9\n"]),
    ],
)
def test_physical_point_to_point_subnets(fake: FakeSys, personality: str, lines: list[str]) -> None:
    # Linux holds no broadcast for a /31 or /32: each BSD kernel's own rule decides.
    fake.add("em0", 1, v4=[("192.168.1.2", 24, "192.168.1.77"), ("10.0.0.1", 31, None),
                           ("10.0.0.9", 32, None)])
    out = render.show_interface("em0", State(personality=personality), None)
    assert out is not None
    assert "\tinet 192.168.1.2 netmask 0xffffff00 broadcast 192.168.1.77\n" in out  # set by hand
    for line in lines:
        assert line in out


def test_openbsd_group_attributes(fake: FakeSys) -> None:
    state = State(personality="openbsd")
    assert render.show_group_attrs("carp", state, None) == "carp: carp demote count 0\n"
    state.groups["carp"] = {"carpdemote": 128}
    assert render.show_group_attrs("carp", state, None) == "carp: carp demote count 128\n"
    live = {"vhosts": {}, "groups": {"carp": 129}}
    assert render.show_group_attrs("carp", state, live) == "carp: carp demote count 129\n"


def test_openbsd_group_listing(fake: FakeSys, obsd_master: State) -> None:
    fresh = _carp("carp5", index=20)
    obsd_master.interfaces["carp5"] = fresh
    out = render.show_group("carp", obsd_master, _status(carp0={1: "MASTER"}))
    assert out == OBSD_MASTER + OBSD_FRESH.replace("carp0", "carp5").replace("index 7", "index 20")
    assert render.show_group("nosuch", obsd_master, None) is None


def test_cloners(fake: FakeSys) -> None:
    for pers in ("openbsd", "freebsd", "netbsd"):
        out = render.list_cloners(State(personality=pers))
        words = out.split()
        assert out.endswith("\n") and "carp" in words and words == sorted(words)


# -- -a / -l: every interface once --------------------------------------------------------


@pytest.fixture
def host(fake: FakeSys) -> State:
    fake.add("lo", 1, mac="00:00:00:00:00:00", mtu=65536, flags=LOOP_UP, operstate="unknown",
             v4=[("127.0.0.1", 8, None)], v6=[("::1", 128, 0)], kind="loopback")
    fake.add("eth0", 2, v4=[("192.168.1.2", 24, "192.168.1.255"), ("192.168.1.3", 24, None)])
    fake.add("eth1", 3, flags=0x1002, carrier=None, operstate="down", mac="52:54:00:00:00:01")
    fake.add("carp0", 4, mac="00:00:5e:00:01:01", kind="macvlan",
             v4=[("192.168.1.1", 24, "192.168.1.255")])
    fake.add("vh7-eth0", 5, mac="00:00:5e:00:01:07", kind="macvlan")
    carp0 = _carp("carp0", carpdev="eth0", nodes=[Node(1)], up=True, index=4,
                  addresses=[Address("192.168.1.1", 24), Address("192.168.1.9", 24)])
    carp1 = _carp("carp1", index=6)  # created, carpd has not made its macvlan (yet)
    vh = _carp("eth0", style="vhid", nodes=[Node(7)],
               addresses=[Address("192.168.1.7", 32, vhid=7)])
    return State(personality="openbsd", interfaces={"carp0": carp0, "carp1": carp1, vh.key: vh})


def test_list_names(host: State) -> None:
    assert render.list_names(host, None) == "lo eth0 eth1 carp0 carp1\n"
    assert render.list_names(host, None, up_only=True) == "lo eth0 carp0\n"
    assert render.list_names(host, None, down_only=True) == "eth1 carp1\n"


def test_show_all_openbsd_first_alias_only(host: State) -> None:
    out = render.show_all(host, None)
    heads = [line.split(":")[0] for line in out.splitlines() if not line.startswith("\t")]
    assert heads == ["lo", "eth0", "eth1", "carp0", "carp1"]
    assert "vh7" not in out  # the vhid's macvlan is an implementation detail
    assert "192.168.1.3" not in out and "192.168.1.9" not in out
    assert "\tinet 192.168.1.2 netmask" in out and "\tinet 192.168.1.1 netmask" in out
    full = render.show_all(host, None, all_aliases=True)
    assert "\tinet 192.168.1.3 netmask 0xffffff00 broadcast 192.168.1.255\n" in full
    assert "\tinet 192.168.1.9 netmask 0xffffff00 broadcast 192.168.1.255\n" in full
    assert full.count("\tinet 192.168.1.1 ") == 1  # the macvlan's copy of the VIP is not shown
    assert render.show_interface("carp0", host, None) in full


def test_show_all_other_personalities_show_every_alias(host: State) -> None:
    host.personality = "freebsd"
    out = render.show_all(host, None)
    assert "192.168.1.3 " in out and "192.168.1.9 " in out


def test_show_all_up_down(host: State) -> None:
    up = render.show_all(host, None, up_only=True)
    down = render.show_all(host, None, down_only=True)
    assert up.startswith("lo: ") and "\neth1: " not in up and "\ncarp1: " not in up
    assert down.startswith("eth1: ") and "\ncarp1: " in down and "carp0" not in down


def test_no_such_interface(host: State) -> None:
    assert render.show_interface("carp9", host, None) is None
    assert render.show_interface("em0", host, None) is None
    assert render.show_interface("vh7-eth0", host, None) is None  # not BSD-visible


def test_name_map_renames_physical(host: State) -> None:
    host.ifmap = {"em0": "eth0"}
    out = render.show_interface("em0", host, None)
    assert out is not None and out.startswith("em0: flags=8843<")
    assert render.list_names(host, None) == "lo em0 eth1 carp0 carp1\n"


# -- FreeBSD (docs/userland.md §2.3) ------------------------------------------------------

FBSD_PHYS = """\
em0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500
\toptions=4e524bb<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,JUMBO_MTU,VLAN_HWCSUM,LRO,WOL_MAGIC,VLAN_HWFILTER,VLAN_HWTSO,RXCSUM_IPV6,TXCSUM_IPV6,HWSTATS,MEXTPG>
\tether 52:54:00:12:34:56
\tinet 192.168.1.2 netmask 0xffffff00 broadcast 192.168.1.255
\tinet 192.168.1.1 netmask 0xffffff00 broadcast 192.168.1.255 vhid 1
\tinet6 fe80::5054:ff:fe12:3456%em0 prefixlen 64 scopeid 0x1
\tcarp: MASTER vhid 1 advbase 1 advskew 0
\t      peer 224.0.0.18 peer6 ff02::12
\tmedia: Ethernet autoselect (1000baseT <full-duplex>)
\tstatus: active
\tnd6 options=29<PERFORMNUD,IFDISABLED,AUTO_LINKLOCAL>
"""  # noqa: E501


@pytest.fixture
def fbsd(fake: FakeSys) -> State:
    fake.add("em0", 1, v4=[("192.168.1.2", 24, "192.168.1.255")],
             v6=[("fe80::5054:ff:fe12:3456", 64, 1)])
    fake.add("vh1-em0", 6, mac="00:00:5e:00:01:01", kind="macvlan",
             v4=[("192.168.1.1", 24, "192.168.1.255")])
    fake.speeds["em0"] = (1000, "full")
    fake.caps["em0"] = 0x4E524BB
    fake.v6_off.add("em0")
    vh = _carp("em0", style="vhid", nodes=[Node(1, 0)], passphrase="mekmitasdigoat",
               addresses=[Address("192.168.1.1", 24, vhid=1)])
    return State(personality="freebsd", interfaces={vh.key: vh})


def test_freebsd_physical_with_vhid(fbsd: State) -> None:
    assert render.show_interface("em0", fbsd, _status(em0__1={1: "MASTER"})) == FBSD_PHYS


def test_freebsd_key_only_with_k(fbsd: State) -> None:
    with_key = FBSD_PHYS.replace("advskew 0\n", 'advskew 0 key "mekmitasdigoat"\n')
    status = _status(em0__1={1: "MASTER"})
    assert render.show_interface("em0", fbsd, status, show_key=True) == with_key
    assert render.show_interface("em0", fbsd, status, show_key=False) == FBSD_PHYS
    assert "mekmitasdigoat" not in render.show_all(fbsd, status)


def test_freebsd_two_vhids_and_peer(fbsd: State) -> None:
    vh = _carp("em0", style="vhid", nodes=[Node(2, 100)], peer="192.168.1.3",
               peer6="2001:db8::3", addresses=[Address("192.168.1.50", 32, vhid=2)])
    fbsd.interfaces[vh.key] = vh
    out = render.show_interface("em0", fbsd, _status(em0__1={1: "MASTER"}, em0__2={2: "BACKUP"}))
    assert out is not None
    assert (
        "\tinet 192.168.1.1 netmask 0xffffff00 broadcast 192.168.1.255 vhid 1\n"
        "\tinet 192.168.1.50 netmask 0xffffffff broadcast 192.168.1.50 vhid 2\n"
    ) in out
    assert (
        "\tcarp: MASTER vhid 1 advbase 1 advskew 0\n"
        "\t      peer 224.0.0.18 peer6 ff02::12\n"
        "\tcarp: BACKUP vhid 2 advbase 1 advskew 100\n"
        "\t      peer 192.168.1.3 peer6 2001:db8::3\n"
    ) in out


def test_freebsd_vrrp_line(fbsd: State) -> None:
    ci = fbsd.interfaces["em0:1"]
    ci.version, ci.vrrp_prio, ci.vrrp_interval = 3, 100, 100
    out = render.show_interface("em0", fbsd, _status(em0__1={1: "MASTER"}))
    assert out is not None
    assert "\tvrrp: MASTER vrid 1 prio 100 interval 100\n\tmedia:" in out


def test_freebsd_without_carpd(fbsd: State) -> None:
    out = render.show_interface("em0", fbsd, None)
    assert out == FBSD_PHYS.replace("carp: MASTER", "carp: INIT")


def test_freebsd_list_hides_vhid_macvlans(fbsd: State) -> None:
    assert render.list_names(fbsd, None) == "em0\n"
    assert render.show_all(fbsd, _status(em0__1={1: "MASTER"})) == FBSD_PHYS


FBSD_LEGACY = """\
carp0: flags=49<UP,LOOPBACK,RUNNING> metric 0 mtu 1500
\tinet 192.168.1.50 netmask 0xffffff00
\tcarp: MASTER vhid 1 advbase 1 advskew 0
"""


def test_freebsd_legacy_carp0(fake: FakeSys) -> None:
    ci = _carp("carp0", nodes=[Node(1)], up=True, passphrase="foobar",
               addresses=[Address("192.168.1.50", 24)])
    state = State(personality="freebsd", interfaces={"carp0": ci})
    assert render.show_interface("carp0", state, _status(carp0={1: "MASTER"})) == FBSD_LEGACY
    keyed = FBSD_LEGACY.replace("advskew 0\n", 'advskew 0 key "foobar"\n')
    status = _status(carp0={1: "MASTER"})
    assert render.show_interface("carp0", state, status, show_key=True) == keyed


# -- NetBSD (docs/userland.md §2.4) -------------------------------------------------------

NBSD_CARP = """\
carp0: flags=0x8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\tcarp: MASTER carpdev wm0 vhid 1 advbase 1 advskew 0
\taddress: 00:00:5e:00:01:01
\tinet 192.168.1.1/24 broadcast 192.168.1.255 flags 0x0
"""


def test_netbsd_carp(fake: FakeSys) -> None:
    fake.add("wm0", 1)
    ci = _carp("carp0", carpdev="wm0", nodes=[Node(1)], up=True, passphrase="mekmitasdigoat",
               addresses=[Address("192.168.1.1", 24)])
    state = State(personality="netbsd", interfaces={"carp0": ci})
    status = _status(carp0={1: "MASTER"})
    assert render.show_interface("carp0", state, status) == NBSD_CARP
    assert render.show_interface("carp0", state, status, show_key=True) == NBSD_CARP


def test_netbsd_unconfigured_has_no_carp_line(fake: FakeSys) -> None:
    state = State(personality="netbsd", interfaces={"carp0": _carp("carp0")})
    assert render.show_interface("carp0", state, None) == (
        "carp0: flags=0x8802<BROADCAST,SIMPLEX,MULTICAST> mtu 1500\n"
        "\taddress: 00:00:00:00:00:00\n"
    )


# -- this machine's real interfaces -------------------------------------------------------


@pytest.mark.parametrize("personality", ["openbsd", "freebsd", "netbsd"])
def test_real_loopback(personality: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(sysif.IFMAP_ENV, str(tmp_path / "none"))
    out = render.show_interface("lo", State(personality=personality), None)
    assert out is not None
    first = out.splitlines()[0]
    assert first.startswith("lo: flags=") and "UP,LOOPBACK,RUNNING" in first
    if personality == "netbsd":
        assert "\tinet 127.0.0.1/8 flags 0x0\n" in out
    else:
        assert "\tinet 127.0.0.1 netmask 0xff000000\n" in out
    assert out.endswith("\n")
    names = render.list_names(State(personality=personality), None)
    assert names.split() == sysif.names()


# -- line helpers -------------------------------------------------------------------------


def test_netmask_is_unpadded_hex() -> None:
    # BSD prints the mask with "0x%x": no zero padding.
    assert fmt.inet_line(policy("openbsd"), "10.1.2.3", 8, None) == (
        "\tinet 10.1.2.3 netmask 0xff000000 broadcast 10.255.255.255\n"
    )
    assert fmt.inet_line(policy("freebsd"), "0.0.0.0", 0, None, bcast_flag=False) == (
        "\tinet 0.0.0.0 netmask 0x0\n"
    )
    assert fmt.inet_line(policy("freebsd"), "10.0.0.1", 30, None, vhid=3) == (
        "\tinet 10.0.0.1 netmask 0xfffffffc broadcast 10.0.0.3 vhid 3\n"
    )


@pytest.mark.parametrize(
    ("personality", "addr", "plen", "expected"),
    [
        ("openbsd", "192.168.1.2", 24, "192.168.1.255"),
        ("freebsd", "192.168.1.2", 24, "192.168.1.255"),
        ("netbsd", "192.168.1.2", 24, "192.168.1.255"),
        ("openbsd", "10.0.0.1", 31, None),  # IN_RFC3021_SUBNET: /31 and /32 have none
        ("openbsd", "10.0.0.9", 32, None),
        ("freebsd", "10.0.0.1", 31, "255.255.255.255"),  # IN_RFC3021_MASK
        ("freebsd", "192.168.1.50", 32, "192.168.1.50"),  # docs/userland.md §2.1: the /32 alias
        ("netbsd", "10.0.0.0", 31, "10.0.0.1"),
    ],
)
def test_subnet_broadcast_is_each_kernels(
    personality: str, addr: str, plen: int, expected: str | None
) -> None:
    assert fmt.subnet_broadcast(policy(personality), addr, plen) == expected
    line = fmt.inet_line(policy(personality), addr, plen, None)
    assert (" broadcast " in line) == (expected is not None)
    assert f" broadcast {expected} " in line.replace("\n", " ") or expected is None


def test_flag_translation() -> None:
    assert fmt.bsd_flags(0x1003) == 0x8803  # Linux MULTICAST 0x1000 is BSD 0x8000
    assert fmt.bsd_flags(0x11043) == 0x8843
    assert fmt.bsd_flags(0x11043, lower_up=True) == 0x1008843
    assert fmt.bsd_flags(0x10049) == 0x49  # loopback is not SIMPLEX
    assert fmt.bsd_flags(0x0) == 0
    assert fmt.flags_field(0, policy("openbsd")) == "flags=0<>"
    netbsd = fmt.flags_field(0x8843, policy("netbsd"))
    assert netbsd == "flags=0x8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST>"


def test_media_lines() -> None:
    assert fmt.media_line(policy("openbsd"), True, 100, "half") == (
        "\tmedia: Ethernet autoselect (100baseTX half-duplex)\n"
    )
    assert fmt.media_line(policy("freebsd"), True, 10000, "full") == (
        "\tmedia: Ethernet autoselect (10Gbase-T <full-duplex>)\n"
    )
    assert fmt.media_line(policy("netbsd"), True, None, None) == "\tmedia: Ethernet autoselect\n"
    assert fmt.media_line(policy("openbsd"), False, 1000, "full") == (
        "\tmedia: Ethernet autoselect (none)\n"
    )


def test_inet6_lines() -> None:
    assert fmt.inet6_line(policy("openbsd"), "2001:db8::1", 64, 0, "carp0") == (
        "\tinet6 2001:db8::1 prefixlen 64\n"
    )
    assert fmt.inet6_line(policy("netbsd"), "fe80::1", 64, 2, "wm0") == (
        "\tinet6 fe80::1%wm0/64 flags 0x0 scopeid 0x2\n"
    )
    assert fmt.inet6_line(policy("freebsd"), "2001:db8::5", 64, 0, "em0", vhid=5) == (
        "\tinet6 2001:db8::5 prefixlen 64 vhid 5\n"
    )


# -- interface groups: FreeBSD's `ifconfig -g` and the -a/-l filter ------------------------


def test_freebsd_10_vhids_are_in_no_carp_group(fake: FakeSys, fbsd: State) -> None:
    fake.add("lo0", 2, mac="00:00:00:00:00:00", flags=LOOP_UP, kind="loopback")
    assert render.list_group_members("carp", fbsd) == ""
    assert render.list_group_members("lo", fbsd) == "lo0\n"
    assert render.list_group_members("all", fbsd) == "em0\nlo0\n"  # no vhid macvlan
    assert render.list_names(fbsd, None, group="carp") == "\n"
    assert render.list_names(fbsd, None, group="l*") == "lo0\n"


def test_freebsd_legacy_carp_group(fake: FakeSys) -> None:
    fake.add("em0", 1)
    fake.egress.add("em0")  # OpenBSD's egress group: FreeBSD has none
    c0 = _carp("carp0", nodes=[Node(1)], up=True, index=3, addresses=[Address("192.168.1.50", 24)])
    c1 = _carp("carp1", nodes=[Node(2)], index=4, groups=["carp", "lan"])
    state = State(personality="freebsd", interfaces={"carp0": c0, "carp1": c1})
    assert render.list_group_members("carp", state) == "carp0\ncarp1\n"
    assert render.list_group_members("lan", state) == "carp1\n"
    assert render.list_group_members("egress", state) == ""
    status = _status(carp0={1: "MASTER"})
    shown = [render.show_interface(n, state, status) or "" for n in ("carp0", "carp1")]
    assert render.show_all(state, status, group="carp") == "".join(shown)
    assert render.show_all(state, status, group="lan", up_only=True) == ""
    assert render.list_names(state, status, group="[el]*") == "carp1\n"
