"""ifconfig on an interface that is not carp's (em0 192.168.1.2/24 here): the common
operations planned as BSD ifconfig makes them, refused in BSD's words, nothing changed
by a refused command.  The netlink side against iproute2: tests/netns/test_netns_procps.py."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from ifconfig_support import Host

from carp.ifconfig.link_plan import LinkPlan, LinkRefused, NewAddress

ALL = ("openbsd", "freebsd", "netbsd")


def host(tmp_path: Path, personality: str = "openbsd") -> Host:
    return Host(tmp_path / personality, personality)


def made(h: Host, *argv: str) -> LinkPlan:
    """The one change the command made on em0's Linux side; the store kept as it was."""
    before = h.raw()
    r = h(*argv)
    assert (r.code, r.err) == (0, ""), r
    assert h.raw() == before
    ((name, plan),) = h.netlink.made
    assert name == argv[0]
    return plan


def refused(h: Host, *argv: str) -> str:
    before = h.raw()
    r = h(*argv)
    assert r.code == 1 and h.raw() == before and h.netlink.made == [], r
    return r.err


@pytest.mark.parametrize("personality", ALL)
def test_inet_with_netmask_replaces_the_primary_address(tmp_path: Path, personality: str) -> None:
    plan = made(host(tmp_path, personality), "em0", "10.0.0.5", "netmask", "255.255.255.0")
    assert plan == LinkPlan(remove=[("192.168.1.2", 24)],
                            add=[NewAddress("10.0.0.5", 24, "10.0.0.255")], up=True)


def test_alias_adds_and_the_same_address_is_updated(tmp_path: Path) -> None:
    h = host(tmp_path)
    assert made(h, "em0", "inet", "10.0.0.5/30", "alias").remove == []
    h.netlink.made.clear()
    plan = made(h, "em0", "192.168.1.2", "prefixlen", "25")
    assert plan.remove == [("192.168.1.2", 24)]  # Linux keys an address by its prefix too
    assert plan.add == [NewAddress("192.168.1.2", 25, "192.168.1.127")]
    h.netlink.made.clear()
    assert made(h, "em0", "192.168.1.2/24", "broadcast", "192.168.1.99").add == [
        NewAddress("192.168.1.2", 24, "192.168.1.99")]


def test_inet6_is_added_never_replacing(tmp_path: Path) -> None:
    h = host(tmp_path)
    h.sysif.links["em0"] = ["192.168.1.2/24", "fe80::1/64"]
    plan = made(h, "em0", "inet6", "2001:db8::1", "prefixlen", "64")
    assert plan == LinkPlan(add=[NewAddress("2001:db8::1", 64)], up=True)


def test_removals(tmp_path: Path) -> None:
    h = host(tmp_path)
    h.sysif.links["em0"] = ["192.168.1.2/24", "192.168.1.3/24", "fe80::1/64"]
    assert made(h, "em0", "192.168.1.3", "-alias").remove == [("192.168.1.3", 24)]
    h.netlink.made.clear()
    assert made(h, "em0", "inet", "192.168.1.3", "delete").remove == [("192.168.1.3", 24)]
    h.netlink.made.clear()
    assert made(h, "em0", "delete").remove == [("192.168.1.2", 24)]  # the family's first
    h.netlink.made.clear()
    assert made(h, "em0", "-inet").remove == [("192.168.1.2", 24), ("192.168.1.3", 24)]


@pytest.mark.parametrize(
    ("personality", "err"),
    [("openbsd", "ifconfig: SIOCDIFADDR: Can't assign requested address\n"),
     ("freebsd", "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n")],
)
def test_removing_an_address_it_lacks(tmp_path: Path, personality: str, err: str) -> None:
    assert refused(host(tmp_path, personality), "em0", "10.9.9.9", "-alias") == err


def test_up_down_mtu_lladdr(tmp_path: Path) -> None:
    h = host(tmp_path)
    assert made(h, "em0", "down") == LinkPlan(up=False)
    h.netlink.made.clear()
    assert made(h, "em0", "mtu", "9000", "up") == LinkPlan(mtu=9000, up=True)
    h.netlink.made.clear()
    assert made(h, "em0", "lladdr", "02:00:00:00:00:01") == LinkPlan(lladdr="02:00:00:00:00:01")
    h.netlink.made.clear()
    lladdr = made(h, "em0", "lladdr", "random").lladdr
    assert lladdr is not None and int(lladdr[:2], 16) & 3 == 2  # unicast, local


