"""carp.vhost: every transition, reason and log text; timers; counters; demotion rules."""

from __future__ import annotations

import random

import pytest

from carp.actions import (
    LOG_CRIT,
    LOG_INFO,
    LOG_WARNING,
    Announce,
    Count,
    Lease,
    Log,
    Send,
    StateChange,
)
from carp.adcounter import COOKIE, INCREMENTING, MAX_SENDERS
from carp.deadlines import ADVERT_SLACK_US, advert_slack_us
from carp.vhost import (
    BACKUP,
    INIT,
    MASTER,
    Env,
    Params,
    VirtualHost,
)
from carp.wire import Advert, Signer, counter_to_int, decode, hmac_key, int_to_counter

KEY = hmac_key("secret")
V4 = ("192.168.1.1",)


def make(
    pers: str = "openbsd",
    advskew: int = 0,
    advbase: int = 1,
    preempt: bool = False,
    v6: tuple[str, ...] = (),
    **kw: object,
) -> VirtualHost:
    params = Params(
        ifname=kw.pop("ifname", "carp0"), logname=kw.pop("logname", "carp0"),  # type: ignore[arg-type]
        carpdev="em0", vhid=kw.pop("vhid", 1), v4=V4, v6=v6, key=KEY,  # type: ignore[arg-type]
        mac="00:00:5e:00:01:01", **kw,  # type: ignore[arg-type]
    )
    env = Env(pers, preempt=preempt)
    return VirtualHost(env, params, advbase, advskew, rng=random.Random(7))


def peer_ad(
    v: VirtualHost, advskew: int, advbase: int = 1, demote: int = 0, counter: int = 5
) -> Advert:
    """A valid advertisement from a peer configured like `v`."""
    c = int_to_counter(counter)
    signer = Signer(KEY, v.p.vhid, v.p.v4, v.p.v6, flavour=v.env.personality)
    return Advert(v.p.vhid, advskew, advbase, c, signer.sign(c), demote)


def master(v: VirtualHost) -> list[object]:
    """Start at 0 and run the master-down timer: the actions of both."""
    acts = v.start(0.0)
    return acts + v.timeout(v.master_down_us() / 1e6)


def changes(acts: list[object]) -> list[tuple[str, str, str]]:
    return [(a.old, a.new, a.reason) for a in acts if isinstance(a, StateChange)]


def logs(acts: list[object]) -> list[tuple[int, str]]:
    return [(a.priority, a.text) for a in acts if isinstance(a, Log)]


def announced(acts: list[object]) -> bool:
    return any(isinstance(a, Announce) for a in acts)


def sent(acts: list[object]) -> list[Advert]:
    out = []
    for a in acts:
        if isinstance(a, Send):
            adv = decode(a.payload)
            assert isinstance(adv, Advert)
            out.append(adv)
    return out


# -- timers (docs/protocol.md §4.2, KA-3, KA-4) ---------------------------------------------------


@pytest.mark.parametrize(
    ("pers", "advbase", "advskew", "ad", "down"),
    [
        ("openbsd", 1, 100, 1_390_625, 4_171_875),
        ("freebsd", 1, 100, 1_390_625, 3_390_625),
        ("netbsd", 1, 100, 1_390_625, 3_390_625),
        ("openbsd", 1, 0, 1_000_000, 3_000_000),
        ("openbsd", 0, 0, 3906, 11_718),
        ("netbsd", 0, 0, 3906, 11_718),
        ("netbsd", 0, 128, 500_000, 1_500_000),
    ],
)
def test_intervals(pers: str, advbase: int, advskew: int, ad: int, down: int) -> None:
    v = make(pers, advskew=advskew, advbase=advbase)
    assert v.ad_interval_us() == ad
    assert v.master_down_us() == down


