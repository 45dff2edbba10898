"""carp.vrrp and the VRRPv3 receive path of carp.host (FreeBSD 15's `carpver 3`, §1.7)."""

from __future__ import annotations

import random

import pytest

from carp.actions import Action, Count, Log, Send, StateChange
from carp.config import Address, CarpInterface, Node
from carp.host import CarpHost
from carp.wire import VrrpAdvert, checksum, decode_vrrp, vrrp_seal
from tests.wirekit import encode_vrrp

SRC, GROUP = "10.0.0.2", "224.0.0.18"
SRC6, GROUP6 = "fe80::2", "ff02::12"
LOG2 = {"net.inet.carp.log": 2}


def vci(prio: int = 100, interval: int = 100, version: int = 3, v6: bool = False,
        pers: str = "freebsd") -> CarpInterface:
    addrs = [Address("192.168.1.1", 24, vhid=1)] + (
        [Address("2001:db8::1", 64, vhid=1)] if v6 else [])
    if pers != "freebsd":
        return CarpInterface(name="carp0", carpdev="em0", nodes=[Node(1, 0)], up=True,
                             addresses=[Address(a.address, a.prefixlen) for a in addrs],
                             version=version, vrrp_prio=prio, vrrp_interval=interval)
    return CarpInterface(name="em0", style="vhid", nodes=[Node(1, 0)], addresses=addrs,
                         up=True, version=version, vrrp_prio=prio, vrrp_interval=interval)


def host(*ifs: CarpInterface, sysctl: dict[str, int] | None = None,
         pers: str = "freebsd") -> CarpHost:
    h = CarpHost(pers, "h", rng=random.Random(1))
    h.configure(sysctl or {}, list(ifs or [vci()]), {}, 0.0)
    return h


def ad(prio: int = 100, interval: int = 100, vrid: int = 1, family: int = 4) -> bytes:
    if family == 6:
        return encode_vrrp(VrrpAdvert(vrid, prio, interval, ("2001:db8::1",)), SRC6, GROUP6)
    return encode_vrrp(VrrpAdvert(vrid, prio, interval, ("192.168.1.1",)), SRC, GROUP)


def rx(h: CarpHost, data: bytes, now: float = 1.0, ttl: int = 255,
       family: int = 4) -> list[Action]:
    if family == 6:
        return h.packet("em0", 6, SRC6, GROUP6, ttl, data, now, "fe80::1")
    return h.packet("em0", 4, SRC, GROUP, ttl, data, now, "10.0.0.1")


def counts(acts: list[Action]) -> list[str]:
    return [a.stat for a in acts if isinstance(a, Count)]


def texts(acts: list[Action]) -> list[str]:
    return [a.text for a in acts if isinstance(a, Log)]


def test_vrrp_vhid_runs_only_where_the_personality_speaks_vrrpv3() -> None:
    assert host().states() == {("em0:1", 1): "BACKUP"}
    assert host().next_deadline() == 3.6  # 3 x 100 + 156 x 100 / 256 = 360 cs
    assert host(vci(pers="openbsd"), pers="openbsd").states() == {("carp0", 1): "INIT"}


def test_master_sends_one_unsealed_advert_per_family() -> None:
    h = host(vci(150, 50, v6=True), sysctl={"net.inet.carp.dscp": 46})
    acts = h.timeout(h.next_deadline() or 0)
    sends = [a for a in acts if isinstance(a, Send)]
    assert [(s.family, s.dst, s.sealed, s.tos) for s in sends] == [
        (4, GROUP, False, 46 << 2), (6, GROUP6, False, 46 << 2)]
    assert counts(acts) == ["opackets", "opackets6"]
    assert sends[0].payload == bytes([0x31, 1, 150, 1, 0, 50, 0, 0]) + bytes([192, 168, 1, 1])
    sealed = vrrp_seal(sends[1].payload, "fe80::1", GROUP6)
    assert decode_vrrp(sealed, "fe80::1", GROUP6) == VrrpAdvert(1, 150, 50, ("2001:db8::1",))
    assert h.next_deadline() == pytest.approx(h.vhosts[("em0:1", 1)].since + 0.5)


