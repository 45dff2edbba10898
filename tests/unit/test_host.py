"""carp.host.CarpHost: reconcile, receive validation order, demotion, status."""

from __future__ import annotations

import errno
import random

import pytest

from carp import vhost as vh
from carp.actions import LOG_ERR, Action, Count, Lease, Log, Send, StateChange
from carp.config import Address, CarpInterface, Node, StateRequest
from carp.deadlines import ADVERT_SLACK_US
from carp.host import CarpHost
from carp.record import replace
from carp.wire import Advert, Signer, encode, hmac_key, int_to_counter

PREEMPT = "net.inet.carp.preempt"


def ci(pers: str = "openbsd", vhid: int = 1, skew: int = 0, dev: str = "em0", **kw: object):
    if pers == "freebsd":
        base = CarpInterface(
            name=dev, style="vhid", nodes=[Node(vhid, skew)], passphrase="pw",
            addresses=[Address(f"192.168.{vhid}.1", 24, vhid=vhid)], up=True,
        )
    else:
        base = CarpInterface(
            name=f"carp{vhid - 1}", carpdev=dev, nodes=[Node(vhid, skew)], passphrase="pw",
            addresses=[Address(f"192.168.{vhid}.1", 24)], up=True,
        )
    return replace(base, **kw)


def host(pers: str = "openbsd", *ifs: CarpInterface, sysctl: dict[str, int] | None = None):
    h = CarpHost(pers, "h", rng=random.Random(3))
    h.configure(sysctl or {}, list(ifs or [ci(pers)]), {}, 0.0)
    return h


def payload(vhid: int = 1, skew: int = 0, pw: str = "pw", demote: int = 0, counter: int = 9,
            version: int = 2, advbase: int = 1) -> bytes:
    c = int_to_counter(counter)
    digest = Signer(hmac_key(pw), vhid, [f"192.168.{vhid}.1"], []).sign(c)
    return encode(Advert(vhid, skew, advbase, c, digest, demote, version=version))


def counts(acts: list[Action]) -> list[str]:
    return [a.stat for a in acts if isinstance(a, Count)]


def texts(acts: list[Action]) -> list[str]:
    return [a.text for a in acts if isinstance(a, Log)]


def rx(h: CarpHost, data: bytes, ttl: int = 255, dev: str = "em0", family: int = 4,
       now: float = 1.0) -> list[Action]:
    dst = "224.0.0.18" if family == 4 else "ff02::12"
    return h.packet(dev, family, "10.0.0.2", dst, ttl, data, now)


# -- configure ---------------------------------------------------------------------------


def test_configure_starts_backup_and_is_idempotent() -> None:
    h = host()
    assert h.states() == {("carp0", 1): "BACKUP"}
    assert h.next_deadline() == 3.0
    assert h.configure({}, [ci()], {}, 1.0) == []
    assert h.next_deadline() == 3.0


def test_advskew_change_takes_effect_without_restart() -> None:
    h = host()
    h.timeout(3.0)
    assert h.states()[("carp0", 1)] == "MASTER"
    assert h.configure({}, [ci(skew=128)], {}, 3.2) == []
    assert len([a for a in h.timeout(4.0) if isinstance(a, Send)]) == 1
    assert h.states()[("carp0", 1)] == "MASTER" and h.next_deadline() == 5.5


def test_address_change_restarts_the_vhid() -> None:
    h = host()
    h.timeout(3.0)
    new = ci(addresses=[Address("192.168.1.2", 24)])
    acts = h.configure({}, [new], {}, 5.0)
    sc = [(a.old, a.new) for a in acts if isinstance(a, StateChange)]
    assert sc == [("MASTER", "INIT"), ("INIT", "BACKUP")]
    assert any(isinstance(a, Send) for a in acts)  # OpenBSD bow-out before INIT


def test_admin_down_bows_out_and_up_restarts() -> None:
    h = host()
    h.timeout(3.0)
    acts = h.configure({}, [ci(up=False)], {}, 5.0)
    (send,) = [a for a in acts if isinstance(a, Send)]
    assert send.payload[2] == 255 and send.payload[5] == 255
    assert h.states()[("carp0", 1)] == "INIT" and h.next_deadline() is None
    h.configure({}, [ci(up=True)], {}, 6.0)
    assert h.states()[("carp0", 1)] == "BACKUP"


