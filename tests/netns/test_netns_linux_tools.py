"""Installing the BSD front ends breaks nothing of Linux's (issue 12), on one lab host:
each sysctl form Linux's scripts and units use gives what procps itself gives (the same
bytes on stdout and stderr, exit status and effect on the namespace's /proc/sys), and
ifconfig's common operations on a physical interface are what iproute2 then shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carp.lab import Host, netns
from sysctl import procps
from tests.netns.lab_fixtures import open_lab

pytestmark = pytest.mark.netns

PROCPS = procps.find()
FORWARD = "net.ipv4.ip_forward"
ARP_IGNORE = "net.ipv4.conf.all.arp_ignore"


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    if PROCPS is None:
        pytest.fail("procps is not installed (Makefile SYSDEPS)")
    with open_lab(hosts=1, lans=1, personality="openbsd") as lab:
        yield lab.host("A")


def ours(host: Host, *args: str) -> tuple[int, str, str]:
    r = host.run([str(netns.BIN / "sysctl"), *args], check=False)
    return r.returncode, r.stdout, r.stderr


def theirs(host: Host, *args: str) -> tuple[int, str, str]:
    """procps as a shell finds it by name (its messages start with argv[0])."""
    r = host.run(["sysctl", *args], check=False, env={"PATH": str(Path(PROCPS or "").parent)})
    return r.returncode, r.stdout, r.stderr


def read(host: Host, name: str) -> str:
    path = "/proc/sys/" + name.replace(".", "/")
    return host.run(["cat", path]).stdout.strip()


def reset(host: Host) -> None:
    theirs(host, f"{FORWARD}=0", f"{ARP_IGNORE}=0")


def test_read_and_write_are_procps_s(host: Host) -> None:
    reset(host)
    for args in ((FORWARD,), ("-n", FORWARD), ("net.nope",), ("-e", "net.nope"),
                 ("-N", FORWARD, ARP_IGNORE)):
        assert ours(host, *args) == theirs(host, *args), args
    assert ours(host, FORWARD) == (0, f"{FORWARD} = 0\n", "")
    assert ours(host, "-w", f"{FORWARD}=1") == (0, f"{FORWARD} = 1\n", "")
    assert read(host, FORWARD) == "1"
    reset(host)
    assert ours(host, f"{ARP_IGNORE}=2") == theirs(host, f"{ARP_IGNORE}=2")


def test_load_file_output_and_effect_are_procps_s(host: Host, tmp_path: Path) -> None:
    conf = tmp_path / "99-x.conf"
    conf.write_text(f"# Linux settings\n{FORWARD} = 1\n; comment\n{ARP_IGNORE}=1\n"
                    "net.nope = 1\n-net.nope.either = 1\n")
    results = []
    for run in (ours, theirs):
        reset(host)
        for args in (("-p", str(conf)), ("-q", "-p", str(conf)), (f"--load={conf}",)):
            results.append((run(host, *args), read(host, FORWARD), read(host, ARP_IGNORE)))
    assert results[:3] == results[3:]
    assert results[0][1:] == ("1", "1")
    assert results[0][0][0] != 0 and "/proc/sys/net/nope:" in results[0][0][2]  # procps


def test_mixed_line_bsd_node_in_bsd_words_linux_name_in_procps_s(host: Host) -> None:
    reset(host)
    rc, out, err = ours(host, "net.inet.carp.preempt=1", f"{FORWARD}=1")
    assert (rc, out, err) == (0, f"net.inet.carp.preempt: 0 -> 1\n{FORWARD} = 1\n", "")
    assert ours(host, "-n", "net.inet.carp.preempt", FORWARD) == (0, "1\n1\n", "")
    reset(host)


def test_listing_is_bsd_tree_then_procps_all(host: Host) -> None:
    rc, out, _ = ours(host, "-a")
    _, linux, _ = theirs(host, "-a")
    bsd = ["net.inet.ip.forwarding", "net.inet.carp.allow", "net.inet.carp.preempt",
           "net.inet.carp.log", "net.inet6.ip6.forwarding"]
    names = [line.split("=")[0].strip() for line in out.splitlines()]
    assert rc == 0 and names[: len(bsd)] == bsd
    assert names[len(bsd):] == [line.split(" = ")[0] for line in linux.splitlines()]
    assert f"\n{FORWARD} = 0\n" in out


def test_usage_and_unknown_options_are_procps_s(host: Host) -> None:
    for args in (("-p", "/nonexistent"), ("--system", "--dry-run"), ("-Z",), ("--bogus",)):
        assert ours(host, *args) == theirs(host, *args), args


# -- ifconfig on a physical interface, seen by iproute2 ------------------------------------


def ifconfig(host: Host, *args: str) -> tuple[int, str, str]:
    r = host.ifconfig(*args, check=False)
    return r.returncode, r.stdout, r.stderr


def link(host: Host, dev: str = "em0") -> dict[str, Any]:
    data: list[dict[str, Any]] = json.loads(host.iproute("-j", "link", "show", dev).stdout)
    return data[0]


def v6(host: Host, dev: str = "em0") -> list[str]:
    data = json.loads(host.iproute("-j", "-6", "addr", "show", dev).stdout)
    return [f"{a['local']}/{a['prefixlen']}" for a in data[0].get("addr_info", [])]


def test_ifconfig_addresses_as_bsd_through_netlink(host: Host) -> None:
    own = host.addresses("em0")
    assert ifconfig(host, "em0", "10.0.0.5", "netmask", "255.255.255.0") == (0, "", "")
    assert host.addresses("em0") == ["10.0.0.5/24"]  # the primary address replaced
    assert "brd 10.0.0.255" in host.iproute("-o", "-4", "addr", "show", "em0").stdout
    assert ifconfig(host, "em0", "inet", "10.0.0.6/24", "alias")[0] == 0
    assert ifconfig(host, "em0", "inet", "10.0.1.9", "prefixlen", "24", "alias")[0] == 0
    assert host.addresses("em0") == ["10.0.0.5/24", "10.0.1.9/24", "10.0.0.6/24"]
    # replacing the primary keeps its subnet's secondary, which Linux would drop with it
    assert ifconfig(host, "em0", "10.0.0.7/24")[0] == 0
    assert sorted(host.addresses("em0")) == ["10.0.0.6/24", "10.0.0.7/24", "10.0.1.9/24"]
    assert ifconfig(host, "em0", "10.0.0.6", "-alias")[0] == 0
    assert ifconfig(host, "em0", "inet", "10.0.1.9", "delete")[0] == 0
    assert host.addresses("em0") == ["10.0.0.7/24"]
    before = host.addresses("em0")
    assert ifconfig(host, "em0", "10.0.0.99", "-alias") == (
        1, "", "ifconfig: SIOCDIFADDR: Can't assign requested address\n")
    assert host.addresses("em0") == before
    assert ifconfig(host, "em0", "inet6", "2001:db8::5", "prefixlen", "64")[0] == 0
    assert "2001:db8::5/64" in v6(host)
    assert ifconfig(host, "em0", "inet6", "2001:db8::5", "-alias")[0] == 0
    assert "2001:db8::5/64" not in v6(host)
    assert "\tinet 10.0.0.7 netmask 0xffffff00 broadcast 10.0.0.255\n" in ifconfig(host, "em0")[1]
    for cidr in own:  # the lab's address back
        assert ifconfig(host, "em0", cidr)[0] == 0
    assert host.addresses("em0") == own


def test_ifconfig_link_up_down_mtu(host: Host) -> None:
    assert ifconfig(host, "em0", "down") == (0, "", "")
    assert "UP" not in link(host)["flags"]
    assert ifconfig(host, "em0", "mtu", "1400", "up") == (0, "", "")
    assert "UP" in link(host)["flags"] and link(host)["mtu"] == 1400
    # refused before anything changes: the kernel's range, a bad number, a group
    for args, err in (
        (("mtu", "70000", "down"), "ifconfig: SIOCSIFMTU: Invalid argument\n"),
        (("down", "mtu", "x"), "ifconfig: mtu x: invalid\n"),
        (("down", "group", "lan"), "ifconfig: SIOCAIFGROUP: Operation not supported\n"),
        (("down", "media", "auto"), "ifconfig: media: bad value\n"),
    ):
        assert ifconfig(host, "em0", *args) == (1, "", err), args
        assert "UP" in link(host)["flags"] and link(host)["mtu"] == 1400
    assert ifconfig(host, "em0", "mtu", "1500")[0] == 0
