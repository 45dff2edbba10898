"""VRRPv3 (FreeBSD 15's `carpver 3`) elections, exact to the microsecond (§1.7).

The expected times are written out from the formula, not taken from carp.vrrp:
master-down = 3 x MI + (256 - prio) x MI / 256 centiseconds (integer division)."""

from __future__ import annotations

from carp.config import Address, CarpInterface, Node
from carp.wire import VrrpAdvert, decode_vrrp, vrrp_seal
from tests.sim.lan import Lan

US = 1_000_000
CS = 10_000  # one centisecond in microseconds
PREEMPT = "net.inet.carp.preempt"
K = "em0:1"


def vrrp(prio: int = 100, interval: int = 100, vhid: int = 1, v6: bool = False,
         version: int = 3) -> CarpInterface:
    addrs = [Address("192.168.1.1", 24, vhid=vhid)]
    if v6:
        addrs.append(Address("2001:db8::1", 64, vhid=vhid))
    return CarpInterface(name="em0", style="vhid", nodes=[Node(vhid, 0)], addresses=addrs,
                         up=True, version=version, vrrp_prio=prio, vrrp_interval=interval)


def md_us(prio: int, mi_cs: int) -> int:
    return (3 * mi_cs + (256 - prio) * mi_cs // 256) * CS


def pair(a: CarpInterface, b: CarpInterface, preempt: int = 0) -> Lan:
    lan = Lan(seed=3)
    lan.add("A", "freebsd", [a], sysctl={PREEMPT: preempt})
    lan.add("B", "freebsd", [b], sysctl={PREEMPT: preempt})
    return lan


def last_from(lan: Lan, src: str, before: int) -> int:
    return max(d.t for d in lan.deliveries if d.src == src and d.t <= before)


def test_election_by_priority_and_the_wire() -> None:
    lan = pair(vrrp(150), vrrp(100))
    lan.run_until(10 * US)
    assert (lan.state("A", K), lan.state("B", K)) == ("MASTER", "BACKUP")
    (up,) = lan.transitions_of("A", "MASTER")
    assert (up.t, up.reason) == (md_us(150, 100), "master timed out") == (3_410_000, up.reason)
    times = [t for t, n, _ in lan.sends if n == "A"]
    assert times[:3] == [3_410_000, 4_410_000, 5_410_000]  # every vrrpinterval 100 cs
    send = lan.sends[0][2]
    sealed = vrrp_seal(send.payload, "10.0.0.1", "224.0.0.18")
    assert sealed[0] == 0x31 and not send.sealed
    assert decode_vrrp(sealed, "10.0.0.1", "224.0.0.18") == VrrpAdvert(1, 150, 100,
                                                                        ("192.168.1.1",))
    counters = lan.hosts["A"].host.counters  # type: ignore[union-attr]
    assert counters["opackets"] == len(times) and counters["badsum"] == 0


def test_master_dies_backup_waits_its_master_down() -> None:
    lan = pair(vrrp(150), vrrp(100))
    lan.at(20 * US + 123_457, lambda: lan.crash("A"))
    lan.run_until(40 * US)
    (up,) = lan.transitions_of("B", "MASTER")
    assert up.t - last_from(lan, "A", 21 * US) == md_us(100, 100) == 3_600_000


def test_backup_learns_the_master_interval() -> None:
    """B (interval 100) hears A at 50 cs: its master-down is computed from 50."""
    lan = pair(vrrp(150, interval=50), vrrp(100, interval=100))
    lan.at(20 * US + 1, lambda: lan.crash("A"))
    lan.run_until(40 * US)
    (up,) = lan.transitions_of("B", "MASTER")
    assert up.t - last_from(lan, "A", 21 * US) == md_us(100, 50) == 1_800_000
    status = lan.hosts["B"].host.status()["vhosts"][K]["1"]  # type: ignore[union-attr,index]
    assert (status["interval"], status["master_interval"]) == (100, 50)


def test_more_frequent_master_wins_whatever_the_priority() -> None:
    lan = pair(vrrp(100, interval=50), vrrp(200, interval=100))
    lan.run_until(20 * US)
    assert (lan.state("A", K), lan.state("B", K)) == ("MASTER", "BACKUP")


def test_returning_master_preempts_only_with_the_sysctl() -> None:
    for preempt, expected in ((0, ("BACKUP", "MASTER")), (1, ("MASTER", "BACKUP"))):
        lan = pair(vrrp(150), vrrp(100), preempt=preempt)
        lan.at(10 * US + 500_000, lambda lan=lan: lan.crash("A"))
        lan.at(20 * US + 250_000, lambda lan=lan: lan.boot("A"))
        lan.run_until(40 * US)
        assert (lan.state("A", K), lan.state("B", K)) == expected, preempt
        if preempt:  # at B's first advert after the boot, not after a master-down
            up = lan.transitions_of("A", "MASTER")[-1]
            assert up.reason == "preempting a slower master"
            assert up.t == min(d.t for d in lan.deliveries if d.src == "B" and d.t > 20 * US)
            down = lan.transitions_of("B", "BACKUP")[-1]
            assert (down.t, down.reason) == (up.t, "more frequent advertisement received")


def test_equal_priority_two_masters_stay_masters() -> None:
    """FreeBSD has no address tie-break (RFC 5798 has): after a partition heals, two
    MASTERs of equal priority and interval both stay MASTER."""
    lan = pair(vrrp(100), vrrp(100))
    lan.partition(["A"], ["B"])
    lan.run_until(10 * US)
    assert lan.masters(1) == ["A", "B"]
    lan.heal()
    lan.run_until(30 * US)
    assert lan.masters(1) == ["A", "B"]
    # started together, the first to time out wins and the other stays BACKUP
    lan2 = pair(vrrp(100), vrrp(100))
    lan2.run_until(10 * US)
    assert len(lan2.masters(1)) == 1


def test_priority_255_ignores_its_peers() -> None:
    """The owner (255) reads no advert: B's more frequent ones from 0.36 s on do not
    restart its master-down, so it takes over at 3 x 100 cs and B yields to it."""
    lan = pair(vrrp(255), vrrp(100, interval=10))
    lan.run_until(20 * US)
    (b_up,) = lan.transitions_of("B", "MASTER")
    assert b_up.t == md_us(100, 10) == 360_000
    (a_up,) = lan.transitions_of("A", "MASTER")
    assert (a_up.t, a_up.reason) == (md_us(255, 100), "master timed out") == (3 * US, a_up.reason)
    assert (lan.state("A", K), lan.state("B", K)) == ("MASTER", "BACKUP")


def test_carp_and_vrrp_adverts_for_one_vhid_count_badver() -> None:
    lan = pair(vrrp(100), vrrp(100, version=2))
    lan.run_until(20 * US)
    assert lan.masters(1) == ["A", "B"]
    for name in "AB":
        counters = lan.hosts[name].host.counters  # type: ignore[union-attr]
        assert counters["badver"] > 0 and counters["ipackets"] == counters["badver"]


def test_one_master_down_timer_per_family() -> None:
    """A backup that hears the master's IPv4 adverts but no IPv6 ones takes over when
    its IPv6 master-down timer runs out (FreeBSD's sc_md6_tmo), in both modes."""
    for version in (3, 2):
        lan = pair(vrrp(150, v6=True, version=version), vrrp(100, v6=True, version=version))
        if version == 2:
            lan.hosts["B"].interfaces[K].nodes[0].advskew = 100
            lan.reconfigure("B")
        lan.run_until(10 * US)
        assert (lan.state("A", K), lan.state("B", K)) == ("MASTER", "BACKUP")
        lan.at(10 * US + 1, lambda lan=lan: lan.lost_families.add(6))
        lan.run_until(30 * US)
        up = lan.transitions_of("B", "MASTER")[0]
        last6 = max(t for t, n, s in lan.sends if n == "A" and s.family == 6 and t <= 10 * US)
        md = md_us(100, 100) if version == 3 else 3 * US + 100 * US // 256
        assert (up.t, up.reason) == (last6 + md, "master timed out"), version
        assert any(t > up.t - md for t, n, s in lan.sends if n == "A" and s.family == 4)


def test_a_master_not_sending_ipv6_yet_is_not_deposed_every_master_down() -> None:
    """A's IPv6 adverts never leave (no link-local yet): B, hearing its IPv4 ones, keeps
    its IPv6 timer off instead of taking over every 3 x MI and yielding at A's next
    IPv4 advert (FreeBSD's flap; carp.vrrp).  Once B has heard IPv6, losing it alone
    still takes over (test_one_master_down_timer_per_family)."""
    lan = pair(vrrp(150, v6=True), vrrp(100, v6=True))
    lan.lost_families.add(6)
    lan.run_until(60 * US)
    assert (lan.state("A", K), lan.state("B", K)) == ("MASTER", "BACKUP")
    assert lan.transitions_of("B", "MASTER") == []
    assert [t.t for t in lan.transitions_of("A", "MASTER")] == [md_us(150, 100)]
    # with no master at all, B's timers (both armed from the start) still take over
    lan.crash("A")
    lan.run_until(70 * US)
    (up,) = lan.transitions_of("B", "MASTER")
    assert up.t == last_from(lan, "A", 60 * US) + md_us(100, 100)