def test_removed_interface_goes_init() -> None:
    h = host()
    acts = h.configure({}, [], {}, 1.0)
    assert [(a.new, a.reason) for a in acts if isinstance(a, StateChange)] == [
        ("INIT", "vhid removed")
    ]
    assert h.states() == {}


def test_state_request_applied_once_per_seq_and_not_replayed_at_start() -> None:
    req = ci(state_request=StateRequest(seq=1, state="master"))
    h = host("openbsd", req)
    assert h.states()[("carp0", 1)] == "BACKUP"  # seq 1 existed before this carpd
    h.configure({}, [ci(state_request=StateRequest(seq=2, state="master"))], {}, 1.0)
    assert h.states()[("carp0", 1)] == "MASTER"
    h.configure({}, [ci(state_request=StateRequest(seq=3, state="backup"))], {}, 2.0)
    assert h.states()[("carp0", 1)] == "BACKUP"
    assert h.status()["vhosts"]["carp0"]["1"]["reason"] == "user requested via ifconfig"
    h.timeout(7.0)  # master-down: MASTER again; the same seq is not applied twice
    h.configure({}, [ci(state_request=StateRequest(seq=3, state="backup"))], {}, 7.5)
    assert h.states()[("carp0", 1)] == "MASTER"


# -- receive validation (docs/protocol.md §7) ---------------------------------------------------


def test_valid_packet_counts_ipackets_and_resets_the_timer() -> None:
    h = host("openbsd", ci(skew=100))
    acts = rx(h, payload(), now=2.0)
    assert counts(acts) == ["ipackets"]
    assert h.next_deadline() == 2.0 + 4.171875
    assert counts(rx(h, payload(), family=6)) == ["ipackets6"]


@pytest.mark.parametrize("pers", ["openbsd", "netbsd"])
def test_allow_zero_is_a_silent_drop(pers: str) -> None:
    h = host(pers, sysctl={"net.inet.carp.allow": 0})
    acts = rx(h, b"garbage", ttl=1)
    assert acts == [Count("ipackets")]
    assert h.states()[("carp0", 1)] == "BACKUP"


@pytest.mark.parametrize("pers", ["openbsd", "freebsd", "netbsd"])
@pytest.mark.parametrize("allow", [0, 1])
def test_bad_ttl_without_parsing_is_what_packet_does(pers: str, allow: int) -> None:
    """carpd counts an IPv4 advert whose TTL is not 255 without parsing it (bad_ttl)
    exactly where the personality's first check is the TTL, whatever else is wrong."""
    sysctl = {"net.inet.carp.log": 7, "net.inet.carp.allow": allow}
    parsed, fast = host(pers, sysctl=sysctl), host(pers, sysctl=sysctl)
    first = rx(parsed, b"garbage", ttl=64) + rx(parsed, payload(), ttl=1)
    if not parsed.policy.ttl_first_v4:
        assert counts(first)[1:2] != ["badttl"] and pers == "freebsd"  # length comes first
        return
    assert fast.bad_ttl("em0", [64, 1]) == first
    assert parsed.counters == fast.counters


def test_freebsd_allow_zero_forces_init() -> None:
    h = host("freebsd")
    assert h.states()[("em0:1", 1)] == "BACKUP"
    acts = h.configure({"net.inet.carp.allow": 0}, [ci("freebsd")], {}, 1.0)
    assert [(a.new, a.reason) for a in acts if isinstance(a, StateChange)] == [
        ("INIT", "hardware interface down")
    ]
    h.configure({}, [ci("freebsd")], {}, 2.0)
    assert h.states()[("em0:1", 1)] == "BACKUP"


