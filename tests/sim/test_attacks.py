"""An attacker on the LAN: forged advertisements (no passphrase) and replayed captures.

README "What is guaranteed" and carp.4 "Replay" state what these tests hold:
* forgery: advertisements with advskew 0 and demote 0 for every vhid, signed with
  anything but the passphrase, never move a MASTER or a BACKUP, and the backup takes
  over at exactly the master-down interval after the master dies, attack or not;
* replay, FreeBSD and NetBSD personalities: a capture of the dead master's adverts,
  replayed in any order and at any rate, never delays the backup's takeover, and never
  makes the new master step down; OpenBSD personality: a replay is the master's own
  advert (a constant cookie), so it holds the backup off for as long as it goes on, as
  it would hold off an OpenBSD kernel.
"""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest

from carp.wire import Advert, Signer, encode, hmac_key
from tests.sim.helpers import PERSONALITIES, US, ad_interval_us, iface, key, master_down_us
from tests.sim.lan import Lan

INCREMENTING = ("freebsd", "netbsd")
A_ADDR = "10.0.0.1"  # the simulator numbers hosts 10.0.0.N in the order they are added


def pair(pers: str, preempt: int = 1, seed: int = 5) -> Lan:
    """A (advskew 0) MASTER and B (advskew 100) BACKUP of vhid 1, passphrase "secret"."""
    lan = Lan(seed=seed)
    lan.add("A", pers, [iface(pers, 1, 0)], sysctl={"net.inet.carp.preempt": preempt})
    lan.add("B", pers, [iface(pers, 1, 100)], sysctl={"net.inet.carp.preempt": preempt})
    return lan


# -- forgery ------------------------------------------------------------------------------


def forgeries(rng: random.Random, vhid: int) -> list[bytes]:
    """What an attacker without the passphrase can send for `vhid`: the best timing (advskew
    0, demote 0), a bow-out and a slow advert, with a random digest, a digest under
    guessed keys (empty, the vhid's number, a dictionary word), or a copied one."""
    out = []
    counter = rng.getrandbits(64).to_bytes(8, "big")
    for guess in ("", str(vhid), "password", "carp"):
        dig = Signer(hmac_key(guess), vhid, [f"192.168.{vhid}.1"], []).sign(counter)
        out.append(encode(Advert(vhid, 0, 1, counter, dig, 0)))
    out.append(encode(Advert(vhid, 0, 1, counter, rng.randbytes(20), 0)))
    out.append(encode(Advert(vhid, 0, 0, counter, rng.randbytes(20), 0)))  # advbase 0
    out.append(encode(Advert(vhid, 255, 255, counter, rng.randbytes(20), 0)))  # a bow-out
    out.append(encode(Advert(vhid, 254, 200, counter, rng.randbytes(20), 255)))  # slow, demoted
    # HMAC over the header instead of the addresses, keyed with the counter: plain nonsense
    nonsense = hmac.new(counter, bytes([vhid]), hashlib.sha1).digest()
    out.append(encode(Advert(vhid, 0, 1, counter, nonsense, 0)))
    return out


def forge_every_vhid(lan: Lan, rng: random.Random, start: int, stop: int, every: int) -> None:
    """Every `every` us: forgeries for vhid 1 from A's own address and others, over IPv4
    and IPv6; every 10th round a sweep of all 256 vhids."""
    rounds = 0
    for t in range(start, stop, every):
        vhids = range(256) if rounds % 10 == 0 else (1,)
        rounds += 1

        def attack(vhids: range | tuple[int, ...] = vhids) -> None:
            for vhid in vhids:
                for i, ad in enumerate(forgeries(rng, vhid)):
                    src = A_ADDR if i % 2 else f"10.0.0.{rng.randrange(3, 255)}"
                    lan.inject(ad, src=src)
                    if vhid == 1:
                        lan.inject(ad, family=6, src=f"fe80::{rng.randrange(1, 999)}")

        lan.at(t, attack)


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_forged_adverts_never_move_a_master_nor_hold_a_backup(pers: str) -> None:
    lan = pair(pers)
    k = key(pers)
    rng = random.Random(8)
    forge_every_vhid(lan, rng, 10 * US, 70 * US, 200_000)
    lan.run_until(40 * US)
    assert (lan.state("A", k), lan.state("B", k)) == ("MASTER", "BACKUP")
    assert [t.t for t in lan.transitions if t.t > 3 * US] == []  # nobody moved
    for name in "AB":
        counters = lan.hosts[name].host.counters  # type: ignore[union-attr]
        assert counters["badauth"] >= 150 * 9  # every forgery for vhid 1 refused
        assert counters["badvhid"] >= 15 * 255 * 9  # the others: no such vhid
    crash = 40 * US + 500_000
    lan.at(crash, lambda: lan.crash("A"))
    lan.run_until(70 * US)
    last = max(d.t for d in lan.deliveries if d.src == "A" and d.dst == "B")
    (b_up,) = lan.transitions_of("B", "MASTER")
    assert (b_up.t, b_up.reason) == (last + master_down_us(pers, 1, 100), "master timed out")
    assert lan.state("B", k) == "MASTER"