def test_start_arms_master_down_and_timeout_takes_over() -> None:
    v = make(advskew=100)
    assert v.state == INIT and v.next_deadline() is None
    acts = v.start(10.0)
    assert changes(acts) == [(INIT, BACKUP, "initialization complete")]
    assert logs(acts) == [(LOG_WARNING, "carp0: state transition: INIT -> BACKUP")]
    assert v.next_deadline() == 10.0 + 4.171875
    assert v.timeout(14.171874) == []
    acts = v.timeout(14.171875)
    assert v.state == MASTER
    assert changes(acts) == [(BACKUP, MASTER, "master timed out")]
    # advert first, then the addresses' lease and gratuitous ARP; preempt counted, CRIT log
    kinds = [type(a).__name__ for a in acts]
    assert kinds == ["StateChange", "Log", "Count", "Send", "Count", "Lease", "Announce"]
    assert acts[2] == Count("preempt") and acts[4] == Count("opackets")
    assert logs(acts) == [(LOG_CRIT, "carp0: state transition: BACKUP -> MASTER")]
    assert acts[5] == Lease("carp0", "em0", 1, 1, V4)
    assert acts[6] == Announce("carp0", "em0", 1, "00:00:5e:00:01:01", V4)
    assert v.ad_at == 14_171_875 + 1_390_625
    assert v.next_deadline_us() == 14_171_875 + 1_390_625 // 2  # the lease's mid renewal


def test_advert_slack_runs_master_timers_early_never_master_down() -> None:
    """carp.deadlines: with slack a MASTER's advert may run up to the slack early
    (re-armed from then); a lease renewal and a BACKUP's master-down timer not a
    microsecond early."""
    v = make(advskew=100)
    v.start(10.0)
    down = v.next_deadline_us()
    assert down is not None and v.timeout((down - 1) / 1e6, slack=True) == []
    assert changes(v.timeout(down / 1e6, slack=True)) == [(BACKUP, MASTER, "master timed out")]
    slack = advert_slack_us(v.ad_interval_us())
    assert slack == ADVERT_SLACK_US  # a 16th of 1.39 s is more: the cap
    lease_at = v.next_deadline_us()
    assert lease_at is not None
    assert v.timeout((lease_at - 1) / 1e6, slack=True) == []
    assert [type(a) for a in v.timeout(lease_at / 1e6, slack=True)] == [Lease]
    ad_at = v.ad_at
    assert ad_at is not None
    assert v.timeout((ad_at - 1) / 1e6) == []  # without slack: on time only
    assert sent(v.timeout((ad_at - slack) / 1e6, slack=True))
    assert v.ad_at == ad_at - slack + v.ad_interval_us()  # its phase moved to the wake-up's


def test_master_sends_every_interval_and_second_arp_round() -> None:
    v = make()
    master(v)
    t = 3.0
    rounds = []
    for _ in range(4):
        t += 1.0
        acts = v.timeout(t)
        assert len(sent(acts)) == 1
        rounds.append(any(isinstance(a, Announce) for a in acts))
    assert rounds == [False, True, False, False]  # after the leader's 2nd further advert


def test_non_leader_and_balancing_send_no_arp_on_openbsd() -> None:
    for kw in ({"leader": False}, {"balancing": "ip"}):
        v = make(**kw)  # type: ignore[arg-type]
        acts = master(v) + v.timeout(4.0) + v.timeout(5.0)
        assert not any(isinstance(a, Announce) for a in acts)


@pytest.mark.parametrize("pers", ["freebsd", "netbsd"])
def test_other_bsds_announce_once_and_do_not_count_preempt(pers: str) -> None:
    v = make(pers)
    acts = master(v) + v.timeout(4.0) + v.timeout(5.0) + v.timeout(6.0)
    assert sum(isinstance(a, Announce) for a in acts) == 1
    assert Count("preempt") not in acts


def test_netbsd_never_sends_ipv6_adverts() -> None:
    both = make("openbsd", v6=("2001:db8::1",))
    assert [a.family for a in master(both) if isinstance(a, Send)] == [4, 6]
    nb = make("netbsd", v6=("2001:db8::1",))
    assert [a.family for a in master(nb) if isinstance(a, Send)] == [4]
    assert Count("opackets6") not in master(make("netbsd", v6=("2001:db8::1",)))


# -- receiving (docs/protocol.md §4.4) ------------------------------------------------------------


@pytest.mark.parametrize("pers", ["openbsd", "freebsd", "netbsd"])
def test_master_yields_to_more_frequent_and_to_ties(pers: str) -> None:
    v = make(pers, advskew=50)
    master(v)
    acts = v.receive(peer_ad(v, 100), 5.0)  # slower: it yields, we stay and re-announce
    assert v.state == MASTER and changes(acts) == [] and announced(acts)
    acts = v.receive(peer_ad(v, 49), 5.5)  # faster: the receiver yields
    assert changes(acts) == [(MASTER, BACKUP, "more frequent advertisement received")]
    assert v.next_deadline_us() == 5_500_000 + v.master_down_us()
    assert v.ad_at is None