def test_openbsd_order_and_texts() -> None:
    h = host("openbsd", sysctl={"net.inet.carp.log": 7})
    bad_ttl = rx(h, b"x", ttl=64)  # TTL is checked before length
    assert counts(bad_ttl) == ["ipackets", "badttl"]
    assert texts(bad_ttl) == ["carp: received ttl 64 != 255 on em0"]
    assert counts(rx(h, payload()[:20])) == ["ipackets", "badlen"]
    assert texts(rx(h, payload()[:20])) == ["carp: packet too short 20 on em0"]
    corrupt = bytearray(payload())
    corrupt[20] ^= 1
    assert counts(rx(h, bytes(corrupt))) == ["ipackets", "badsum"]
    assert texts(rx(h, bytes(corrupt))) == ["carp: checksum failed on em0"]
    assert texts(rx(h, bytes(corrupt), family=6)) == ["carp: checksum failed, on em0"]
    assert counts(rx(h, payload(vhid=9))) == ["ipackets", "badvhid"]
    assert counts(rx(h, payload(), dev="em1")) == ["ipackets", "badvhid"]  # v4: any ether
    assert counts(rx(h, payload(), dev="em1", family=6)) == ["ipackets6", "badif"]
    assert texts(rx(h, payload(version=3))) == ["carp0: invalid version 3 != 2"]
    assert counts(rx(h, payload(pw="wrong"))) == ["ipackets", "badauth"]
    assert texts(rx(h, payload(pw="wrong"))) == ["carp0: incorrect hash"]


def test_openbsd_own_cookie_is_a_loop() -> None:
    h = host("openbsd", sysctl={"net.inet.carp.log": 4})
    own = [a for a in h.timeout(3.0) if isinstance(a, Send)][0].payload
    acts = rx(h, own, now=3.1)
    assert counts(acts) == ["ipackets", "badauth"]
    assert texts(acts) == ["carp0: replay or network loop detected"]
    assert h.states()[("carp0", 1)] == "MASTER"


@pytest.mark.parametrize(("pers", "text"), [
    ("freebsd", "carp_input_c: replayed advertisement for VHID 1@em0 from 10.0.0.2: "
                "counter 0x9 not after 0x9"),
    ("netbsd", "carp0: replayed advertisement from 10.0.0.2, counter 0x9 not after 0x9"),
])
def test_a_replayed_advert_counts_badauth_and_changes_nothing(pers: str, text: str) -> None:
    """carp.4 "Replay": once a sender sent two different counters, the incrementing
    personalities drop an authenticated advert from it whose counter is not newer than
    the last one accepted from it."""
    h = host(pers, ci(pers, skew=100), sysctl={"net.inet.carp.log": 2})
    assert counts(rx(h, payload(counter=8), now=0.9)) == ["ipackets"]
    assert counts(rx(h, payload(counter=9), now=1.0)) == ["ipackets"]  # it counts
    deadline, status = h.next_deadline(), h.status()["vhosts"]
    acts = rx(h, payload(counter=9), now=2.0)
    assert counts(acts) == ["ipackets", "badauth"] and texts(acts) == [text]
    assert counts(rx(h, payload(counter=8), now=2.1)) == ["ipackets", "badauth"]
    after = h.status()["vhosts"]
    assert after[ci(pers).key]["1"].pop("drops") == {"badauth": 2}  # counted for the vhid
    status[ci(pers).key]["1"].pop("drops")
    assert (h.next_deadline(), after) == (deadline, status)  # and nothing else moved
    assert counts(rx(h, payload(counter=10), now=2.5)) == ["ipackets"]
    assert h.next_deadline() == 2.5 + 3.390625


@pytest.mark.parametrize("pers", ["freebsd", "netbsd"])
def test_a_constant_cookie_is_accepted_by_the_incrementing_personalities(pers: str) -> None:
    """An OpenBSD host's constant counter: a replay of it is the same bytes, nothing to
    refuse; and a new cookie (its vhost recreated) is heard afresh."""
    h = host(pers, ci(pers, skew=100))
    for t, c in ((1.0, 9), (2.0, 9), (3.0, 9), (4.0, 5), (5.0, 5), (6.0, 5)):
        assert counts(rx(h, payload(counter=c), now=t)) == ["ipackets"]
    assert h.next_deadline() == 6.0 + 3.390625


def test_openbsd_takes_a_replayed_advert_as_the_master_s() -> None:
    """A constant cookie: a replay is indistinguishable from the live master (carp.4)."""
    h = host("openbsd", ci(skew=100))
    for t in (1.0, 2.0, 3.0):
        assert counts(rx(h, payload(counter=9), now=t)) == ["ipackets"]
    assert h.next_deadline() == 3.0 + 4.171875