def test_an_address_brings_the_interface_up_after_down(tmp_path: Path) -> None:
    """BSD: `down` is SIOCSIFFLAGS at once, SIOCAIFADDR at the end sets UP again."""
    assert made(host(tmp_path), "em0", "down", "10.0.0.5/24").up is True


@pytest.mark.parametrize(
    ("personality", "word", "err"),
    [("openbsd", "abc", "ifconfig: mtu abc: invalid\n"),
     ("openbsd", "-1", "ifconfig: mtu -1: too small\n"),
     ("netbsd", "abc", "usage: ifconfig")],
)
def test_bad_mtu_changes_nothing(tmp_path: Path, personality: str, word: str, err: str) -> None:
    assert refused(host(tmp_path, personality), "em0", "10.0.0.5/24", "mtu", word).startswith(err)


@pytest.mark.parametrize(
    ("personality", "err"),
    [("openbsd", "ifconfig: SIOCSIFMTU: Invalid argument\n"),
     ("freebsd", "ifconfig: ioctl (set mtu): Invalid argument\n")],
)
def test_kernel_refusal_in_bsd_words_and_nothing_stored(
    tmp_path: Path, personality: str, err: str
) -> None:
    h = host(tmp_path, personality)
    h.netlink.refuse = LinkRefused("mtu", errno.EINVAL)
    assert refused(h, "em0", "vhid", "1", "advskew", "100", "mtu", "9") == err
    assert h.state.interfaces == {}  # the vhid of the same command is not stored either


@pytest.mark.parametrize("personality", ALL)
def test_groups_do_not_exist_on_linux(tmp_path: Path, personality: str) -> None:
    err = refused(host(tmp_path, personality), "em0", "up", "group", "lan")
    assert err == "ifconfig: SIOCAIFGROUP: Operation not supported\n"


def test_missing_interface_and_carp_mtu(tmp_path: Path) -> None:
    h = host(tmp_path)
    assert refused(h, "eth9", "up") == "eth9: no such interface\n"  # OpenBSD: no prefix
    assert h("carp0", "create").code == 0
    assert refused(h, "carp0", "mtu", "1400") == (
        "ifconfig: SIOCSIFMTU: Inappropriate ioctl for device\n")


def test_vhid_commands_leave_the_interface_s_addresses_alone(tmp_path: Path) -> None:
    h = host(tmp_path, "freebsd")
    assert h("em0", "vhid", "1", "pass", "s", "192.168.1.1/24").code == 0
    assert h("em0", "inet", "192.168.1.1", "-alias").code == 0  # the vhid's address
    assert h.netlink.made == [] and h.state.interfaces == {}


def test_freebsd_address_without_mask_warns_and_is_classful(tmp_path: Path) -> None:
    h = host(tmp_path, "freebsd")
    r = h("em0", "10.0.0.5")
    assert r.code == 0 and r.err.startswith("ifconfig: WARNING: setting interface address")
    assert h.netlink.made[0][1].add == [NewAddress("10.0.0.5", 8, "10.255.255.255")]


@pytest.mark.parametrize(
    ("argv", "err"),
    [(("em0", "mtu", "1400"), "ifconfig: SIOCSIFMTU: Operation not permitted\n"),
     (("em0", "down"), "ifconfig: SIOCSIFFLAGS: Operation not permitted\n"),
     (("em0", "10.0.0.5/24"), "ifconfig: SIOCAIFADDR: Operation not permitted\n")],
)
def test_not_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...],
                  err: str) -> None:
    h = host(tmp_path)

    def denied(self: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(h.store), "transaction", denied)
    assert refused(h, *argv) == err


@pytest.mark.parametrize("mac", ["01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "0:0:0:0:0:0"])
def test_a_mac_linux_refuses_is_refused_before_the_mtu_changes(tmp_path: Path, mac: str) -> None:
    """is_valid_ether_addr's answer, checked in the plan: the mtu before it is not made."""
    err = refused(host(tmp_path), "em0", "mtu", "1400", "lladdr", mac)
    assert err == "ifconfig: SIOCSIFLLADDR: Cannot assign requested address\n"
