"""carp.lease: a MASTER's addresses are leases the kernel ends by itself before a backup
can take over, and that a healthy carpd never lets lapse; carp.vhost renews them."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from carp.actions import Lease, Send
from carp.lease import CHECK_US, EARLY_US, RENEW_SLACK_US, SEND_SLACK_US, plan
from carp.personality import policy
from carp.states import US, skew_us
from carp.vhost import BACKUP, INIT, MASTER, Env, Params, VirtualHost
from carp.wire import hmac_key

PERSONALITIES = ("openbsd", "freebsd", "netbsd")


def make(pers: str = "openbsd", advbase: int = 1, advskew: int = 0) -> VirtualHost:
    params = Params(ifname="carp0", logname="carp0", carpdev="em0", vhid=1,
                    v4=("192.168.1.1",), v6=("2001:db8::1",), key=hmac_key("k"),
                    mac="00:00:5e:00:01:01")
    return VirtualHost(Env(pers), params, advbase, advskew, rng=random.Random(1))


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_every_plan_never_lapses_and_ends_before_a_backup_takes_over(pers: str) -> None:
    pol = policy(pers)
    for advbase in [*range(0, 13), 60, 255]:
        for advskew in range(255):
            ad = advbase * US + skew_us(advskew) or US // 256
            md_any, md_own = pol.master_down_us(advbase, 0), pol.master_down_us(advbase, advskew)
            p = plan(ad, md_any, md_own)
            longest = ad - (p.renewals - 1) * p.gap_us
            assert p.seconds >= 1 and 1 <= p.renewals and p.gap_us * p.renewals <= ad
            # a renewal up to RENEW_SLACK_US late still finds the address there
            assert longest + RENEW_SLACK_US + EARLY_US <= p.seconds * US, (advbase, advskew, p)
            assert p.bound_us == (p.renewals - 1) * p.gap_us + p.seconds * US + CHECK_US
            if advbase == 0:
                continue  # a 1/256 s interval: no lease of whole seconds can beat it
            target = md_any if p.any_backup else md_own
            assert p.bound_us + SEND_SLACK_US <= target, (advbase, advskew, p)
            if advbase >= 2 or advskew <= 117:
                assert p.any_backup, (advbase, advskew, p)


def test_lifetimes_scale_with_advbase() -> None:
    pol = policy("openbsd")

    def of(advbase: int, advskew: int = 0) -> tuple[int, int]:
        p = plan(advbase * US + skew_us(advskew), pol.master_down_us(advbase, 0),
                 pol.master_down_us(advbase, advskew))
        return p.seconds, p.renewals

    assert of(1) == (1, 2)  # 1 s, renewed with the advert and half-way to the next
    assert of(1, 100) == (1, 2)
    assert of(2) == (3, 1)
    assert of(10) == (19, 1)
    assert of(255) == (509, 1)


def leases(acts: list[object]) -> list[Lease]:
    return [a for a in acts if isinstance(a, Lease)]


def test_a_master_renews_with_each_advert_and_between() -> None:
    v = make(advskew=100)  # ad interval 1.390625 s: 1 s leases, renewed twice per interval
    acts = v.start(0.0)
    assert leases(acts) == []
    t = v.master_down_us() / US
    acts = v.timeout(t)
    assert v.state == MASTER
    assert leases(acts) == [Lease("carp0", "em0", 1, 1, ("192.168.1.1", "2001:db8::1"))]
    times: list[tuple[int, str]] = []
    start = v.master_down_us()
    while (d := v.next_deadline_us()) is not None and d < start + 10 * US:
        for a in v.timeout(d / US):
            if isinstance(a, Send | Lease):
                times.append((d - start, type(a).__name__))
    ad = v.ad_interval_us()
    adverts = [0, *sorted({t for t, kind in times if kind == "Send"})]
    assert adverts == [k * ad for k in range(len(adverts))]
    renewals = [0, *(t for t, kind in times if kind == "Lease")]
    # with each advertisement, and half-way to the next one
    assert renewals == sorted(t for a in adverts for t in (a, a + ad // 2) if t < 10 * US)


def test_no_lease_outside_master() -> None:
    v = make()
    v.start(0.0)
    v.timeout(3.0)
    assert v.state == MASTER and v.lease_at == 3_500_000
    acts = v.request(BACKUP, 3.2)
    assert v.state == BACKUP and v.lease_at is None and leases(acts) == []
    assert v.next_deadline_us() == 3_200_000 + v.master_down_us()
    v.request(MASTER, 4.0)
    acts = v.stop(4.1, "user requested via ifconfig")
    assert v.state == INIT and v.next_deadline() is None and leases(acts) == []


def _span(text: str) -> set[int]:
    """'1', '3 or 4', '1 to 3' -> the numbers it allows."""
    words = text.split()
    if len(words) == 3 and words[1] == "to":
        return set(range(int(words[0]), int(words[2]) + 1))
    return {int(w) for w in words if w != "or"}


def test_carpd_8_tabulates_the_leases_carp_lease_gives() -> None:
    page = (Path(__file__).resolve().parents[2] / "man" / "carpd.8").read_text()
    rows = re.findall(r"^\.It (\d+) Ta (\d+) to (\d+) Ta (.+?) s Ta (.+)$", page, re.M)
    assert len(rows) == 5
    for advbase, lo, hi, seconds, renewals in rows:
        for pers in PERSONALITIES:
            pol = policy(pers)
            b = int(advbase)
            skews = range(int(lo), int(hi) + 1)
            plans = [plan(b * US + skew_us(s), pol.master_down_us(b, 0),
                          pol.master_down_us(b, s)) for s in skews]
            assert {p.seconds for p in plans} <= _span(seconds), (pers, advbase, lo)
            assert {p.renewals for p in plans} <= _span(renewals), (pers, advbase, lo)
            assert all(p.any_backup for p in plans) == (b > 1 or int(hi) <= 117)