def test_log_threshold_filters_openbsd_lines() -> None:
    h = host("openbsd")  # default log 2: CRIT only
    assert texts(rx(h, b"x", ttl=1)) == []
    acts = h.timeout(3.0)
    assert texts(acts) == ["carp0: state transition: BACKUP -> MASTER"]


def test_freebsd_order_and_texts() -> None:
    h = host("freebsd", sysctl={"net.inet.carp.log": 2})
    # no interface or TTL check before the vhid lookup for IPv4
    assert counts(rx(h, payload(vhid=9), ttl=1)) == ["ipackets", "badvhid"]
    acts = rx(h, payload(), ttl=1)
    assert counts(acts) == ["ipackets", "badttl"]
    assert texts(acts) == ["carp_input_c: received ttl 1 != 255 on em0"]
    assert counts(rx(h, b"\x51" + bytes(40))) == ["ipackets", "badver"]
    assert counts(rx(h, payload(pw="x"))) == ["ipackets", "badauth"]
    assert texts(rx(h, payload(pw="x"))) == ["carp_input_c: incorrect hash for VHID 1@em0"]
    assert counts(rx(h, payload(), family=6, dev="em9")) == ["ipackets6", "badif"]
    h1 = host("freebsd")  # default log 1: no packet diagnostics
    assert texts(rx(h1, payload(), ttl=1)) == []


def test_netbsd_order_and_texts() -> None:
    h = host("netbsd", sysctl={"net.inet.carp.log": 1})
    assert counts(rx(h, payload(), dev="em1")) == ["ipackets", "badif"]
    assert texts(rx(h, payload(pw="x"))) == ["carp0: incorrect hash from 10.0.0.2"]
    assert texts(host("netbsd").timeout(3.0)) == []  # log 0: silent


def test_the_vhid_lookup_matches_the_peer_kind_in_openbsd_only() -> None:
    """§7.1 step 8: OpenBSD looks for a vhid whose peer kind fits the destination (a
    carppeer vhid takes unicast adverts, the others multicast ones); FreeBSD and NetBSD
    take an advert for the vhid whatever its destination."""
    def unicast(h: CarpHost) -> list[str]:
        return counts(h.packet("em0", 4, "10.0.0.2", "10.0.0.1", 255, payload(), 1.0))

    assert unicast(host("openbsd")) == ["ipackets", "badvhid"]
    assert unicast(host("openbsd", ci(peer="10.0.0.2"))) == ["ipackets"]
    assert counts(rx(host("openbsd", ci(peer="10.0.0.2")), payload())) == ["ipackets", "badvhid"]
    for pers in ("freebsd", "netbsd"):
        assert unicast(host(pers, ci(pers))) == ["ipackets"]
        assert counts(rx(host(pers, ci(pers, peer="10.0.0.2")), payload())) == ["ipackets"]


def test_freebsd_looks_for_the_vhid_among_addresses_of_the_adverts_family() -> None:
    """§7.2 step 7: a vhid with IPv4 addresses only does not hear IPv6 adverts."""
    h = host("freebsd", ci("freebsd"))
    assert counts(rx(h, payload(), family=6)) == ["ipackets6", "badvhid"]
    assert counts(rx(h, payload(counter=10))) == ["ipackets"]
    assert counts(rx(host("openbsd"), payload(), family=6)) == ["ipackets6"]


def test_init_vhid_is_badvhid() -> None:
    h = host("openbsd", ci(up=False))
    assert counts(rx(h, payload())) == ["ipackets", "badvhid"]


# -- demotion (docs/protocol.md §5) ---------------------------------------------------------------


def two(pers: str) -> CarpHost:
    h = host(pers, ci(pers, 1, dev="em0"), ci(pers, 2, dev="em1"))
    h.timeout(3.0)
    return h


