"""ifconfig commands applied to the store: the man-page corpus, every keyword, atomicity."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ifconfig_support import Host

from carp.config import Address, Node
from carp.ifconfig import render

PERSONALITIES = ["openbsd", "freebsd", "netbsd"]


@pytest.fixture
def host(tmp_path: Path, request: pytest.FixtureRequest) -> Host:
    return Host(tmp_path / "run", getattr(request, "param", "openbsd"))


def make(tmp_path: Path, personality: str) -> Host:
    return Host(tmp_path / personality, personality)


# -- the corpus: docs/userland.md §9 and the seeds, one fresh host per script ---------

CORPUS: dict[str, dict[str, list[str]]] = {
    "openbsd": {
        "carp.4 r1.3": [
            "ifconfig carp0 vhid 1 pass mekmitasdigoat 192.168.1.10",
            "ifconfig carp1 vhid 2 advskew 100 pass mekmitasdigoat 192.168.1.10",
            "ifconfig carp0 vhid 1 advskew 100 pass mekmitasdigoat 192.168.1.10",
            "ifconfig carp1 vhid 2 pass mekmitasdigoat 192.168.1.10",
        ],
        "carp.4 r1.7": [
            "ifconfig carp0 create",
            "ifconfig carp0 vhid 1 pass mekmitasdigoat 192.168.1.10",
            "ifconfig carp1 create",
            "ifconfig carp1 vhid 2 advskew 100 pass mekmitasdigoat 192.168.1.10",
            "ifconfig carp0 vhid 1 advskew 100 pass mekmitasdigoat 192.168.1.10",
            "ifconfig carp1 vhid 2 pass mekmitasdigoat 192.168.1.10",
        ],
        "carp.4 r1.36": [
            "ifconfig carp0 create",
            "ifconfig carp0 192.168.1.1/24 carpdev em0 vhid 1",
            "ifconfig carp1 192.168.2.1/24 carpdev em1 vhid 2",
            "ifconfig carp0 192.168.1.1/24 carpdev em0 vhid 1 advskew 100",
            "ifconfig carp1 192.168.2.1/24 carpdev em1 vhid 2 advskew 100",
            "ifconfig carp0 carpnodes 3:0,4:0,6:100",
            "ifconfig carp0 192.168.1.10 carpdev em0 carpnodes 1:0,2:100 balancing ip",
            "ifconfig carp0 192.168.1.10 carpdev em0 carpnodes 1:100,2:0 balancing ip",
            "ifconfig carp0 192.168.1.10 carpdev em0 carpnodes 1:0,2:100 balancing ip-stealth",
            "ifconfig carp0 192.168.1.10 carpdev em0 carpnodes 1:0,2:100 balancing ip-unicast",
            "ifconfig carp0 192.168.1.10 carpdev em0 carpnodes 1:0,2:100 balancing arp",
        ],
        "ifconfig.8 and FAQ": [
            "ifconfig -g carp",
            "ifconfig -g carp carpdemote 50",
            "ifconfig -g carp -carpdemote 50",
            "ifconfig -g carp carpdemote",
            "ifconfig carp0 carppeer 10.0.0.2",
            "ifconfig carp0 -carppeer",
            "ifconfig carp0 state backup",
            "ifconfig carp0 balancing ip-stealth",
            "ifconfig carp1 vhid 1 carpdev em0 pass mekmitasdigoat advskew 0 "
            "172.16.0.100 netmask 255.255.255.0",
            "ifconfig -g carp carpdemote 128",
            "ifconfig -g carp -carpdemote 128",
        ],
        "seed 003": [
            "ifconfig carp0 192.168.1.1 vhid 1",
            "ifconfig carp1 192.168.2.1 vhid 2",
            "ifconfig carp0 192.168.1.1 vhid 1 advskew 100",
            "ifconfig carp1 192.168.2.1 vhid 2 advskew 100",
            "ifconfig carp0 carpnodes 3:0,4:0,6:100",
            "ifconfig carp0 192.168.1.10 carpnodes 1:0,2:100 balancing ip",
            "ifconfig carp0 192.168.1.10 carpnodes 1:100,2:0 balancing ip",
        ],
        "seed 004": [
            "ifconfig carp0 vhid 1 192.168.1.10",
            "ifconfig carp0 advskew 100",
        ],
    },
    "freebsd": {
        "carp.4 2005": [
            "ifconfig carp0 create",
            "ifconfig carp0 vhid 1 pass foobar 192.168.1.1/24",
            "ifconfig carp1 create",
            "ifconfig carp1 vhid 2 pass foobar 192.168.2.1/24",
            "ifconfig carp0 vhid 1 advskew 100 pass foobar 192.168.1.1/24",
            "ifconfig carp1 vhid 2 advskew 100 pass foobar 192.168.2.1/24",
            "ifconfig carp0 vhid 1 pass foobar 192.168.1.10/24",
            "ifconfig carp1 vhid 2 advskew 100 pass foobar 192.168.1.10/24",
            "ifconfig carp0 vhid 1 advskew 100 pass foobar 192.168.1.10/24",
            "ifconfig carp1 vhid 2 pass foobar 192.168.1.10/24",
        ],
        "carp.4 2010": [
            "ifconfig carp0 create",
            "ifconfig carp0 vhid 1 pass mekmitasdigoat 192.168.1.1/24",
            "ifconfig carp1 create",
            "ifconfig carp1 vhid 2 pass mekmitasdigoat 192.168.2.1/24",
            "ifconfig carp0 vhid 1 advskew 100 pass mekmitasdigoat 192.168.1.1/24",
            "ifconfig carp1 vhid 2 advskew 100 pass mekmitasdigoat 192.168.2.1/24",
            "ifconfig carp0 vhid 1 pass mekmitasdigoat 192.168.1.10/24",
            "ifconfig carp1 vhid 2 advskew 100 pass mekmitasdigoat 192.168.1.10/24",
            "ifconfig carp0 vhid 1 advskew 100 pass mekmitasdigoat 192.168.1.10/24",
            "ifconfig carp1 vhid 2 pass mekmitasdigoat 192.168.1.10/24",
        ],
        "carp.4 10+ (seed 001)": [
            "ifconfig em0 vhid 1 advskew 100 pass mekmitasdigoat 192.168.1.1/24",
            "ifconfig em1 vhid 2 advskew 100 pass mekmitasdigoat 192.168.2.1/24",
            "ifconfig em0 vhid 1 advskew 200 pass mekmitasdigoat 192.168.1.1/24",
            "ifconfig em1 vhid 2 advskew 200 pass mekmitasdigoat 192.168.2.1/24",
        ],
        "ifconfig.8 14+": [
            "ifconfig em0 vhid 1 peer 192.168.1.3",
            "ifconfig em0 vhid 1 peer6 2001:db8::3",
            "ifconfig em0 vhid 1 mcast",
            "ifconfig em0 vhid 1 mcast6",
            "ifconfig em0 vhid 1 state backup",
            "ifconfig em0 vhid 1 state master",
            "ifconfig em0 vhid 1 carpver 3 vrrpprio 100 vrrpinterval 100 192.168.1.1/24",
            "ifconfig em0 inet vhid 1 pass testpass alias 192.168.1.50/32",
            "ifconfig em0 inet vhid 1 advskew 100 pass testpass alias 192.168.1.50/32",
        ],
        "seed 002 (legacy, no address)": [
            "ifconfig carp0 create",
            "ifconfig carp0 vhid 1 pass mekmitasdigoat",
            "ifconfig carp1 create",
            "ifconfig carp1 vhid 2 pass mekmitasdigoat",
            "ifconfig carp0 vhid 1 advskew 100 pass mekmitasdigoat",
            "ifconfig carp1 vhid 2 advskew 100 pass mekmitasdigoat",
        ],
    },
    "netbsd": {
        "carp.4 r1.4 (seed 000)": [
            "ifconfig carp0 create",
            "ifconfig carp0 vhid 1 pass mekmitasdigoat 192.168.1.1 netmask 255.255.255.0",
            "ifconfig carp1 create",
            "ifconfig carp1 vhid 2 pass mekmitasdigoat 192.168.2.1/24 netmask 255.255.255.0",
            "ifconfig carp0 vhid 1 advskew 100 pass mekmitasdigoat 192.168.1.1 "
            "netmask 255.255.255.0",
            "ifconfig carp1 vhid 2 advskew 100 pass mekmitasdigoat 192.168.2.1 "
            "netmask 255.255.255.0",
            "ifconfig carp0 vhid 1 pass mekmitasdigoat 192.168.1.10 netmask 255.255.255.0",
            "ifconfig carp1 vhid 2 advskew 100 pass mekmitasdigoat 192.168.1.10 "
            "netmask 255.255.255.0",
            "ifconfig carp0 vhid 1 advskew 100 pass mekmitasdigoat 192.168.1.10 "
            "netmask 255.255.255.0",
            "ifconfig carp1 vhid 2 pass mekmitasdigoat 192.168.1.10 netmask 255.255.255.0",
        ],
    },
}

SCRIPTS = [
    pytest.param(p, lines, id=f"{p}:{name}")
    for p, scripts in CORPUS.items()
    for name, lines in scripts.items()
]


@pytest.fixture(autouse=True)
def quiet_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """The show side belongs to render; here only its contract matters."""
    monkeypatch.setattr(render, "show_group_attrs", lambda g, s, st: f"{g}: attrs\n")


@pytest.mark.parametrize(("personality", "lines"), SCRIPTS)
def test_corpus_script_runs(tmp_path: Path, personality: str, lines: list[str]) -> None:
    h = make(tmp_path, personality)
    for line in lines:
        r = h.line(line)
        assert (r.code, r.err) == (0, ""), line


def run_all(h: Host, lines: list[str]) -> None:
    for line in lines:
        r = h.line(line)
        assert r.code == 0, (line, r.err)


def test_openbsd_r136_result(tmp_path: Path) -> None:
    h = make(tmp_path, "openbsd")
    run_all(h, CORPUS["openbsd"]["carp.4 r1.36"][:5])
    c0, c1 = h.state.interfaces["carp0"], h.state.interfaces["carp1"]
    assert (c0.style, c0.carpdev, c0.nodes, c0.up) == ("clone", "em0", [Node(1, 100)], True)
    assert c0.addresses == [Address("192.168.1.1", 24)]
    assert (c1.carpdev, c1.nodes, c1.addresses) == (
        "em1",
        [Node(2, 100)],
        [Address("192.168.2.1", 24)],
    )
    run_all(h, ["ifconfig carp0 192.168.1.10 carpdev em0 carpnodes 1:0,2:100 balancing ip"])
    c0 = h.state.interfaces["carp0"]
    assert c0.nodes == [Node(1, 0), Node(2, 100)] and c0.balancing == "ip"
    # Without `alias` the new address replaces the first one, as SIOCAIFADDR does.
    assert c0.addresses == [Address("192.168.1.10", 24)]


def test_seed_003_finds_carpdev_by_subnet_with_classful_mask(tmp_path: Path) -> None:
    h = make(tmp_path, "openbsd")
    run_all(h, CORPUS["openbsd"]["seed 003"][:2])
    c0, c1 = h.state.interfaces["carp0"], h.state.interfaces["carp1"]
    assert (c0.carpdev, c0.addresses) == ("em0", [Address("192.168.1.1", 24)])
    assert (c1.carpdev, c1.addresses) == ("em1", [Address("192.168.2.1", 24)])


def test_seed_004_advskew_after_vhid(tmp_path: Path) -> None:
    h = make(tmp_path, "openbsd")
    run_all(h, CORPUS["openbsd"]["seed 004"])
    c0 = h.state.interfaces["carp0"]
    assert c0.nodes == [Node(1, 100)] and c0.carpdev == "em0" and c0.passphrase == ""


def test_faq_line(tmp_path: Path) -> None:
    h = make(tmp_path, "openbsd")
    run_all(h, CORPUS["openbsd"]["ifconfig.8 and FAQ"][8:9])
    c1 = h.state.interfaces["carp1"]
    assert (c1.carpdev, c1.nodes, c1.passphrase) == ("em0", [Node(1, 0)], "mekmitasdigoat")
    assert c1.addresses == [Address("172.16.0.100", 24)]


def test_group_demotion(tmp_path: Path) -> None:
    h = make(tmp_path, "openbsd")

    def demote() -> int:
        return h.state.groups["carp"]["carpdemote"]

    run_all(h, ["ifconfig -g carp carpdemote 50"])
    assert demote() == 50
    run_all(h, ["ifconfig -g carp carpdemote"])
    assert demote() == 51
    run_all(h, ["ifconfig -g carp -carpdemote 128"])
    assert demote() == 0  # floors at 0
    run_all(h, ["ifconfig -g carp -carpdemote"])
    assert demote() == 0
    assert h("-g", "carp").out == "carp: attrs\n"


def test_freebsd_10_vhid_on_physical(tmp_path: Path) -> None:
    h = make(tmp_path, "freebsd")
    run_all(h, CORPUS["freebsd"]["carp.4 10+ (seed 001)"][:2])
    e = h.state.interfaces["em0:1"]
    assert (e.style, e.name, e.carpdev, e.nodes) == ("vhid", "em0", "em0", [Node(1, 100)])
    assert e.passphrase == "mekmitasdigoat" and e.key == "em0:1"
    assert e.addresses == [Address("192.168.1.1", 24, vhid=1)]
    assert h.state.interfaces["em1:2"].nodes == [Node(2, 100)]
    run_all(h, ["ifconfig em0 inet vhid 1 pass testpass alias 192.168.1.50/32"])
    e = h.state.interfaces["em0:1"]
    assert [a.address for a in e.addresses] == ["192.168.1.1", "192.168.1.50"]
    assert e.addresses[1] == Address("192.168.1.50", 32, vhid=1) and e.passphrase == "testpass"


def test_freebsd_vhid_without_address_and_removal(tmp_path: Path) -> None:
    h = make(tmp_path, "freebsd")
    run_all(h, ["ifconfig em0 vhid 3 advskew 100"])
    assert h.state.interfaces["em0:3"].addresses == []
    run_all(h, ["ifconfig em0 vhid 3 alias 192.168.1.60/32"])
    run_all(h, ["ifconfig em0 inet 192.168.1.60 -alias"])
    assert "em0:3" not in h.state.interfaces  # last address gone: the vhid goes too


@pytest.mark.parametrize("personality", PERSONALITIES)
def test_a_vhid_key_is_no_interface_name(tmp_path: Path, personality: str) -> None:
    """The store keys a FreeBSD vhid `em0:1`; typed as a name it is no carpN to change."""
    h = make(tmp_path, personality)
    run_all(h, ["ifconfig em0 vhid 1 192.168.1.50/32"])
    before = h.raw()
    r = h("em0:1", "advskew", "3")
    assert r.code == 1 and r.err
    assert h.raw() == before


def test_freebsd_peer_mcast_state_vrrp(tmp_path: Path) -> None:
    h = make(tmp_path, "freebsd")
    run_all(h, CORPUS["freebsd"]["ifconfig.8 14+"][:2])
    e = h.state.interfaces["em0:1"]
    assert (e.peer, e.peer6) == ("192.168.1.3", "2001:db8::3")
    run_all(h, ["ifconfig em0 vhid 1 mcast", "ifconfig em0 vhid 1 mcast6"])
    e = h.state.interfaces["em0:1"]
    assert (e.peer, e.peer6) == ("224.0.0.18", "ff02::12")
    gen = h.state.generation
    run_all(h, ["ifconfig em0 vhid 1 state master"])
    req = h.state.interfaces["em0:1"].state_request
    assert req is not None and (req.state, req.vhid, req.seq) == ("MASTER", 1, gen + 1)
    run_all(h, ["ifconfig em0 vhid 1 carpver 3 vrrpprio 100 vrrpinterval 100 192.168.1.1/24"])
    e = h.state.interfaces["em0:1"]
    assert (e.version, e.vrrp_prio, e.vrrp_interval) == (3, 100, 100)


def test_freebsd_address_without_mask_warns(tmp_path: Path) -> None:
    h = make(tmp_path, "freebsd")
    run_all(h, ["ifconfig carp0 create"])
    r = h("carp0", "vhid", "1", "192.168.1.5")
    assert r.code == 0
    assert r.err == (
        "ifconfig: WARNING: setting interface address without mask is deprecated,\n"
        "default mask may not be correct.\n"
    )
    assert h.state.interfaces["carp0"].addresses == [Address("192.168.1.5", 24)]


def test_netbsd_prefix_and_netmask(tmp_path: Path) -> None:
    h = make(tmp_path, "netbsd")
    run_all(h, CORPUS["netbsd"]["carp.4 r1.4 (seed 000)"][:4])
    c1 = h.state.interfaces["carp1"]
    assert (c1.carpdev, c1.addresses) == ("em1", [Address("192.168.2.1", 24)])
    run_all(h, ["ifconfig carp0 192.168.1.1/16 netmask 255.255.255.128"])
    assert h.state.interfaces["carp0"].addresses == [Address("192.168.1.1", 25)]


def test_freebsd_legacy_seed_002_has_no_carpdev(tmp_path: Path) -> None:
    h = make(tmp_path, "freebsd")
    run_all(h, CORPUS["freebsd"]["seed 002 (legacy, no address)"])
    c0 = h.state.interfaces["carp0"]
    assert (c0.carpdev, c0.nodes, c0.addresses, c0.up) == (None, [Node(1, 100)], [], False)


@pytest.mark.parametrize("personality", PERSONALITIES)
def test_no_matching_subnet_stores_carpdev_none(tmp_path: Path, personality: str) -> None:
    h = make(tmp_path, personality)
    run_all(h, ["ifconfig carp3 create"] if personality != "openbsd" else [])
    run_all(h, ["ifconfig carp3 vhid 3 10.9.9.9/24"])
    c = h.state.interfaces["carp3"]
    assert (c.carpdev, c.up, c.addresses) == (None, True, [Address("10.9.9.9", 24)])


# -- every keyword on a carp interface ------------------------------------------------


def test_keywords_openbsd(host: Host) -> None:
    run_all(host, ["ifconfig carp0 vhid 5 carpdev em0 advbase 3 advskew 7 pass " + "x" * 30])
    c = host.state.interfaces["carp0"]
    assert (c.nodes, c.advbase, c.passphrase, c.carpdev) == ([Node(5, 7)], 3, "x" * 19, "em0")
    assert c.up is False  # no address yet
    run_all(host, ["ifconfig carp0 up"])
    assert host.state.interfaces["carp0"].up is True
    run_all(host, ["ifconfig carp0 down"])
    assert host.state.interfaces["carp0"].up is False
    run_all(host, ["ifconfig carp0 lladdr 0:1:2:a:bb:CC", "ifconfig carp0 group lan"])
    c = host.state.interfaces["carp0"]
    assert c.lladdr == "00:01:02:0a:bb:cc" and c.groups == ["carp", "lan"]
    run_all(host, ["ifconfig carp0 -group lan", "ifconfig carp0 lladdr random"])
    c = host.state.interfaces["carp0"]
    assert c.groups == ["carp"] and c.lladdr is not None and c.lladdr != "00:01:02:0a:bb:cc"
    run_all(host, ["ifconfig carp0 carppeer 10.0.0.2", "ifconfig carp0 balancing IP-Unicast"])
    c = host.state.interfaces["carp0"]
    assert (c.peer, c.balancing) == ("10.0.0.2", "ip-unicast")
    run_all(host, ["ifconfig carp0 -carppeer", "ifconfig carp0 vhid 6"])
    c = host.state.interfaces["carp0"]
    assert (c.peer, c.nodes) == ("224.0.0.18", [Node(6, 7)])
    run_all(host, ["ifconfig carp0 state MaStEr"])
    assert host.state.interfaces["carp0"].state_request.state == "MASTER"  # type: ignore[union-attr]
    run_all(host, ["ifconfig carp0 state bogus", "ifconfig carp0 state init"])  # ignored
    assert host.state.interfaces["carp0"].state_request.state == "MASTER"  # type: ignore[union-attr]
    run_all(host, ["ifconfig carp0 destroy"])
    assert "carp0" not in host.state.interfaces


def test_pass_empty_string_clears_key(host: Host) -> None:
    run_all(host, ["ifconfig carp0 vhid 1 pass secret"])
    assert host("carp0", "pass", "").code == 0
    assert host.state.interfaces["carp0"].passphrase == ""


def test_advskew_before_vhid_in_one_command(host: Host) -> None:
    run_all(host, ["ifconfig carp0 advskew 100 vhid 1"])
    assert host.state.interfaces["carp0"].nodes == [Node(1, 100)]
    run_all(host, ["ifconfig carp1 advskew 100"])  # no vhid ever: nothing to keep it on
    assert host.state.interfaces["carp1"].nodes == []


def test_netbsd_minus_carpdev(tmp_path: Path) -> None:
    h = make(tmp_path, "netbsd")
    run_all(h, ["ifconfig carp0 create", "ifconfig carp0 carpdev em1 vhid 2"])
    assert h.state.interfaces["carp0"].carpdev == "em1"
    run_all(h, ["ifconfig carp0 -carpdev", "ifconfig carp0 state MASTER"])
    assert h.state.interfaces["carp0"].carpdev is None


def test_address_forms(host: Host) -> None:
    run_all(host, ["ifconfig carp0 vhid 1 192.168.1.10 netmask 0xffffff00"])
    assert host.state.interfaces["carp0"].addresses == [Address("192.168.1.10", 24)]
    run_all(host, ["ifconfig carp0 192.168.1.11 prefixlen 28 alias"])
    run_all(host, ["ifconfig carp0 alias 192.168.1.12/26 broadcast 192.168.1.63"])
    addrs = host.state.interfaces["carp0"].addresses
    assert addrs[1:] == [Address("192.168.1.11", 28), Address("192.168.1.12", 26, "192.168.1.63")]
    run_all(host, ["ifconfig carp0 192.168.1.11 -alias", "ifconfig carp0 inet 192.168.1.12 delete"])
    assert host.state.interfaces["carp0"].addresses == [Address("192.168.1.10", 24)]
    run_all(host, ["ifconfig carp0 inet6 2001:DB8::10 prefixlen 64 alias"])
    run_all(host, ["ifconfig carp0 inet6 2001:db8::11/120 alias"])
    fams = [(a.address, a.prefixlen) for a in host.state.interfaces["carp0"].addresses]
    assert fams == [("192.168.1.10", 24), ("2001:db8::10", 64), ("2001:db8::11", 120)]
    run_all(host, ["ifconfig carp0 -inet6"])
    assert [a.family for a in host.state.interfaces["carp0"].addresses] == [4]
    run_all(host, ["ifconfig carp0 10.1 alias"])  # inet_aton forms, classful /8
    assert host.state.interfaces["carp0"].addresses[-1] == Address("10.0.0.1", 8)
    run_all(host, ["ifconfig carp0 -inet"])
    assert host.state.interfaces["carp0"].addresses == []


def test_ipv6_default_prefix(host: Host) -> None:
    run_all(host, ["ifconfig carp0 inet6 fd00::1 vhid 1 carpdev em0"])
    assert host.state.interfaces["carp0"].addresses == [Address("fd00::1", 64)]


def test_create_then_parameters_in_one_command(host: Host) -> None:
    run_all(host, ["ifconfig carp2 create vhid 2 carpdev em1"])
    assert host.state.interfaces["carp2"].nodes == [Node(2, 0)]


def test_name_map_is_used_for_carpdev(host: Host) -> None:
    host.sysif.ifmap["wm0"] = "eth0"
    run_all(host, ["ifconfig carp0 vhid 1 carpdev wm0"])
    assert host.state.interfaces["carp0"].carpdev == "wm0"


def test_unchanged_command_does_not_bump_generation(host: Host) -> None:
    run_all(host, ["ifconfig carp0 vhid 1 carpdev em0"])
    gen = host.state.generation
    run_all(host, ["ifconfig carp0 vhid 1 carpdev em0"])
    assert host.state.generation == gen


# -- all or nothing ---------------------------------------------------------------------

FAILING = {
    "openbsd": [
        "carp0 advskew 50 vhid 300",
        "carp0 pass new 192.168.1.300",
        "carp0 advskew 10 carpdev nosuch0",
        "carp1 vhid 1 carpdev em0",  # duplicate vhid on em0
        "carp0 create",
        "carp0 advskew 1 carpnodes 1:0,1:5",
        "carp0 192.168.1.99 -alias",
    ],
    "freebsd": [
        "carp0 advskew 60 vhid 0",
        "em0 vhid 2 advskew 300",
        "em0 vhid 9 advskew 1 state bogus",
        "carp7 vhid 7",
    ],
    "netbsd": [
        "carp0 advskew 70 state master",
        "carp0 advskew 255",
        "carp0 advbase 2 bogus1 bogus2 bogus3",
    ],
}


@pytest.mark.parametrize(
    ("personality", "command"),
    [(p, c) for p, cs in FAILING.items() for c in cs],
)
def test_failing_command_changes_nothing(tmp_path: Path, personality: str, command: str) -> None:
    h = make(tmp_path, personality)
    if personality == "freebsd":
        run_all(h, ["ifconfig carp0 create", "ifconfig em0 vhid 2 192.168.1.1/24"])
    elif personality == "netbsd":
        run_all(h, ["ifconfig carp0 create"])
    run_all(h, ["ifconfig carp0 vhid 1 advskew 5 pass old carpdev em0 192.168.1.10/24"])
    before = h.raw()
    r = h(*command.split())
    assert r.code == 1 and r.err
    assert h.raw() == before


# -- property: random token soup never crashes, and a failure changes nothing ----------

KEYWORDS = [
    "create", "destroy", "vhid", "advbase", "advskew", "pass", "carpdev", "-carpdev",
    "state", "carpnodes", "balancing", "carppeer", "-carppeer", "group", "-group",
    "lladdr", "peer", "peer6", "mcast", "mcast6", "carpver", "vrrpprio", "vrrpinterval",
    "inet", "inet6", "-inet", "-inet6", "netmask", "prefixlen", "broadcast", "alias",
    "-alias", "delete", "up", "down",
]
VALUES = [
    "0", "1", "2", "3", "100", "254", "255", "256", "-1", "abc", "", "em0", "em1", "nosuch0",
    "carp1", "master", "BACKUP", "init", "1:0,2:100", "1:0,1:0", "ip", "arp", "bogus",
    "10.0.0.2", "192.168.1.10", "192.168.1.10/24", "192.168.1.10/33", "2001:db8::1",
    "2001:db8::1/64", "255.255.255.0", "0xffffff00", "255.0.255.0", "0:1:2:3:4:5", "random",
    "lan", "lan0", "x" * 40,
]
NAMES = ["carp0", "carp1", "em0", "em1", "nosuch0", "carp"]
FLAGS = ["-a", "-A", "-C", "-l", "-g", "-k", "-u", "-d", "-x"]


GOOD: dict[str, list[str]] = {
    "vhid": ["1", "2", "3"], "advbase": ["1", "2"], "advskew": ["0", "100"],
    "pass": ["secret", ""], "carpdev": ["em0", "em1"], "state": ["MASTER", "backup"],
    "carpnodes": ["1:0,2:100", "3:0"], "balancing": ["ip", "none"], "carppeer": ["10.0.0.2"],
    "group": ["lan"], "-group": ["lan"], "lladdr": ["0:1:2:3:4:5"], "peer": ["10.0.0.3"],
    "peer6": ["2001:db8::3"], "carpver": ["2", "3"], "vrrpprio": ["100"],
    "vrrpinterval": ["100"], "netmask": ["255.255.255.0"], "prefixlen": ["24"],
    "broadcast": ["192.168.1.255"],
}
ADDRESSES = ["192.168.1.10", "192.168.2.10/24", "10.9.9.9", "192.168.1.11/32"]
PARAM = st.one_of(
    st.sampled_from(sorted(GOOD)).flatmap(
        lambda k: st.sampled_from(GOOD[k] + VALUES[:8]).map(lambda v: [k, v])
    ),
    st.sampled_from(["create", "destroy", "up", "down", "alias", "-alias", "delete"]).map(
        lambda w: [w]
    ),
    st.sampled_from(["-carpdev", "-carppeer", "mcast", "mcast6", "-inet", "-inet6"]).map(
        lambda w: [w]
    ),
    st.sampled_from(ADDRESSES).map(lambda w: [w]),
    st.sampled_from(KEYWORDS + VALUES).map(lambda w: [w]),  # soup
)
WORDS = st.lists(PARAM, min_size=1, max_size=6).map(lambda ps: [w for p in ps for w in p])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    personality=st.sampled_from(PERSONALITIES),
    setup=st.lists(st.tuples(st.sampled_from(NAMES), WORDS), max_size=3),
    flags=st.lists(st.sampled_from(FLAGS), max_size=1),
    name=st.sampled_from(NAMES),
    words=WORDS,
)
def test_token_soup(
    personality: str,
    setup: list[tuple[str, list[str]]],
    flags: list[str],
    name: str,
    words: list[str],
) -> None:
    # carppeer resolves host names: keep the property test off the network.
    fake_gai = mock.patch("socket.getaddrinfo", side_effect=socket.gaierror(-2, "Name unknown"))
    with tempfile.TemporaryDirectory() as tmp, fake_gai:
        h = Host(Path(tmp) / "run", personality)
        h("carp0", "create")
        h("carp1", "create")
        for target, cmd in setup:
            h(target, *cmd)
        before = h.raw()
        r = h(*flags, name, *words)
        assert r.code in (0, 1)
        if r.code != 0:
            assert r.err, "a failure always says something"
            assert h.raw() == before
        state = h.state  # still a loadable store
        seen: set[tuple[str, int]] = set()
        for ci in state.interfaces.values():
            dev = ci.name if ci.style == "vhid" else ci.carpdev
            for node in ci.nodes:
                assert 1 <= node.vhid <= 255 and 0 <= node.advskew <= 254
                if dev is not None:
                    assert (dev, node.vhid) not in seen
                    seen.add((dev, node.vhid))


def test_apply_leaves_the_state_object_alone_on_failure(host: Host) -> None:
    """In-process callers (boot replay) get the same guarantee as the store."""
    from carp.ifconfig.apply import apply
    from carp.ifconfig.errors import IfconfigError
    from carp.ifconfig.operations import parse_command
    from carp.personality import policy

    run_all(host, ["ifconfig carp0 vhid 1 carpdev em0 192.168.1.10/24"])
    state = host.state
    before = state.to_dict()
    obsd = policy("openbsd")
    cmd = parse_command("carp0", "advskew 99 pass new up 192.168.1.11 vhid 0".split(), obsd)
    with pytest.raises(IfconfigError):
        apply(cmd, state, host.sysif)
    assert state.to_dict() == before
    warnings = apply(parse_command("carp0", ["advskew", "99"], obsd), state, host.sysif).warnings
    assert warnings == [] and state.interfaces["carp0"].nodes == [Node(1, 99)]


def test_every_parameter_has_a_handler() -> None:
    """apply dispatches on the Op class: a new keyword's Op needs a handler (a KeyError
    otherwise), the address words aside, which carp.ifconfig.addresses gathers."""
    from carp.ifconfig import operations as o
    from carp.ifconfig.apply_clone import CLONE_OPS
    from carp.ifconfig.apply_vhid import VHID_OPS, WITHOUT_VHID

    every = {c for c in vars(o).values() if isinstance(c, type) and issubclass(c, o.Op)}
    address = {o.AddressWord, o.Netmask, o.Prefixlen, o.Broadcast, o.Alias, o.Unalias}
    address.add(o.RemoveFamily)
    life_cycle = {o.Create, o.Destroy}
    assert set(CLONE_OPS) == every - {o.Op, o.Valued} - address - life_cycle
    assert set(VHID_OPS) <= set(CLONE_OPS)
    assert set(WITHOUT_VHID) <= set(VHID_OPS)


@pytest.mark.parametrize(
    "line",
    [
        "ifconfig em0 inet 192.168.1.50/32 alias vhid 4",
        "ifconfig em0 vhid 4 alias 192.168.1.50/32",
        "ifconfig em0 192.168.1.50/32 vhid 4 alias",
    ],
)
def test_freebsd_vhid_binds_every_address_of_the_command(tmp_path: Path, line: str) -> None:
    h = make(tmp_path, "freebsd")
    run_all(h, [line])
    assert h.state.interfaces["em0:4"].addresses == [Address("192.168.1.50", 32, vhid=4)]


def test_not_root_is_eperm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = make(tmp_path, "openbsd")
    assert h("carp0", "create").code == 0

    def denied(self: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(h.store), "transaction", denied)
    r = h("carp0", "vhid", "1")
    assert (r.code, r.err) == (1, "ifconfig: carp0: SIOCSVH: Operation not permitted\n")
    r = h("carp1", "vhid", "1")  # ifconfig creates a missing carp1 first
    assert (r.code, r.err) == (1, "ifconfig: carp1: SIOCIFCREATE: Operation not permitted\n")
    r = h("-g", "carp", "carpdemote")
    assert (r.code, r.err) == (1, "ifconfig: SIOCSIFGATTR: Operation not permitted\n")


def test_new_interfaces_get_indexes_above_every_linux_ifindex(host: Host) -> None:
    """A stored index must never read like lo's or a NIC's before carpd makes the macvlan."""
    linux_max = host.sysif.highest_ifindex()
    assert host("carp0", "create").code == 0
    assert host("em0", "vhid", "3", "192.168.1.50/32").code == 0
    assert host("carp1", "create").code == 0
    st = host.state
    indexes = [st.interfaces[k].index for k in ("carp0", "em0:3", "carp1")]
    assert indexes == [linux_max + 1, linux_max + 2, linux_max + 3]
