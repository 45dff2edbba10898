"""carp.sysif: real interfaces of this machine, the name map, carpdev auto-selection."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from carp import sysif
from carp.config import CarpInterface, Node
from carp.store import State

# -- real interfaces --------------------------------------------------------------


def test_loopback_exists_and_is_first() -> None:
    assert sysif.exists("lo")
    assert sysif.names()[0] == "lo"  # ifindex 1 in every namespace


def test_names_are_in_ifindex_order() -> None:
    indexes = [sysif.get(n).index for n in sysif.names()]  # type: ignore[union-attr]
    assert indexes == sorted(indexes)
    assert len(set(indexes)) == len(indexes)


def test_loopback_facts() -> None:
    lo = sysif.get("lo")
    assert lo is not None
    assert lo.index == 1
    assert lo.kind == "loopback"
    assert lo.flags & sysif.IFF_LOOPBACK
    assert lo.flags & sysif.IFF_UP
    assert lo.flags & sysif.IFF_RUNNING  # added like dev_get_flags() does
    assert not lo.flags & sysif.IFF_BROADCAST
    assert lo.mac == "00:00:00:00:00:00"
    assert ("127.0.0.1", 8, None) in lo.v4
    assert all(scope == 0 for addr, _, scope in lo.v6 if addr == "::1")


def test_link_local_scope_is_the_ifindex() -> None:
    for name in sysif.names():
        facts = sysif.get(name)
        assert facts is not None
        for addr, plen, scope in facts.v6:
            assert "%" not in addr
            assert 0 <= plen <= 128
            assert scope == (facts.index if addr.startswith("fe80:") else 0)


def test_address_without_kernel_broadcast(monkeypatch: pytest.MonkeyPatch) -> None:
    # getifaddrs() reports the address itself as the broadcast when the kernel holds
    # no IFA_BROADCAST (`ip addr add 192.168.1.2/24 dev em0`): that is no broadcast.
    table = {2: [
        {"addr": "192.168.1.2", "netmask": "255.255.255.0", "broadcast": "192.168.1.2"},
        {"addr": "192.168.2.2", "netmask": "255.255.255.0", "broadcast": "192.168.2.255"},
        {"addr": "10.0.0.9", "netmask": "255.255.255.255", "broadcast": "10.0.0.9"},
        {"addr": "10.1.0.1", "netmask": "255.255.0.0"},
    ]}
    fake = types.SimpleNamespace(AF_INET=2, AF_INET6=10, ifaddresses=lambda name: table)
    monkeypatch.setitem(sys.modules, "netifaces", fake)
    v4, v6 = sysif.addresses("em0", 2)
    assert v4 == [("192.168.1.2", 24, None), ("192.168.2.2", 24, "192.168.2.255"),
                  ("10.0.0.9", 32, None), ("10.1.0.1", 16, None)]
    assert v6 == []


def test_missing_and_hostile_names() -> None:
    for name in ("no-such-if0", "", "..", ".", "../lo", "lo/..", "a\0b"):
        assert not sysif.exists(name)
        assert sysif.get(name) is None


def test_flags_of_a_down_interface(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A fake sysfs: an interface that is administratively down has no RUNNING.
    for name, flags, oper, carrier in (("d0", "0x1002", "down", None), ("u0", "0x1003", "up", "1")):
        d = tmp_path / name
        d.mkdir()
        (d / "flags").write_text(flags + "\n")
        (d / "operstate").write_text(oper + "\n")
        (d / "ifindex").write_text("7\n" if name == "d0" else "3\n")
        if carrier:
            (d / "carrier").write_text(carrier + "\n")
        (d / "device").mkdir()
    monkeypatch.setattr(sysif, "SYS_NET", str(tmp_path))
    monkeypatch.setattr(sysif, "addresses", lambda name, index: ([], []))
    assert sysif.names() == ["u0", "d0"]
    d0, u0 = sysif.get("d0"), sysif.get("u0")
    assert d0 is not None and u0 is not None
    assert d0.flags == 0x1002 and d0.carrier is None and d0.operstate == "down"
    assert u0.flags == 0x1003 | sysif.IFF_RUNNING | sysif.IFF_LOWER_UP and u0.carrier is True
    assert u0.mtu == 1500 and u0.kind == ""


def test_a_known_kind_skips_the_ethtool_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stacked link without DEVTYPE (carpd's macvlan): only ethtool could name its kind.
    d = tmp_path / "carp0"
    d.mkdir()
    (d / "flags").write_text("0x1003\n")
    (d / "lower_em0").mkdir()
    monkeypatch.setattr(sysif, "SYS_NET", str(tmp_path))
    monkeypatch.setattr(sysif, "addresses", lambda name, index: ([], []))
    asked: list[str] = []
    monkeypatch.setattr(sysif, "_driver", lambda name: asked.append(name) or "ipvlan")
    assert sysif.get("carp0", kind="macvlan").kind == "macvlan"  # type: ignore[union-attr]
    assert asked == []
    assert sysif.get("carp0").kind == "ipvlan" and asked == ["carp0"]  # type: ignore[union-attr]


# -- name map ---------------------------------------------------------------------


@pytest.fixture
def mapfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ifmap"
    path.write_text(
        "# BSD = Linux\n"
        "em0 = eth0\n"
        "em1=eth1   # trailing comment\n"
        "\n"
        "   wm0  =  eth2\n"
        "garbage line\n"
        "= eth9\n"
        "vr0 =\n"
    )
    monkeypatch.setenv(sysif.IFMAP_ENV, str(path))
    return path


def test_ifmap_file_parsing(mapfile: Path) -> None:
    assert sysif.ifmap(State()) == {"em0": "eth0", "em1": "eth1", "wm0": "eth2"}


def test_store_overrides_file(mapfile: Path) -> None:
    state = State(ifmap={"em0": "ens3", "bge0": "eth7"})
    assert sysif.ifmap(state) == {"em0": "ens3", "em1": "eth1", "wm0": "eth2", "bge0": "eth7"}
    assert sysif.resolve("em0", state) == "ens3"
    assert sysif.resolve("em1", state) == "eth1"
    assert sysif.resolve("eth5", state) == "eth5"  # unmapped: identity
    assert sysif.bsd_name("ens3", state) == "em0"
    assert sysif.bsd_name("eth2", state) == "wm0"
    assert sysif.bsd_name("eth0", state) == "eth0"  # em0 was re-pointed by the store
    assert sysif.bsd_name("lo", state) == "lo"


def test_ifmap_file_change_is_seen(mapfile: Path) -> None:
    assert sysif.resolve("em0", State()) == "eth0"
    mapfile.write_text("em0 = eth10\n")
    assert sysif.resolve("em0", State()) == "eth10"


def test_missing_ifmap_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sysif.IFMAP_ENV, str(tmp_path / "absent"))
    assert sysif.ifmap(State()) == {}
    assert sysif.resolve("em0", State(ifmap={"em0": "eth0"})) == "eth0"


# -- carpdev auto-selection (fake interfaces) ----------------------------------------


def _fake(monkeypatch: pytest.MonkeyPatch, facts: list[sysif.SysIf]) -> None:
    table = {f.name: f for f in facts}
    monkeypatch.setattr(sysif, "names", lambda: [f.name for f in facts])
    monkeypatch.setattr(sysif, "get", lambda name: table.get(name))


V4 = list[tuple[str, int, str | None]]
V6 = list[tuple[str, int, int]]


def _if(name: str, index: int, v4: V4, v6: V6 | None = None, flags: int = 0x11043) -> sysif.SysIf:
    mac = f"52:54:00:00:00:{index:02x}"
    return sysif.SysIf(name, index, mac, 1500, flags, True, "up", v4, v6 or [], "")


@pytest.fixture
def lan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(sysif.IFMAP_ENV, str(tmp_path / "none"))
    _fake(monkeypatch, [
        _if("lo", 1, [("127.0.0.1", 8, None)], [("::1", 128, 0)], flags=0x10049),
        _if("eth0", 2, [("192.168.1.2", 24, "192.168.1.255")],
            [("2001:db8::2", 64, 0), ("fe80::1", 64, 2)]),
        _if("eth1", 3, [("10.0.0.2", 16, "10.0.255.255"), ("192.168.2.2", 24, None)]),
        _if("carp0", 4, [("192.168.1.1", 24, "192.168.1.255")]),  # our own macvlan
        _if("eth2", 5, [("10.0.5.2", 24, "10.0.5.255")]),
    ])


def test_carpdev_for_ipv4(lan: None) -> None:
    state = State(interfaces={"carp0": CarpInterface("carp0", nodes=[Node(1)])})
    assert sysif.carpdev_for("192.168.1.1", 24, state) == "eth0"
    assert sysif.carpdev_for("192.168.1.50", 32, state) == "eth0"  # interface mask decides
    assert sysif.carpdev_for("192.168.2.1", 24, state) == "eth1"  # a secondary address
    assert sysif.carpdev_for("172.16.0.1", 24, state) is None
    assert sysif.carpdev_for("127.0.0.5", 8, state) is None  # never loopback
    assert sysif.carpdev_for("not-an-address", 24, state) is None


def test_carpdev_for_prefers_equal_prefixlen(lan: None) -> None:
    # 10.0.5.9 is inside eth1's 10.0/16 and eth2's 10.0.5/24: /24 matches eth2 exactly.
    assert sysif.carpdev_for("10.0.5.9", 24, State()) == "eth2"
    assert sysif.carpdev_for("10.0.5.9", 16, State()) == "eth1"
    assert sysif.carpdev_for("10.0.5.9", 32, State()) == "eth1"  # no exact: lowest ifindex


def test_carpdev_for_vhid_entries_do_not_hide_their_parent(lan: None) -> None:
    # A FreeBSD vhid's macvlan is vh1-eth0; the physical eth0 stays a candidate.
    vh = CarpInterface("eth0", style="vhid", nodes=[Node(1)])
    state = State(interfaces={"carp0": CarpInterface("carp0"), vh.key: vh})
    assert vh.linux_name == "vh1-eth0"
    assert sysif.carpdev_for("192.168.1.1", 24, state) == "eth0"


def test_carpdev_for_skips_macvlan_when_it_is_the_only_match(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(sysif.IFMAP_ENV, str(tmp_path / "none"))
    _fake(monkeypatch, [_if("carp0", 4, [("192.168.9.1", 24, None)])])
    assert sysif.carpdev_for("192.168.9.7", 24, State()) == "carp0"
    state = State(interfaces={"carp0": CarpInterface("carp0", nodes=[Node(1)])})
    assert sysif.carpdev_for("192.168.9.7", 24, state) is None


def test_carpdev_for_ipv6(lan: None) -> None:
    assert sysif.carpdev_for("2001:db8::1", 64, State()) == "eth0"
    assert sysif.carpdev_for("2001:db8:1::1", 64, State()) is None
    assert sysif.carpdev_for("fe80::99", 64, State()) is None  # link-local is ambiguous
    assert sysif.carpdev_for("192.168.1.1", 24, State()) == "eth0"  # families kept apart


def test_carpdev_for_returns_the_bsd_name(lan: None) -> None:
    assert sysif.carpdev_for("192.168.1.1", 24, State(ifmap={"em0": "eth0"})) == "em0"


def test_capabilities_of_real_interfaces() -> None:
    assert sysif.capabilities("no-such-if0") is None
    caps = sysif.capabilities("lo")
    assert caps is not None  # lo answers the ethtool checksum getters
    assert caps & sysif.IFCAP_LINKSTATE
    assert not caps & sysif.IFCAP_VLAN_MTU  # not Ethernet
    assert sysif.mtu("lo") == sysif.get("lo").mtu  # type: ignore[union-attr]
    assert sysif.mtu("no-such-if0") is None


def test_highest_ifindex_covers_every_interface() -> None:
    top = sysif.highest_ifindex()
    assert top >= 1
    assert all(info.index <= top for n in sysif.names() if (info := sysif.get(n)) is not None)


def test_highest_ifindex_reads_sys_when_netlink_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from carp.cmodules import socket as _socket

    top = sysif.highest_ifindex()

    def refused() -> list[tuple[int, str]]:
        raise OSError(97, "Address family not supported by protocol")

    monkeypatch.setattr(_socket, "if_nameindex", refused)
    assert sysif.highest_ifindex() == top
    monkeypatch.setattr(sysif, "SYS_NET", "/nonexistent")
    assert sysif.highest_ifindex() == 0