def test_openbsd_carpdev_down_demotes_the_group_and_advertises() -> None:
    h = two("openbsd")
    h.configure({"net.inet.carp.log": 3}, list(h.ifaces.values()), {}, 3.1)
    acts = h.link("em0", False, 3.5)
    assert h.states() == {("carp0", 1): "INIT", ("carp1", 2): "MASTER"}
    assert "carp: carp0 demoted group carp by 1 to 1 (carpdev)" in texts(acts)
    assert any(a.priority == LOG_ERR for a in acts if isinstance(a, Log))
    (ad,) = [a for a in acts if isinstance(a, Send)]
    assert ad.vhid == 2 and ad.payload[4] == 1  # demote byte
    assert h.status()["groups"] == {"carp": 1}
    acts = h.link("em0", True, 4.0)
    assert "carp: carp0 demoted group carp by -1 to 0 (carpdev)" in texts(acts)
    assert h.status()["groups"] == {"carp": 0}
    assert h.states()[("carp0", 1)] == "BACKUP"
    assert h.status()["vhosts"]["carp0"]["1"]["reason"] == "hardware interface up"


def test_openbsd_admin_group_demote_advertises_at_once() -> None:
    h = two("openbsd")
    acts = h.configure({}, list(h.ifaces.values()), {"carp": {"carpdemote": 5}}, 3.2)
    ads = [a for a in acts if isinstance(a, Send)]
    assert [(a.vhid, a.payload[4]) for a in ads] == [(1, 5), (2, 5)]


def test_freebsd_interface_down_demotion() -> None:
    h = two("freebsd")
    h.configure({"net.inet.carp.log": 1}, list(h.ifaces.values()), {}, 3.1)
    acts = h.link("em0", False, 3.5)
    assert "carp: demoted by 240 to 240 (interface down)" in texts(acts)
    (ad,) = [a for a in acts if isinstance(a, Send)]
    assert ad.payload[2] == 240 and ad.payload[4] == 0
    assert h.status()["demotion"] == 240
    acts = h.link("em0", True, 4.0)
    assert "carp: demoted by -240 to 0 (interface up)" in texts(acts)
    acts = h.configure({"net.inet.carp.demotion": 50}, list(h.ifaces.values()), {}, 5.0)
    assert "carp: demoted by 50 to 50 (sysctl)" in texts(acts)
    assert h.status()["demotion"] == 0  # only carpd's own part; the store holds the 50


def test_netbsd_suppress_preempt() -> None:
    h = two("netbsd")
    acts = h.link("em0", False, 3.5)
    (ad,) = [a for a in acts if isinstance(a, Send)]
    assert ad.payload[2] == 240
    assert h.status()["suppress_preempt"] == 1
    h.link("em0", True, 4.0)
    assert h.status()["suppress_preempt"] == 0


# -- shutdown and status -------------------------------------------------------------------


@pytest.mark.parametrize(("pers", "bows"), [("openbsd", 1), ("netbsd", 1), ("freebsd", 0)])
def test_shutdown(pers: str, bows: int) -> None:
    h = host(pers)
    h.timeout(3.0)
    acts = h.shutdown(4.0)
    assert len([a for a in acts if isinstance(a, Send)]) == bows
    assert set(h.states().values()) == {"INIT"}
    assert h.next_deadline() is None


def test_status_shape() -> None:
    h = host()
    h.timeout(3.0)
    st = h.status()
    assert set(st) == {"vhosts", "counters", "demotion", "groups", "suppress_preempt"}
    v = st["vhosts"]["carp0"]["1"]
    assert (v["state"], v["since"], v["reason"]) == ("MASTER", 3.0, "master timed out")
    assert st["counters"]["opackets"] == 1 and st["counters"]["preempt"] == 1


# -- send errors (docs/protocol.md §5) -----------------------------------------------------------


def test_openbsd_send_errors_demote_the_groups() -> None:
    h = two("openbsd")
    h.configure({"net.inet.carp.log": 3}, list(h.ifaces.values()), {}, 3.1)
    snd = Send("carp0", "em0", 4, "224.0.0.18", b"", 1)
    # log 3 hides the WARNING "ip_output failed" lines; nothing else happens yet
    assert texts(h.send_result(snd, 105, 3.2)) == texts(h.send_result(snd, 105, 3.3)) == []
    acts = h.send_result(snd, 105, 3.4)  # 3 x 1 vhid
    assert "carp: carp0 demoted group carp by 1 to 1 (> snderrors)" in texts(acts)
    assert h.status()["groups"] == {"carp": 1}
    assert [a.vhid for a in acts if isinstance(a, Send)] == [1, 2]  # told peers at once
    h.send_result(snd, None, 3.5)
    h.send_result(snd, None, 3.6)
    acts = h.send_result(snd, None, 3.7)
    assert "carp: carp0 demoted group carp by -1 to 0 (< snderrors)" in texts(acts)
    assert h.status()["groups"] == {"carp": 0}