# -- replay -------------------------------------------------------------------------------


def capture(lan: Lan, name: str) -> list[tuple[int, bytes]]:
    """(time, payload) of every advert `name` sent: what an attacker records on the LAN."""
    return [(t, s.payload) for t, n, s in lan.sends if n == name]


def replay(lan: Lan, ads: list[bytes], start: int, stop: int, every: int) -> None:
    """Send the captured adverts again, round robin, every `every` us from A's address."""
    for i, t in enumerate(range(start, stop, every)):
        ad = ads[i % len(ads)]
        lan.at(t, lambda ad=ad: lan.inject(ad, src=A_ADDR))


@pytest.mark.parametrize("pers", PERSONALITIES)
@pytest.mark.parametrize("how", ["last", "all-in-order", "flood"])
def test_a_replayed_capture_of_the_dead_master(pers: str, how: str) -> None:
    lan = pair(pers)
    k = key(pers)
    crash = 30 * US + 500_000
    lan.at(crash, lambda: lan.crash("A"))
    lan.run_until(crash)
    taken = capture(lan, "A")
    last = taken[-1][0]
    ads = {
        "last": [taken[-1][1]],
        "all-in-order": [p for _, p in taken],
        "flood": [p for _, p in taken[-5:]],
    }[how]
    every = {"last": 500_000, "all-in-order": 1_000_000, "flood": 20_000}[how]
    stop = crash + 60 * US
    replay(lan, ads, crash + 100_000, stop, every)
    md = master_down_us(pers, 1, 100)
    lan.run_until(stop + 2 * md)
    b_up = lan.transitions_of("B", "MASTER")
    if pers in INCREMENTING:
        # Every replay is refused: B takes over at the master-down interval after the
        # last genuine advert, and the replays of a faster master never make it yield.
        assert [(t.t, t.reason) for t in b_up] == [(last + md, "master timed out")]
        assert lan.transitions_of("B", "BACKUP")[1:] == []
        replays = len(range(crash + 100_000, stop, every))
        assert lan.hosts["B"].host.counters["badauth"] == replays  # type: ignore[union-attr]
    else:
        # OpenBSD: the replay is A's live advert to B; B waits for it to stop.
        assert [t.t for t in b_up] == [max(range(crash + 100_000, stop, every)) + md]
    assert lan.state("B", k) == "MASTER"


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_a_replay_of_a_faster_master_at_the_new_master(pers: str) -> None:
    """B took over from a dead A; A's old adverts (faster) are replayed at B."""
    lan = pair(pers, preempt=0)
    k = key(pers)
    lan.at(20 * US, lambda: lan.crash("A"))
    lan.run_until(30 * US)
    assert lan.state("B", k) == "MASTER"
    old = [p for _, p in capture(lan, "A")]
    acts = lan.inject(old[-1], src=A_ADDR, to=["B"])
    if pers in INCREMENTING:
        assert lan.state("B", k) == "MASTER" and acts[-1].stat == "badauth"  # type: ignore[union-attr]
    else:
        assert lan.state("B", k) == "BACKUP"  # as an OpenBSD kernel would


