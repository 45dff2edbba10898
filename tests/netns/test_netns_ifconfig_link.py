"""ifconfig on a physical interface is all or nothing, and deletes only the address it
names (issue: half-applied changes, secondaries re-added bare), seen by iproute2 on a
veth pair t0/t1 made for it in a lab host and removed after each test."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from carp.lab import Host
from tests.netns.lab_fixtures import open_lab

pytestmark = pytest.mark.netns

PROMOTE = "net.ipv4.conf.t0.promote_secondaries"
LIFETIME = re.compile(r"(valid|preferred)_lft (\d+)sec")


@pytest.fixture(scope="module")
def lab_host() -> Iterator[Host]:
    with open_lab(hosts=1, lans=1, personality="openbsd") as lab:
        yield lab.host("A")


@pytest.fixture
def host(lab_host: Host) -> Iterator[Host]:
    """t0 up with 10.9.0.1/24, then 10.9.0.2/24 as net-tools' alias t0:1 (noprefixroute,
    finite lifetimes) and 10.9.1.1/24 of another subnet."""
    lab_host.iproute("link", "add", "t0", "type", "veth", "peer", "name", "t1")
    try:
        lab_host.iproute("link", "set", "t0", "up")
        lab_host.iproute("addr", "add", "10.9.0.1/24", "brd", "+", "dev", "t0")
        lab_host.iproute("addr", "add", "10.9.0.2/24", "brd", "+", "dev", "t0", "label", "t0:1",
                         "noprefixroute", "valid_lft", "1000", "preferred_lft", "500")
        lab_host.iproute("addr", "add", "10.9.1.1/24", "dev", "t0")
        yield lab_host
    finally:
        lab_host.iproute("link", "del", "t0", check=False)


def shown(host: Host, family: str = "-4") -> list[tuple[str, list[int]]]:
    """`ip -o -4 addr show t0`: each line with its lifetimes apart (they count down)."""
    out = host.iproute("-o", family, "addr", "show", "t0").stdout
    return [(LIFETIME.sub(r"\1_lft N", line), [int(n) for _, n in LIFETIME.findall(line)])
            for line in out.splitlines()]


def same_lines(before: list[tuple[str, list[int]]], after: list[tuple[str, list[int]]]) -> bool:
    return [line for line, _ in before] == [line for line, _ in after] and all(
        0 <= b - a <= 5 for (_, bs), (_, as_) in zip(before, after, strict=True)
        for b, a in zip(bs, as_, strict=True))


def link(host: Host) -> dict[str, Any]:
    data: list[dict[str, Any]] = json.loads(host.iproute("-j", "link", "show", "t0").stdout)
    return {k: data[0][k] for k in ("mtu", "address", "flags")}


def ifconfig(host: Host, *args: str) -> tuple[int, str, str]:
    r = host.ifconfig("t0", *args, check=False)
    return r.returncode, r.stdout, r.stderr


def sysctl(host: Host, name: str) -> str:
    return host.run(["cat", "/proc/sys/" + name.replace(".", "/")]).stdout.strip()


def test_a_mac_linux_refuses_changes_nothing(host: Host) -> None:
    before = link(host)
    for mac in ("01:00:5e:00:00:01", "00:00:00:00:00:00"):
        assert ifconfig(host, "mtu", "1400", "lladdr", mac) == (
            1, "", "ifconfig: SIOCSIFLLADDR: Cannot assign requested address\n")
        assert link(host) == before


def test_a_later_refusal_undoes_the_earlier_changes(host: Host) -> None:
    """mtu and lladdr made, then the kernel refuses the address: both are undone."""
    host.iproute("link", "set", "t0", "down")
    host.run(["sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/t0/disable_ipv6"])
    before, addresses = link(host), shown(host)
    assert ifconfig(host, "inet6", "2001:db8::1", "prefixlen", "64", "mtu", "1400",
                    "lladdr", "02:00:00:00:00:42") == (
        1, "", "ifconfig: SIOCAIFADDR: Permission denied\n")
    assert link(host) == before and same_lines(addresses, shown(host))


UNDO = """
import errno, sys
from carp.daemon import links as netlink
from carp.ifconfig.link_plan import LinkPlan, LinkRefused, NewAddress
plan = LinkPlan(mtu=1400, lladdr="02:00:00:00:00:42", remove=[("10.9.0.1", 24)],
                add=[NewAddress("10.9.0.2", 24, "10.9.0.99"), NewAddress("2001:db8::1", 64)],
                up=False)