@pytest.mark.parametrize("pers", ["openbsd", "freebsd", "netbsd"])
def test_tie_the_higher_address_stays_master(pers: str) -> None:
    v = make(pers, advskew=50)
    master(v)
    acts = v.receive(peer_ad(v, 50), 5.0, src="10.0.0.1", local="10.0.0.2")
    assert v.state == MASTER and changes(acts) == [] and announced(acts)
    v6 = make(pers, advskew=50)
    master(v6)
    acts = v6.receive(peer_ad(v6, 50), 5.0, src="fe80::1", local="fe80::2")
    assert v6.state == MASTER and changes(acts) == [] and announced(acts)


@pytest.mark.parametrize("pers", ["openbsd", "freebsd", "netbsd"])
@pytest.mark.parametrize(("src", "local"), [("10.0.0.2", "10.0.0.1"), ("10.0.0.2", ""), ("", "")])
def test_tie_lost_or_unknown_yields_with_a_jittered_master_down(
    pers: str, src: str, local: str
) -> None:
    """The BSD rule (yield on a tie), then 1/8..1/4 of master-down more before timing out."""
    v = make(pers, advskew=50)
    master(v)
    acts = v.receive(peer_ad(v, 50), 5.5, src=src, local=local)
    assert changes(acts) == [(MASTER, BACKUP, "more frequent advertisement received")]
    md = v.master_down_us()
    extra = v.next_deadline_us() - 5_500_000 - md
    assert md // 8 <= extra <= md // 4
    # the next advert heard restarts the plain timer
    assert v.receive(peer_ad(v, 50), 6.0) == []
    assert v.next_deadline_us() == 6_000_000 + md


@pytest.mark.parametrize("pers", ["openbsd", "freebsd", "netbsd"])
def test_split_brain_heal_reannounces_at_most_once_per_interval(pers: str) -> None:
    """A MASTER that hears a less preferred master (which will yield) announces the
    addresses again, as on a takeover, and not for every advertisement of a peer that
    never hears it."""
    v = make(pers, advskew=50)
    master(v)
    t = 10.0
    acts = v.receive(peer_ad(v, 100), t)
    assert [a for a in acts if isinstance(a, Announce)] == [
        Announce("carp0", "em0", 1, "00:00:5e:00:01:01", V4)]
    interval = v.ad_interval_us() / 1e6
    assert not announced(v.receive(peer_ad(v, 100), t + interval / 2))
    assert not announced(v.receive(peer_ad(v, 255, 255), t + interval * 0.99))  # a bow-out
    assert announced(v.receive(peer_ad(v, 100), t + interval))
    assert v.state == MASTER


def test_openbsd_reannounces_only_where_it_announces_a_takeover() -> None:
    """OpenBSD's gratuitous ARP is the leader's, in balancing none (docs/protocol.md §1.5)."""
    for kw, expected in (({}, True), ({"leader": False}, False), ({"balancing": "ip"}, False)):
        v = make("openbsd", advskew=50, **kw)
        master(v)
        assert announced(v.receive(peer_ad(v, 100), 10.0)) == expected, kw


def test_tie_jitter_spreads_two_hosts_apart() -> None:
    a, b = make(advskew=0), make(advskew=0)
    a.rng, b.rng = random.Random(1), random.Random(2)
    draws = {(a.tie_jitter_us(), b.tie_jitter_us()) for _ in range(20)}
    assert all(x != y for x, y in draws)
    assert len({x for x, _ in draws}) > 10


def test_openbsd_tie_needs_equal_demotion() -> None:
    """A less demoted peer wins outright; a more demoted one never makes us yield."""
    v = make("openbsd", advskew=50)
    master(v)
    v.demote = 1
    acts = v.receive(peer_ad(v, 50, demote=2), 5.0, src="10.0.0.9", local="10.0.0.1")
    assert changes(acts) == [] and announced(acts)
    acts = v.receive(peer_ad(v, 50, demote=0), 5.1, src="10.0.0.1", local="10.0.0.9")
    assert changes(acts) == [(MASTER, BACKUP, "more frequent advertisement received")]
    assert v.next_deadline_us() == 5_100_000 + v.master_down_us()