@pytest.mark.parametrize("pers", INCREMENTING)
def test_replay_protection_keeps_every_election(pers: str) -> None:
    """Restarts and fresh counters: the master that comes back (preempt) is heard at once,
    however its counter compares with the one the group had."""
    lan = pair(pers)
    k = key(pers)
    lan.at(20 * US, lambda: lan.crash("A"))
    lan.at(30 * US, lambda: lan.boot("A"))
    lan.at(50 * US, lambda: lan.crash("B"))
    lan.at(51 * US, lambda: lan.boot("B"))
    lan.run_until(80 * US)
    assert (lan.state("A", k), lan.state("B", k)) == ("MASTER", "BACKUP")
    assert sum(sh.host.counters["badauth"] for sh in lan.hosts.values()) == 0  # type: ignore[union-attr]


# -- mixed groups: a constant cookie (OpenBSD) and a counting host -------------------------


def follow_openbsd(lan: Lan, name: str, cookie: bytes) -> None:
    """`name` sends one constant counter, as an OpenBSD kernel does (its vhost's random
    cookie); the rest of it is the FreeBSD personality, so its peers can verify it."""
    for v in lan.hosts[name].host.vhosts.values():  # type: ignore[union-attr]
        v.counter.next = lambda: cookie  # type: ignore[method-assign]


@pytest.mark.parametrize("pers", INCREMENTING)
@pytest.mark.parametrize("cookie_host", ["A", "B"])
def test_a_mixed_group_with_a_constant_cookie_elects_one_master(
    pers: str, cookie_host: str
) -> None:
    """A host with OpenBSD's constant cookie and a FreeBSD- (NetBSD-) personality host
    share vhid 1, the cookie host the MASTER (A) or the BACKUP (B), preempt off.  Each
    host's counters are compared only with its own (carp.4, "Replay"): the counting host
    never takes the cookie's repeats for replays, so one MASTER and no flap; after A dies
    and comes back, B stays MASTER.  (Under the per-vhid rule the cookie's second advert
    was a replay: the counting host went MASTER beside it, a split brain.)"""
    lan = pair(pers, preempt=0)
    k = key(pers)
    follow_openbsd(lan, cookie_host, bytes.fromhex("8badf00d0badcafe"))
    lan.at(40 * US, lambda: lan.crash("A"))
    lan.at(50 * US, lambda: lan.boot("A"))
    if cookie_host == "A":  # it comes back with a new cookie, as OpenBSD's vhost would
        lan.at(50 * US, lambda: follow_openbsd(lan, "A", bytes.fromhex("0123456789abcdef")))
    lan.run_until(100 * US)
    assert [t.t for t in lan.transitions_of("A", "MASTER")] == [master_down_us(pers, 1, 0)]
    last = max(d.t for d in lan.deliveries if d.src == "A" and d.dst == "B")
    assert 39 * US <= last <= 40 * US  # B heard A until it died
    assert [(t.t, t.reason) for t in lan.transitions_of("B", "MASTER")] == [
        (last + master_down_us(pers, 1, 100), "master timed out")]
    assert max(d.t for d in lan.deliveries if d.src == "B" and d.dst == "A") > 99 * US
    assert (lan.state("A", k), lan.state("B", k)) == ("BACKUP", "MASTER")
    assert sum(sh.host.counters["badauth"] for sh in lan.hosts.values()) == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("pers", INCREMENTING)
def test_a_replay_under_the_dead_master_s_own_address_is_refused_beside_a_cookie(
    pers: str,
) -> None:
    """A counting MASTER (A), a cookie host (C, advskew 100) and a counting BACKUP (B,
    advskew 200).  A dies and the end of its capture is replayed under A's address: C
    and B refuse every replay, C takes over at master-down after A's last genuine advert,
    and B accepts C's repeated cookie and stays BACKUP."""
    lan = Lan(seed=5)
    sysctl = {"net.inet.carp.preempt": 0}
    for name, skew in (("A", 0), ("B", 200), ("C", 100)):
        lan.add(name, pers, [iface(pers, 1, skew)], sysctl=sysctl)
    follow_openbsd(lan, "C", bytes.fromhex("8badf00d0badcafe"))
    k = key(pers)
    crash = 30 * US + 500_000
    lan.at(crash, lambda: lan.crash("A"))
    lan.run_until(crash)
    taken = capture(lan, "A")
    stop = crash + 20 * US
    replay(lan, [p for _, p in taken[-5:]], crash + 100_000, stop, 50_000)
    lan.run_until(stop + 10 * US)
    c_up = lan.transitions_of("C", "MASTER")
    assert [(t.t, t.reason) for t in c_up] == [(taken[-1][0] + master_down_us(pers, 1, 100),
                                                "master timed out")]
    assert lan.transitions_of("B", "MASTER") == []
    assert (lan.state("B", k), lan.state("C", k)) == ("BACKUP", "MASTER")
    replays = len(range(crash + 100_000, stop, 50_000))
    for name in "BC":
        assert lan.hosts[name].host.counters["badauth"] == replays  # type: ignore[union-attr]