def test_a_send_that_works_resets_the_error_count_and_keeps_no_state() -> None:
    """Successes are the common case (one per advertisement): once no unit has errors
    to count they cost nothing, and an error count starts from zero again."""
    h = two("openbsd")
    snd = Send("carp0", "em0", 4, "224.0.0.18", b"", 1)
    for t in (3.2, 3.3):
        h.send_result(snd, 105, t)
    h.send_result(snd, None, 3.4)  # 2 errors, then one sent: counted afresh
    assert h.demotion.senderr == {}
    for t in (3.5, 3.6):
        h.send_result(snd, 105, t)
    assert h.status()["groups"].get("carp", 0) == 0
    h.send_result(snd, 105, 3.7)
    assert h.status()["groups"] == {"carp": 1}
    for t in (3.8, 3.9, 4.0):
        h.send_result(snd, None, t)
    assert h.status()["groups"] == {"carp": 0} and h.demotion.senderr == {}


def test_openbsd_detach_returns_the_own_count() -> None:
    h = two("openbsd")
    h.link("em0", False, 3.5)
    assert h.status()["groups"] == {"carp": 1}
    h.configure({}, [ci("openbsd", 2, dev="em1")], {}, 4.0)
    assert h.status()["groups"] == {"carp": 0}


def test_freebsd_send_errors_add_the_factor() -> None:
    h = two("freebsd")
    snd = Send("em0:1", "em0", 4, "224.0.0.18", b"", 1)
    for t in (3.2, 3.3):
        h.send_result(snd, 55, t)
    acts = h.send_result(snd, 55, 3.4)
    assert texts(acts) == ["carp: demoted by 240 to 240 (send error 55 on em0)"]
    assert h.status()["demotion"] == 240
    for t in (3.5, 3.6):
        h.send_result(snd, None, t)
    assert texts(h.send_result(snd, None, 3.7)) == ["carp: demoted by -240 to 0 (send ok on em0)"]


def test_netbsd_send_errors_suppress_preemption() -> None:
    h = two("netbsd")
    snd = Send("carp0", "em0", 4, "224.0.0.18", b"", 1)
    for t in (3.2, 3.3, 3.4):
        h.send_result(snd, 55, t)
    assert h.status()["suppress_preempt"] == 1
    h.configure({}, [ci("netbsd", 2, dev="em1")], {}, 4.0)  # vhid removed: undone
    assert h.status()["suppress_preempt"] == 0


def test_send_failure_logs_ip_output_and_counts_onomem() -> None:
    h = two("openbsd")
    h.configure({"net.inet.carp.log": 4}, list(h.ifaces.values()), {}, 3.1)
    v4 = Send("carp0", "em0", 4, "224.0.0.18", b"", 1)
    v6 = Send("carp0", "em0", 6, "ff02::12", b"", 1)
    assert texts(h.send_result(v4, errno.ENOBUFS, 3.2)) == ["carp0: ip_output failed: 105"]
    assert texts(h.send_result(v6, errno.ENETDOWN, 3.3)) == ["carp0: ip6_output failed: 100"]
    assert h.status()["counters"]["onomem"] == 1  # only ENOBUFS/ENOMEM


def test_unicast_ehostdown_is_not_a_send_error() -> None:
    h = two("openbsd")
    h.configure({"net.inet.carp.log": 7}, list(h.ifaces.values()), {}, 3.1)
    peer = Send("carp0", "em0", 4, "10.0.0.2", b"", 1)
    for t in (3.2, 3.3, 3.4):
        assert h.send_result(peer, errno.EHOSTDOWN, t) == []
    assert h.status()["groups"].get("carp", 0) == 0