try:
    netlink.change("t0", plan)
except LinkRefused as exc:
    print(exc.request, errno.errorcode[exc.errno])
"""


def test_undone_addresses_come_back_in_order_with_their_attributes(host: Host) -> None:
    """A primary deleted and a secondary replaced, then a refusal: `ip addr` as before."""
    host.run(["sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/t0/disable_ipv6"])
    before, addresses = link(host), shown(host)
    assert host.run([sys.executable, "-c", UNDO]).stdout == "add EACCES\n"
    assert link(host) == before and same_lines(addresses, shown(host))
    assert sysctl(host, PROMOTE) == "0"


UNDO6 = """
import errno
from carp.daemon import links as netlink
from carp.ifconfig.link_plan import LinkPlan, LinkRefused, NewAddress
try:  # a /33 the kernel refuses after the IPv6 address is gone
    netlink.change("t0", LinkPlan(remove=[("2001:db8::5", 64)], add=[NewAddress("10.9.0.5", 33)]))
except LinkRefused as exc:
    print(exc.request, errno.errorcode[exc.errno])
"""


def test_an_undone_ipv6_removal_comes_back_with_its_attributes(host: Host) -> None:
    host.iproute("addr", "add", "2001:db8::5/64", "dev", "t0", "nodad", "noprefixroute",
                 "valid_lft", "1000", "preferred_lft", "500")
    addresses = shown(host, "-6")  # no link-local: t0 has no carrier (t1 is down)
    assert host.run([sys.executable, "-c", UNDO6]).stdout == "add EINVAL\n"
    assert same_lines(addresses, shown(host, "-6"))
    assert "2001:db8::5/64 scope global nodad dynamic noprefixroute" in addresses[0][0]


@pytest.mark.parametrize("args", [("10.9.0.1", "-alias"), ("inet", "10.9.0.1", "delete"),
                                  ("delete",)])
def test_removing_the_primary_keeps_the_secondary_as_it_was(host: Host, args: tuple[str, ...],
                                                            ) -> None:
    addresses = shown(host)
    assert ifconfig(host, *args) == (0, "", "")
    # the secondary is its subnet's primary now: the one word Linux adds to say so is gone
    expected = [(line.replace(" secondary", ""), lft) for line, lft in addresses[1:]]
    assert same_lines(expected, shown(host))
    assert "noprefixroute t0:1" in shown(host)[-1][0]
    assert sysctl(host, PROMOTE) == "0"  # put back


def test_promote_secondaries_set_by_the_admin_stays_set(host: Host) -> None:
    host.run(["sh", "-c", f"echo 1 > /proc/sys/{PROMOTE.replace('.', '/')}"])
    assert ifconfig(host, "10.9.0.1", "-alias")[0] == 0
    assert sysctl(host, PROMOTE) == "1"


FALLBACK = """
from carp.daemon import links as netlink
from carp.ifconfig.link_plan import LinkPlan
netlink.PROMOTE = "/nonexistent/{dev}"  # as where /proc/sys cannot be written
netlink.change("t0", LinkPlan(remove=[("10.9.0.1", 24)]))
"""


def test_a_secondary_the_kernel_drops_is_added_back_as_it_was(host: Host) -> None:
    addresses = shown(host)
    assert host.run([sys.executable, "-c", FALLBACK]).returncode == 0
    expected = [(line.replace(" secondary", ""), lft) for line, lft in addresses[1:]]
    assert same_lines(expected, shown(host))