# -- mixed groups: a kernel that copies every counter it hears -----------------------------


def follow_freebsd_kernel(lan: Lan, name: str) -> None:
    """`name` counts as a FreeBSD or NetBSD kernel (and ucarp) does: it copies the counter
    of every authenticated advert it hears, older or newer, in any state, and refuses none
    (reference §3); the rest of it is the FreeBSD personality."""
    for v in lan.hosts[name].host.vhosts.values():  # type: ignore[union-attr]
        v.counter.refuses = False  # type: ignore[attr-defined]
        accept = v.accept

        def copying(adv: Advert, now: float, src: str = "", local: str = "",
                    check: bool = True, family: int = 0, v: object = v,
                    accept: object = accept) -> object:
            out = accept(adv, now, src, local, check, family)  # type: ignore[operator]
            if not isinstance(out, str):
                v.counter.value = int.from_bytes(adv.counter, "big")  # type: ignore[attr-defined]
                v.counter.fresh = False  # type: ignore[attr-defined]
            return out

        v.accept = copying  # type: ignore[method-assign]


def test_a_kernel_that_copied_an_older_counter_is_refused_until_it_hears_us() -> None:
    """carp.4, "Replay", what a mixed group costs: a FreeBSD kernel (F, advskew 50) was
    MASTER, so our host (U, advskew 100) holds F's counters as counting; an OpenBSD host
    (O, advskew 0, preempt) takes over and F copies O's cookie, which is older than what U
    accepted from F.  When O dies F takes over counting on from the cookie, and U refuses
    each of its adverts as a replay: U takes over too, at master-down after O's last
    advert, until F hears U's advert, copies U's counter and U accepts F's next one and
    steps down.  Two MASTERs for less than one of F's advertisement intervals."""
    pers = "freebsd"
    lan = Lan(seed=5)
    sysctl = {"net.inet.carp.preempt": 1}
    for name, skew in (("F", 50), ("U", 100), ("O", 0)):
        lan.add(name, pers, [iface(pers, 1, skew)], sysctl=sysctl)
    follow_freebsd_kernel(lan, "F")
    lan.crash("O")
    cookie = bytes.fromhex("0123456789abcdef")  # before the wall clock's counters: older

    def boot_openbsd() -> None:
        lan.boot("O")
        follow_openbsd(lan, "O", cookie)

    lan.at(20 * US, boot_openbsd)
    lan.at(40 * US, lambda: lan.crash("O"))
    lan.run_until(60 * US)
    k = key(pers)
    o_last = max(d.t for d in lan.deliveries if d.src == "O" and d.dst == "U")
    f_up = [t.t for t in lan.transitions_of("F", "MASTER")]
    assert f_up[-1] == o_last + master_down_us(pers, 1, 50)
    u_up = lan.transitions_of("U", "MASTER")
    assert [(t.t, t.reason) for t in u_up] == [
        (o_last + master_down_us(pers, 1, 100), "master timed out")]
    u_down = [t.t for t in lan.transitions_of("U", "BACKUP") if t.t > u_up[0].t]
    assert len(u_down) == 1 and u_down[0] - u_up[0].t < ad_interval_us(1, 50)
    refused = [d.t for d in lan.deliveries
               if d.src == "F" and d.dst == "U" and f_up[-1] <= d.t < u_up[0].t]
    assert refused and lan.hosts["U"].host.counters["badauth"] == len(refused)  # type: ignore[union-attr]
    assert (lan.state("F", k), lan.state("U", k)) == ("MASTER", "BACKUP")
