"""A carp interface with only IPv6 addresses: advertisements to ff02::12 leave with the
virtual MAC as source, the backup accepts them, and the backup takes over when the
master dies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from carp.lab import Capture, Host, Lab
from carp.lab.scenario import PASS, VMAC1, master_down, vhid_states, wait_states, wait_until
from tests.netns.lab_fixtures import open_lab

pytestmark = pytest.mark.netns

VIP6 = "2001:db8:1::1"


def _configure(host: Host, advskew: int) -> None:
    host.ifconfig("carp0", "create")
    host.ifconfig("carp0", "vhid", "1", "advskew", str(advskew), "pass", PASS, "carpdev", "em0")
    host.ifconfig("carp0", "inet6", VIP6, "prefixlen", "64")


def _linklocal(host: Host, dev: str) -> str:
    data = json.loads(host.iproute("-j", "-6", "addr", "show", "dev", dev).stdout)
    return next(a["local"] for link in data for a in link.get("addr_info", [])
                if a["local"].startswith("fe80:"))


@pytest.fixture
def pair6() -> Iterator[tuple[Lab, Capture]]:
    with open_lab(hosts=2, lans=1) as lab:
        cap = lab.capture()
        a, b = lab.hosts
        for host in (a, b):
            host.start_carpd()
        _configure(a, 0)
        _configure(b, 100)
        assert wait_states({a: {1: "MASTER"}, b: {1: "BACKUP"}}, 10), (
            f"no election: A {vhid_states(a)} B {vhid_states(b)}"
        )
        yield lab, cap


def _virtual_mac_advert(cap: Capture, host: Host, since: float) -> dict[str, object] | None:
    return cap.wait_for(
        lambda r: r["kind"] == "carp" and r["port"] == host.port() and ":" in r["dst_ip"]
        and r["src_mac"] == VMAC1,
        timeout=5, since=since,
    )


def test_ipv6_adverts_carry_the_virtual_mac_and_are_accepted(
    pair6: tuple[Lab, Capture],
) -> None:
    lab, cap = pair6
    a, b = lab.hosts
    ad = _virtual_mac_advert(cap, a, since=0)
    assert ad is not None, f"no IPv6 advertisement from A with {VMAC1}: {cap.adverts()}"
    assert ad["dst_ip"] == "ff02::12" and ad["dst_mac"] == "33:33:00:00:00:12"
    assert ad["ttl"] == 255 and ad["src_ip"] == _linklocal(a, "em0")
    assert ad["vhid"] == 1 and ad["advskew"] == 0 and ad["advbase"] == 1
    assert not [r for r in cap.adverts() if ":" not in r["dst_ip"]], "IPv4 adverts sent"

    # B would be MASTER 3 s after the last advertisement it accepted.
    time.sleep(master_down(1, 100) + 0.5)
    assert vhid_states(b) == {1: "BACKUP"}
    since = ad["t"]
    assert isinstance(since, float)
    assert all(r["src_mac"] == VMAC1 for r in cap.adverts(port=a.port(), since=since))


def test_ipv6_backup_takes_over_with_the_virtual_mac(pair6: tuple[Lab, Capture]) -> None:
    lab, cap = pair6
    a, b = lab.hosts
    assert _virtual_mac_advert(cap, a, since=0) is not None
    t_kill = a.kill_carpd()
    ad = _virtual_mac_advert(cap, b, since=t_kill)
    assert ad is not None, "B sent no IPv6 advertisement with the virtual MAC"
    assert ad["src_ip"] == _linklocal(b, "em0") and ad["advskew"] == 100
    assert wait_states({b: {1: "MASTER"}}, 2)
    assert "MASTER" in b.ifconfig("carp0").stdout


def test_a_macvlan_has_ipv6_only_while_its_interface_has_ipv6_addresses() -> None:
    """An IPv4-only carp interface's macvlan has no IPv6 at all -- no link-local, so no
    MLD report of the kernel's can leave it with the virtual MAC -- and gets it back with
    its first inet6 address."""
    with open_lab(hosts=1, lans=1) as lab:
        (a,) = lab.hosts
        a.start_carpd()
        a.ifconfig("carp0", "create")
        a.ifconfig("carp0", "vhid", "1", "pass", PASS, "carpdev", "em0", "192.168.1.1/24")
        assert wait_states({a: {1: "MASTER"}}, 10), vhid_states(a)
        # the address follows the state change through a netlink job: wait for it too
        assert wait_until(lambda: a.holds("192.168.1.1") == ["carp0"], 5), a.addresses()
        assert a.iproute("-6", "addr", "show", "dev", "carp0").stdout == ""
        a.ifconfig("carp0", "inet6", VIP6, "prefixlen", "64")
        deadline = time.monotonic() + 5
        while VIP6 not in (shown := a.iproute("-6", "addr", "show", "dev", "carp0").stdout):
            assert time.monotonic() < deadline, shown
            time.sleep(0.05)
        assert _linklocal(a, "carp0").startswith("fe80:")


def test_a_live_master_keeps_its_link_local() -> None:
    """The macvlan's link-local (the virtual MAC's EUI-64) is a lease held with the
    addresses: renewals keep it on a healthy MASTER, where it would lapse one lease after
    the takeover if only the addresses were renewed."""
    linklocal = "fe80::200:5eff:fe00:101"
    with open_lab(hosts=1, lans=1) as lab:
        (a,) = lab.hosts
        a.start_carpd()
        a.ifconfig("carp0", "create")
        a.ifconfig("carp0", "vhid", "1", "pass", PASS, "carpdev", "em0")
        a.ifconfig("carp0", "inet6", VIP6, "prefixlen", "64")
        assert wait_states({a: {1: "MASTER"}}, 10), vhid_states(a)

        def shown() -> str:
            return a.iproute("-6", "addr", "show", "dev", "carp0").stdout

        assert wait_until(lambda: linklocal in shown(), 5), shown()
        time.sleep(6)  # several leases at advbase 1
        assert VIP6 in shown() and linklocal in shown(), shown()