@pytest.mark.parametrize("pers", ["openbsd", "freebsd", "netbsd"])
def test_backup_restarts_master_down_on_each_advert(pers: str) -> None:
    v = make(pers, advskew=100)
    v.start(0.0)
    assert v.receive(peer_ad(v, 0), 2.5) == []
    assert v.state == BACKUP and v.next_deadline_us() == 2_500_000 + v.master_down_us()


@pytest.mark.parametrize("pers", ["openbsd", "freebsd", "netbsd"])
def test_preempt(pers: str) -> None:
    off = make(pers, advskew=0, preempt=False)
    off.start(0.0)
    assert off.receive(peer_ad(off, 100), 1.0) == []
    on = make(pers, advskew=0, preempt=True)
    on.start(0.0)
    acts = on.receive(peer_ad(on, 100), 1.0)
    assert changes(acts) == [(BACKUP, MASTER, "preempting a slower master")]
    assert len(sent(acts)) == 1
    # equal timing never preempts
    eq = make(pers, advskew=100, preempt=True)
    eq.start(0.0)
    assert eq.receive(peer_ad(eq, 100), 1.0) == []


@pytest.mark.parametrize("pers", ["openbsd", "freebsd", "netbsd"])
def test_bow_out_means_master_will_time_out(pers: str) -> None:
    v = make(pers, advskew=100)
    v.start(0.0)
    acts = v.receive(peer_ad(v, 255, advbase=255), 1.0)
    assert changes(acts) == [(BACKUP, MASTER, "master will time out")]


def test_will_time_out_uses_three_advbase_plus_one_skew() -> None:
    v = make(advskew=0)  # threshold 3 s + 0
    v.start(0.0)
    assert v.receive(peer_ad(v, 0, advbase=3), 1.0) == []  # exactly 3 s: not slower
    assert changes(v.receive(peer_ad(v, 1, advbase=3), 1.0))[0][2] == "master will time out"
    z = make(advbase=0, advskew=10)  # OpenBSD skips rule 3 with advbase 0
    z.start(0.0)
    assert z.receive(peer_ad(z, 200, advbase=0), 0.001) == []


def test_openbsd_demote_rules() -> None:
    # MASTER yields to a better demote count even if the peer is slower ...
    v = make(advskew=0)
    master(v)
    v.demote = 1
    assert changes(v.receive(peer_ad(v, 200, demote=0), 5.0))[0][1] == BACKUP
    # ... and stays against a faster peer that is more demoted (which will yield)
    w = make(advskew=100)
    master(w)
    acts = w.receive(peer_ad(w, 0, demote=2), 5.0)
    assert w.state == MASTER and changes(acts) == [] and announced(acts)
    # BACKUP takes over a more demoted master regardless of preempt
    b = make(advskew=100, preempt=False)
    b.start(0.0)
    acts = b.receive(peer_ad(b, 0, demote=1), 1.0)
    assert changes(acts) == [(BACKUP, MASTER, "preempting a more demoted master")]
    # preempt does not apply against a less demoted master
    c = make(advskew=0, preempt=True)
    c.start(0.0)
    c.demote = 1
    assert c.receive(peer_ad(c, 100, demote=0), 1.0) == []
    # the demote count travels in byte 4
    assert sent(master(make()))[0].demote == 0
    d = make()
    d.demote = 3
    assert sent(master(d))[0].demote == 3


def test_freebsd_demotion_is_added_to_advskew_capped_at_240() -> None:
    v = make("freebsd", advskew=100)
    v.env.demotion = 100
    assert v.sent_advskew() == 200
    v.env.demotion = 240
    assert v.sent_advskew() == 240
    ads = sent(master(v))
    assert (ads[0].advskew, ads[0].demote) == (240, 0)
    assert v.ad_interval_us() == 1_000_000 + 240 * 1_000_000 // 256
    assert v.master_down_us() == 3_390_625  # the configured advskew
    # and it is our own skew in comparisons: a peer at 200 now wins
    assert changes(v.receive(peer_ad(v, 200), 10.0))[0][1] == BACKUP


def test_netbsd_suppression_forces_advskew_240() -> None:
    v = make("netbsd", advskew=10)
    v.env.suppress_preempt = 1
    assert sent(master(v))[0].advskew == 240
    hi = make("netbsd", advskew=250)
    hi.env.suppress_preempt = 1
    assert hi.sent_advskew() == 250
    o = make("openbsd", advskew=10)
    o.env.suppress_preempt = 1
    assert o.sent_advskew() == 10