def test_timers_fire_exactly_as_a_full_scan_would() -> None:
    """The deadline heap: 40 vhids configured at spread-out instants, a packet resetting
    one of them now and then; every timer fires when a scan of every vhid (with the
    same advert slack) would fire it, and at no other time."""
    def build() -> CarpHost:
        h = CarpHost("openbsd", "h", rng=random.Random(7))
        ifs = [ci(skew=(i * 37) % 200, vhid=i + 1) for i in range(40)]
        for i in range(40):
            h.configure({}, ifs[: i + 1], {}, i * 0.0173)
        return h

    def shown(t: float, acts: list[Action]) -> list[tuple[float, str]]:
        return [(t, repr(a)) for a in acts if isinstance(a, Send | StateChange | Lease)]

    heap_host, scan_host = build(), build()
    fired_heap: list[tuple[float, str]] = []
    fired_scan: list[tuple[float, str]] = []
    for step in range(3000):
        t = heap_host.next_deadline()
        expect = min(d for v in scan_host.vhosts.values() if (d := v.next_deadline_us()))
        assert t is not None and vh.to_us(t) == expect
        fired_heap += shown(t, heap_host.timeout(t))
        for v in list(scan_host.vhosts.values()):
            d = v.next_deadline_us()
            if d is not None and d <= expect + ADVERT_SLACK_US:
                fired_scan += shown(t, v.timeout(t, slack=True))
        if step % 331 == 0:  # vhid 5 hears a master now and then, times out in between
            for h in (heap_host, scan_host):
                h.packet("em0", 4, "192.168.5.9", "224.0.0.18", 255, payload(5, 0), t)
    assert sorted(fired_heap) == sorted(fired_scan) and len(fired_heap) > 2000


# -- send policy: what carpd puts around the payload, visible to the simulator ------------


@pytest.mark.parametrize(
    ("pers", "sysctl", "tos", "zero_id", "src_mac"),
    [
        ("openbsd", {}, 0x10, False, "00:00:5e:00:01:01"),  # IPTOS_LOWDELAY, carp0's MAC
        ("netbsd", {}, 0x10, True, "00:00:5e:00:01:01"),  # ip_id 0
        ("freebsd", {}, 56 << 2, False, ""),  # CS7, the vhid's virtual MAC
        ("freebsd", {"net.inet.carp.dscp": 46}, 46 << 2, False, ""),
    ],
)
def test_adverts_carry_the_personalitys_send_policy(
    pers: str, sysctl: dict[str, int], tos: int, zero_id: bool, src_mac: str
) -> None:
    h = host(pers, sysctl=sysctl)
    sends = [a for a in h.timeout(3.0) if isinstance(a, Send)]
    assert [(s.family, s.tos, s.zero_ip_id, s.src_mac) for s in sends] == [
        (4, tos, zero_id, src_mac)
    ]


def test_openbsd_adverts_leave_from_a_custom_lladdr() -> None:
    h = host("openbsd", ci("openbsd", lladdr="02:00:00:00:00:07"))
    (send,) = [a for a in h.timeout(3.0) if isinstance(a, Send)]
    assert send.src_mac == "02:00:00:00:00:07"


def test_configure_looks_again_only_at_changed_interfaces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write at a thousand vhids changes one interface: configure copies that one and
    checks only its vhids' identity; the others keep their vhosts untouched."""
    import carp.host

    ifs = [ci(vhid=v, name=f"carp{v}") for v in range(1, 51)]
    h = host("openbsd", *ifs)
    vhosts = dict(h.vhosts)
    copied: list[str] = []
    identities: list[int] = []
    deepcopy, identity = carp.host.copy.deepcopy, carp.host.identity
    monkeypatch.setattr(carp.host.copy, "deepcopy",
                        lambda x: (copied.append(x.key), deepcopy(x))[1])
    monkeypatch.setattr(carp.host, "identity",
                        lambda c, v: (identities.append(v), identity(c, v))[1])
    changed = [replace(c, advbase=3) if c.name == "carp7" else replace(c) for c in ifs]
    h.configure({}, changed, None, 1.0)
    assert copied == ["carp7"] and identities == [7]
    assert h.vhosts[("carp7", 7)].advbase == 3
    assert all(h.vhosts[k] is v for k, v in vhosts.items())