def test_the_peer_setting_is_ignored() -> None:
    ci = vci()
    ci.peer = "10.0.0.9"
    h = host(ci)
    sends = [a for a in h.timeout(4.0) if isinstance(a, Send)]
    assert [s.dst for s in sends] == [GROUP]


def test_receive_order_and_counters() -> None:
    h = host(sysctl=LOG2)
    assert counts(rx(h, ad()[:7])) == ["ipackets", "badlen"]
    bad = bytearray(ad())
    bad[6] ^= 1
    acts = rx(h, bytes(bad))
    assert counts(acts) == ["ipackets", "badsum"]
    assert texts(acts) == ["vrrp_input_c: incorrect checksum for VRID 1@em0"]
    assert counts(rx(h, ad(vrid=7))) == ["ipackets", "badvhid"]
    acts = rx(h, ad(), ttl=64)
    assert counts(acts) == ["ipackets", "badttl"]
    assert texts(acts) == ["vrrp_input_c: received ttl 64 != 255 on em0"]
    assert counts(rx(h, ad(family=6), family=6)) == ["ipackets6", "badvhid"]  # no IPv6 address
    assert counts(rx(h, ad())) == ["ipackets"]


def test_ipv4_checksum_without_pseudo_header_is_badsum() -> None:
    """An IPv4 VRRPv3 advert checksummed as VRRPv2 does (no pseudo-header: keepalived's
    v3_checksum_as_v2, some routers): FreeBSD counts it badsum, and so do we."""
    v2_style = bytearray(ad())
    v2_style[6:8] = b"\0\0"
    v2_style[6:8] = checksum(bytes(v2_style)).to_bytes(2, "big")
    assert checksum(bytes(v2_style)) == 0
    assert counts(rx(host(), bytes(v2_style))) == ["ipackets", "badsum"]


def test_carp_advert_for_a_vrrp_vhid_and_back_is_badver() -> None:
    from tests.unit.test_host import payload

    h = host(sysctl=LOG2)
    acts = rx(h, payload())
    assert counts(acts) == ["ipackets", "badver"] and texts(acts) == ["em0: invalid version 2"]
    carp = CarpInterface(name="em0", style="vhid", nodes=[Node(1, 0)], passphrase="pw",
                         addresses=[Address("192.168.1.1", 24, vhid=1)], up=True)
    acts = rx(host(carp, sysctl=LOG2), ad())
    assert counts(acts) == ["ipackets", "badver"] and texts(acts) == ["em0: invalid version 3"]


