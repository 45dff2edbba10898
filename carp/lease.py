"""How long a MASTER's virtual addresses outlive carpd: the lease plan of one vhid (pure).

A MASTER holds its virtual addresses as leases: Linux addresses with a lifetime
(valid_lft = preferred_lft = `seconds`), renewed with every advertisement and, where one
lease is too short to last a whole advertisement interval, `renewals - 1` more times in
between, evenly spaced.  If every process of carpd's service dies, nothing renews them and
the kernel deletes them by itself; the plan is sized so that this happens before a backup
can take over.  (The watchdog withdraws them within milliseconds when only carpd dies.)

The Linux facts the plan rests on (net/ipv4/devinet.c check_lifetime, the same in
net/ipv6/addrconf.c addrconf_verify_rtnl):

* lifetimes are whole seconds, and an address counts as expired up to HZ/50 (20 ms)
  early (`age = (now - tstamp + ADDRCONF_TIMER_FUZZ_MINUS) / HZ`): EARLY_US;
* an expired address goes at the next lifetime check.  A check runs when an address of
  the namespace is added or renewed, and then at the next expiry but never sooner than
  ADDRCONF_TIMER_FUZZ_MAX (1 s) after the previous check.  So an address is deleted at
  most 1 s after its lifetime ends (measured: 3-300 ms usually, 0.99 s when a check ran
  just before the end): CHECK_US.

A backup takes over one master-down interval after the last advertisement it heard.  If
carpd's last renewal came `x` after that advertisement, the address is gone by
x + seconds + CHECK_US; the plan keeps that under the master-down interval of a backup
with the same advbase and advskew 0 (any backup), less SEND_SLACK_US.  Where no plan
can (advbase 1 with an ad interval above ~1.46 s), it keeps it under the master-down
interval of a backup whose advskew is at least ours (`any_backup` False).  Between two
renewals at most `seconds` - EARLY_US - RENEW_SLACK_US may pass, so a healthy carpd that
is late by up to RENEW_SLACK_US never lets its own address lapse.

Lifetimes scale with advbase: advbase 1 gives 1 s leases renewed twice per interval,
advbase 10 a 19 s lease renewed with each advertisement.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from carp.states import US

CHECK_US = US  # deleted at most this long after the lifetime ends (module docstring)
EARLY_US = US // 50  # ... and at the earliest this long before it ends
RENEW_SLACK_US = 250_000  # how late a renewal may be without the lease lapsing
SEND_SLACK_US = 100_000  # kept between the address going and the earliest takeover
MAX_RENEWALS = 8


@dataclass(frozen=True)
class LeasePlan:
    seconds: int  # valid_lft and preferred_lft of every virtual address
    renewals: int  # per advertisement interval, the first with the advertisement
    gap_us: int  # between two renewals within one interval
    bound_us: int  # the latest the addresses can be gone, counted from an advertisement
    any_backup: bool  # bound_us beats every backup with this advbase (else: advskew >= ours)


def _ceil_s(us: int) -> int:
    return -(-us // US)


@lru_cache(maxsize=1024)
def plan(ad_us: int, md_any_us: int, md_own_us: int) -> LeasePlan:
    """The lease of a MASTER that advertises every `ad_us`, against backups whose
    master-down interval is `md_any_us` (advskew 0) or `md_own_us` (our advskew)."""
    ad_us = max(ad_us, 1)
    for target, any_backup in ((md_any_us, True), (md_own_us, False)):
        for n in range(1, MAX_RENEWALS + 1):
            gap = ad_us // n
            longest = ad_us - (n - 1) * gap  # the last gap takes the remainder
            last = (n - 1) * gap  # the latest renewal after an advertisement
            lo = max(1, _ceil_s(longest + RENEW_SLACK_US + EARLY_US))
            hi = (target - SEND_SLACK_US - CHECK_US - last) // US
            if lo <= hi:
                seconds = (lo + hi) // 2  # as much room on either side
                return LeasePlan(seconds, n, gap, last + seconds * US + CHECK_US, any_backup)
    # Not even a backup at our advskew can be beaten (advbase 0): never lapse, at least.
    n = next((k for k in range(1, MAX_RENEWALS + 1)
              if ad_us - (k - 1) * (ad_us // k) + RENEW_SLACK_US + EARLY_US <= US),
             MAX_RENEWALS)
    gap = ad_us // n
    return LeasePlan(1, n, gap, (n - 1) * gap + US + CHECK_US, False)