def test_init_ignores_adverts() -> None:
    v = make()
    assert v.receive(peer_ad(v, 0), 1.0) == []
    assert v.state == INIT


# -- counters (docs/protocol.md §3) ---------------------------------------------------------------


def test_openbsd_cookie_is_random_once_then_constant() -> None:
    v = make()
    acts = master(v) + v.timeout(4.0) + v.timeout(5.0)
    counters = {a.counter for a in sent(acts)}
    assert len(counters) == 1 and counters != {bytes(8)}
    assert v.counter.heard(sent(acts)[0].counter, "10.0.0.2", True) == "loop"
    assert v.counter.heard(peer_ad(v, 0).counter, "10.0.0.2", True) is None


@pytest.mark.parametrize("pers", ["freebsd", "netbsd"])
def test_bsd_counter_increments_and_takes_a_newer_peers(pers: str) -> None:
    v = make(pers, advskew=0)
    v.env.wall = lambda: 1_800_000_000.5
    ads = sent(master(v) + v.timeout(4.0) + v.timeout(5.0))
    nums = [counter_to_int(a.counter) for a in ads]
    assert nums[0] >> 32 == 1_800_000_000  # the wall second, then 32 random bits
    assert nums[1] == nums[0] + 1 and nums[2] == nums[0] + 2
    v.receive(peer_ad(v, 100, counter=nums[2] + 1000), 5.5)  # slower peer: we stay MASTER
    assert counter_to_int(sent(v.timeout(6.0))[0].counter) == nums[2] + 1001
    v.receive(peer_ad(v, 100, counter=nums[2]), 6.5)  # an older counter is not taken
    assert counter_to_int(sent(v.timeout(7.0))[0].counter) == nums[2] + 1002
    assert v.counter.heard(ads[0].counter, "10.0.0.9", True) is None  # no loop check here


@pytest.mark.parametrize("pers", ["freebsd", "netbsd"])
def test_a_counter_not_newer_than_the_sender_s_last_is_a_replay(pers: str) -> None:
    """carp.4 "Replay": per sender, once it sent two different counters."""
    v = make(pers, advskew=100)
    v.start(0.0)
    first = peer_ad(v, 0, counter=2**64 - 3)
    assert v.accept(first, 0.5, "10.0.0.2") == []  # nothing heard from it yet
    second = peer_ad(v, 0, counter=2**64 - 2)
    assert v.accept(second, 1.0, "10.0.0.2") == []  # it counts: INCREMENTING from now on
    deadline = v.down.at
    assert v.accept(second, 2.0, "10.0.0.2") == "replay"  # the same advert again
    assert v.accept(first, 2.0, "10.0.0.2") == "replay"  # an older one
    half = peer_ad(v, 0, counter=2**64 - 2 - 2**63)
    assert v.accept(half, 2.0, "10.0.0.2") == "replay"  # half way round
    assert v.down.at == deadline and v.counter.senders["10.0.0.2"] == [2**64 - 2, INCREMENTING]
    assert v.accept(peer_ad(v, 0, counter=5), 2.5, "10.0.0.2") == []  # wrapped: newer
    assert v.accept(peer_ad(v, 0, counter=2**64 - 1), 3.0, "10.0.0.2") == "replay"
    assert v.receive(first, 3.0, "10.0.0.2") == []  # receive() takes it whatever its counter
    # The gap: under another source address, the same bytes are a new sender.
    assert v.accept(second, 3.2, "10.0.0.9") == v.accept(second, 3.3, "10.0.0.9") == []
    v.stop(3.5, "test")
    v.start(4.0)  # what a vhid heard before INIT is forgotten
    assert v.counter.senders == {}
    assert v.accept(second, 4.5, "10.0.0.2") == []


@pytest.mark.parametrize("pers", ["freebsd", "netbsd"])
def test_each_sender_is_compared_with_its_own_history(pers: str) -> None:
    """A constant cookie (OpenBSD) and an incrementing sender share the vhid: neither
    makes the other's adverts replays, whichever order their counters are in."""
    v = make(pers, advskew=100)
    v.start(0.0)
    t = 0.0
    for i in range(5):
        for src, c in (("10.0.0.3", 2**63 + 7), ("10.0.0.4", 100 + i), ("10.0.0.5", 2**64 - 1)):
            t += 0.1
            assert v.accept(peer_ad(v, 0, counter=c), t, src) == []
    assert v.counter.senders == {"10.0.0.3": [2**63 + 7, COOKIE], "10.0.0.4": [104, INCREMENTING],
                         "10.0.0.5": [2**64 - 1, COOKIE]}
    # A cookie that changes (OpenBSD recreated the vhost) is heard afresh, older or not.
    for _ in range(3):
        t += 0.1
        assert v.accept(peer_ad(v, 0, counter=3), t, "10.0.0.3") == []
    assert v.counter.senders["10.0.0.3"] == [3, COOKIE]