def test_backup_restarts_master_down_from_the_learned_interval() -> None:
    h = host(vci(100, 100))
    assert rx(h, ad(200, 40), now=1.0) == [Count("ipackets")]
    v = h.vhosts[("em0:1", 1)]
    assert v.master_cs == 40 and v.master_src == SRC
    assert v.down.at == 1_000_000 + (3 * 40 + 156 * 40 // 256) * 10_000  # 1.144 s later


def test_election_rules() -> None:
    def master(prio: int = 100, interval: int = 100, preempt: int = 0) -> CarpHost:
        h = host(vci(prio, interval), sysctl={"net.inet.carp.preempt": preempt})
        h.timeout(5.0)
        assert h.states() == {("em0:1", 1): "MASTER"}
        return h

    def state(acts: list[Action]) -> list[tuple[str, str]]:
        return [(a.new, a.reason) for a in acts if isinstance(a, StateChange)]

    yielded = [("BACKUP", "more frequent advertisement received")]
    assert state(rx(master(), ad(101, 100), 6.0)) == yielded  # higher priority
    assert state(rx(master(), ad(1, 99), 6.0)) == yielded  # more frequent
    assert state(rx(master(), ad(100, 100), 6.0)) == []  # equal: no tie-break
    assert state(rx(master(), ad(99, 101), 6.0)) == []
    # BACKUP: preempts a slower or lower-priority master only with the sysctl
    for preempt, expected in ((0, []), (1, [("MASTER", "preempting a slower master")])):
        for prio, interval in ((99, 100), (100, 101), (0, 100)):  # priority 0 too
            h = host(vci(100, 100), sysctl={"net.inet.carp.preempt": preempt})
            assert state(rx(h, ad(prio, interval))) == expected, (preempt, prio, interval)
    h = host(vci(100, 100), sysctl={"net.inet.carp.preempt": 1})
    assert state(rx(h, ad(100, 100))) == []


def test_priority_0_restarts_the_full_master_down() -> None:
    """keepalived's leaving master sends priority 0; RFC 5798 would wait Skew_Time only,
    FreeBSD (preempt off) restarts master-down as for any advert."""
    h = host(vci(100, 100))
    rx(h, ad(0, 100), now=2.0)
    assert h.next_deadline() == pytest.approx(2.0 + 3.6)


def test_owner_ignores_every_advert() -> None:
    h = host(vci(255), sysctl=LOG2)
    acts = rx(h, ad(100, 10))
    assert texts(acts) == ["vrrp_input_c: our priority is 255. Ignore peer announcement."]
    assert h.next_deadline() == 3.0 and h.vhosts[("em0:1", 1)].master_cs == 100


def test_prio_and_interval_take_effect_without_a_restart() -> None:
    h = host(vci(100, 100))
    h.timeout(5.0)
    acts = h.configure({}, [vci(120, 50)], {}, 5.5)
    assert not [a for a in acts if isinstance(a, StateChange)]
    status = h.status()["vhosts"]["em0:1"]["1"]  # type: ignore[index]
    assert (status["state"], status["prio"], status["interval"]) == ("MASTER", 120, 50)
    sends = [a for a in h.timeout(6.0) if isinstance(a, Send)]
    assert sends[0].payload[2] == 120 and sends[0].payload[5] == 50


def test_ipv6_advert_restarts_only_the_ipv6_timer() -> None:
    h = host(vci(v6=True))
    v = h.vhosts[("em0:1", 1)]
    assert (v.down.at4, v.down.at6) == (3_600_000, 3_600_000)
    rx(h, ad(family=6), now=1.0, family=6)
    assert (v.down.at4, v.down.at6) == (3_600_000, 4_600_000)
    assert h.next_deadline() == 3.6


def test_ipv6_timer_waits_for_an_ipv6_advert_after_an_ipv4_one() -> None:
    """Both timers run until an advert is heard; an IPv4 one stops the IPv6 timer until
    an IPv6 advert is heard since BACKUP (carp.vrrp: the master may have no link-local)."""
    h = host(vci(v6=True))
    v = h.vhosts[("em0:1", 1)]
    rx(h, ad(), now=1.0)
    assert (v.down.at4, v.down.at6) == (4_600_000, None)
    rx(h, ad(family=6), now=2.0, family=6)
    rx(h, ad(), now=2.5)
    assert (v.down.at4, v.down.at6) == (6_100_000, 5_600_000)
    v.request("MASTER", 3.0)
    rx(h, ad(200), now=4.0)  # yields: heard IPv6 is forgotten with the state
    assert (v.state, v.down.at4, v.down.at6) == ("BACKUP", 7_600_000, None)


def test_lease_plan_times_the_backups_by_our_interval() -> None:
    """As MASTER, the backups time us by the interval we send, whatever we learned."""
    from carp.lease import plan

    h = host(vci(150, 100))
    rx(h, ad(200, 40), now=1.0)  # learned 40 cs as a backup
    h.timeout(10.0)
    v = h.vhosts[("em0:1", 1)]
    assert v.state == "MASTER" and v.master_cs == 40
    assert v.lease_plan() == plan(1_000_000, (300 + 2 * 100 // 256) * 10_000,
                                  (300 + 106 * 100 // 256) * 10_000)