def test_a_vhid_remembers_a_handful_of_senders() -> None:
    v = make("freebsd", advskew=100)
    v.start(0.0)
    for i in range(MAX_SENDERS + 3):
        v.accept(peer_ad(v, 0, counter=i), 1.0 + i / 100, f"10.0.1.{i}")
    assert list(v.counter.senders) == [f"10.0.1.{i}" for i in range(3, MAX_SENDERS + 3)]


@pytest.mark.parametrize("pers", ["freebsd", "netbsd"])
def test_masters_that_cross_counters_hear_each_other(pers: str) -> None:
    """Two masters that took each other's counter send the same next one at the same
    time: each sender's own counters still only go up, so each hears the other."""
    v = make(pers, advskew=0)
    master(v)
    heard = v.accept(peer_ad(v, 100, counter=v.counter.value + 10), 3.5, "10.0.0.2")
    assert not isinstance(heard, str) and changes(heard) == []  # (it re-announces: it wins)
    (ad,) = sent(v.timeout(4.0))
    ours = counter_to_int(ad.counter)
    assert ours == v.counter.senders["10.0.0.2"][0] + 1  # we took its counter
    crossing = peer_ad(v, 100, counter=ours)  # it took ours too: the same next counter
    heard = v.accept(crossing, 4.0001, "10.0.0.2")
    assert not isinstance(heard, str) and changes(heard) == []
    assert v.state == MASTER and v.counter.senders["10.0.0.2"] == [ours, INCREMENTING]
    assert v.accept(crossing, 4.0002, "10.0.0.2") == "replay"  # but not twice
    assert v.accept(peer_ad(v, 100, counter=ours - 1), 4.0003, "10.0.0.2") == "replay"


def test_openbsd_refuses_only_its_own_cookie() -> None:
    v = make("openbsd", advskew=100)
    v.start(0.0)
    ad = peer_ad(v, 0, counter=9)
    assert v.accept(ad, 1.0) == v.accept(ad, 2.0) == []  # a replay looks like the master
    own = sent(v.request(MASTER, 3.0))[0]
    assert v.accept(own, 3.5) == "loop"
    assert v.state == MASTER


# -- admin and shutdown -------------------------------------------------------------------


def test_state_requests() -> None:
    v = make(advskew=100)
    v.start(0.0)
    acts = v.request(MASTER, 1.0)
    assert changes(acts) == [(BACKUP, MASTER, "user requested via ifconfig")]
    assert len(sent(acts)) == 1
    assert v.request(MASTER, 1.5) == []
    acts = v.request(BACKUP, 2.0)
    assert changes(acts) == [(MASTER, BACKUP, "user requested via ifconfig")]
    assert v.next_deadline_us() == 2_000_000 + v.master_down_us()
    i = make()
    assert i.request(MASTER, 0.0) == []  # INIT: nothing to force


@pytest.mark.parametrize("pers", ["openbsd", "netbsd"])
def test_stop_from_master_bows_out(pers: str) -> None:
    v = make(pers, advskew=7)
    master(v)
    acts = v.stop(9.0, "shutdown", bow_out=True)
    (ad,) = sent(acts)
    assert (ad.advbase, ad.advskew, ad.bow_out) == (255, 255, True)
    assert changes(acts) == [(MASTER, INIT, "shutdown")]
    assert v.next_deadline() is None
    assert v.stop(10.0, "shutdown", bow_out=True) == []


def test_stop_from_backup_or_without_bow_out_sends_nothing() -> None:
    b = make()
    b.start(0.0)
    assert sent(b.stop(1.0, "hardware interface down", bow_out=True)) == []
    m = make()
    master(m)
    acts = m.stop(5.0, "hardware interface down")
    assert sent(acts) == [] and changes(acts) == [(MASTER, INIT, "hardware interface down")]
    assert logs(acts) == [(LOG_WARNING, "carp0: state transition: MASTER -> INIT")]


def test_advertise_now_only_on_master() -> None:
    v = make()
    v.start(0.0)
    assert v.advertise_now(1.0) == []
    master(v)
    acts = v.advertise_now(3.5)
    assert len(sent(acts)) == 1 and v.ad_at == 4_500_000


# -- log texts (docs/protocol.md §8) --------------------------------------------------------------


def test_openbsd_carpnodes_log_names_the_vhid() -> None:
    v = make(vhid=3, nodes=2, ifname="carp1", logname="carp1")
    acts = master(v)
    assert (LOG_CRIT, "carp1: state transition (vhid 3): BACKUP -> MASTER") in logs(acts)


def test_freebsd_log_lines() -> None:
    v = make("freebsd")
    acts = master(v) + v.receive(peer_ad(v, 0), 5.0)
    assert logs(acts) == [
        (LOG_INFO, "carp: 1@em0: INIT -> BACKUP (initialization complete)"),
        (LOG_INFO, "carp: 1@em0: BACKUP -> MASTER (master timed out)"),
        (LOG_INFO, "carp: 1@em0: MASTER -> BACKUP (more frequent advertisement received)"),
    ]


def test_netbsd_log_lines() -> None:
    v = make("netbsd")
    acts = master(v) + v.receive(peer_ad(v, 0), 5.0)
    assert logs(acts) == [
        (LOG_INFO, "carp0: state transition from: INIT -> to: BACKUP"),
        (LOG_INFO, "carp0: INIT -> MASTER (preempting)"),
        (LOG_INFO, "carp0: state transition from: BACKUP -> to: MASTER"),
        (LOG_INFO, "carp0: MASTER -> BACKUP (more frequent advertisement received)"),
        (LOG_INFO, "carp0: state transition from: MASTER -> to: BACKUP"),
    ]
    p = make("netbsd", preempt=True)
    p.start(0.0)
    assert (LOG_INFO, "carp0: BACKUP -> MASTER (preempting a slower master)") in logs(
        p.receive(peer_ad(p, 100), 1.0)
    )


def test_one_master_down_timer_per_family() -> None:
    """carp_setrun(sc, af): an advert restarts its own family's timer; NetBSD, which sends
    no IPv6 adverts, keeps the IPv4 one only, and any advert restarts it."""
    v = make("freebsd", advskew=100, v6=("2001:db8::1",))
    v.start(0.0)
    md = 3_390_625
    assert (v.down.at4, v.down.at6) == (md, md)
    v.receive(peer_ad(v, 0), 1.0, family=6)
    assert (v.down.at4, v.down.at6, v.down.at) == (md, 1_000_000 + md, md)
    acts = v.timeout(md / 1e6)  # the IPv4 timer runs out although IPv6 adverts come
    assert v.state == MASTER and (v.down.at4, v.down.at6) == (None, None), acts
    n = make("netbsd", advskew=100, v6=("2001:db8::1",))
    n.start(0.0)
    assert (n.down.at4, n.down.at6) == (md, None)
    n.receive(peer_ad(n, 0), 1.0, family=6)
    assert (n.down.at4, n.down.at6) == (1_000_000 + md, None)


def test_a_renewal_never_runs_early_so_the_lease_plan_holds() -> None:
    """carp.lease: between two renewals at most seconds - EARLY_US - RENEW_SLACK_US pass,
    so a carpd late by RENEW_SLACK_US never lets its own address lapse.  A renewal run
    within the advert slack would break that (the advert after it stays where it was;
    advbase 1 advskew 100: 745 ms against 730), so a renewal waits for its time."""
    from carp.lease import EARLY_US, RENEW_SLACK_US
    v = make(advskew=100)
    v.start(10.0)
    down = v.next_deadline_us()
    assert down is not None
    v.timeout(down / 1e6)
    lease_at, ad_at = v.lease_at, v.ad_at
    assert lease_at is not None and ad_at is not None and lease_at < ad_at
    slack = advert_slack_us(v.ad_interval_us())
    assert v.timeout((lease_at - slack) / 1e6, slack=True) == []
    assert [type(a) for a in v.timeout(lease_at / 1e6, slack=True)] == [Lease]
    seconds = v.lease_plan().seconds
    assert v.ad_at == ad_at
    assert ad_at - lease_at <= seconds * 1_000_000 - EARLY_US - RENEW_SLACK_US
