"""The advertisement counter of one vhid: what we send, and what we know of each sender's.

Two kinds, one per vhid, as its personality says (policy.cookie_counter):

* CookieCounter, OpenBSD's: one random 64-bit cookie made at the first advertisement and
  sent in every one after it; our own cookie coming back is a network loop (§3).
* SerialCounter, FreeBSD's and NetBSD's: starts from the wall clock (carp.wire
  counter_start), adds one per advertisement and takes a peer's when that is newer.  With
  policy.refuses_replays it also keeps per-sender records (below) and refuses replays.

`heard` runs for every authenticated advertisement (the hot receive path).

Replay protection is per sender (the advert's IP source) within a vhid; what is known of
a sender is [newest counter accepted, kind].  Counters compare in RFC 1982 serial-number
order on 64 bits: c comes after d when 0 < (c - d) mod 2**64 < 2**63, so a counter that
wraps past 2**64 - 1 still comes after.  Written out where it is used, as
0 < (c - d) & 0xFFFF_FFFF_FFFF_FFFF < 1 << 63 (folded into constants when compiled).
"""

from __future__ import annotations

import random

from carp.wire import counter_start, int_to_counter, random_counter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.vhost import Env

ONCE = 0  # one counter heard (once or more: not yet told apart)
COOKIE = 1  # one counter repeated: OpenBSD's constant cookie, no protection possible
INCREMENTING = 2  # two different counters accepted: each must now be newer (FreeBSD, NetBSD)
MAX_SENDERS = 8  # senders remembered per vhid; a new one makes the vhid forget the oldest


class AdvertCounter:
    """What both kinds keep: the last counter sent (SerialCounter's) and the senders."""

    def __init__(self, rng: random.Random | None) -> None:
        self.rng = rng
        self.cookie: bytes | None = None  # OpenBSD: random once, then constant
        self.sent: int | None = None  # the counter of our last advertisement (counting)
        # sender (IP source) -> [newest counter accepted, kind], since the vhid left INIT
        # (ONCE, COOKIE, INCREMENTING; at most MAX_SENDERS, in the order first heard)
        self.senders: dict[str, list[int]] = {}

    def next(self) -> bytes:
        """The counter of our next advertisement."""
        raise NotImplementedError

    def heard(self, counter: bytes, src: str, check: bool) -> str | None:
        """An authenticated advertisement from `src` carried `counter`: "loop" or
        "replay" when it must be dropped (only if `check`), else None."""
        raise NotImplementedError


class CookieCounter(AdvertCounter):
    """OpenBSD: one random cookie per vhid, constant (carp_prepare_ad)."""

    def next(self) -> bytes:
        if self.cookie is None:
            self.cookie = random_counter(self.rng)
        return self.cookie

    def heard(self, counter: bytes, src: str, check: bool) -> str | None:
        return "loop" if check and counter == self.cookie else None


class SerialCounter(AdvertCounter):
    """FreeBSD / NetBSD: counter++, a newer peer's taken; replays refused as the policy
    says.  `env.wall` is read once, at the first advertisement: where the counter starts."""

    def __init__(self, rng: random.Random | None, env: Env) -> None:
        super().__init__(rng)
        self.env = env
        self.refuses = env.policy.refuses_replays
        self.value = 0
        self.fresh = True  # nothing sent or taken yet

    def next(self) -> bytes:
        if self.fresh:  # first ad: the start (wall second, random), then counter++
            self.value = counter_start(self.env.wall(), self.rng)
            self.fresh = False
        else:
            self.value = (self.value + 1) & 0xFFFF_FFFF_FFFF_FFFF
        self.sent = self.value
        return int_to_counter(self.value)

    def heard(self, counter: bytes, src: str, check: bool) -> str | None:
        """Hot path.  "replay" (policy.refuses_replays, this implementation's rule, not a
        BSD's; carp.4, "Replay"): the sender is INCREMENTING, two of its accepted adverts
        having carried different counters, and this counter is not newer than the newest
        accepted from it.  A sender that only repeats one counter is an OpenBSD cookie (a
        replay of it is the same bytes): always accepted; one whose repeated counter
        changes got a new cookie (OpenBSD recreated its vhost) and is heard afresh.  Each
        sender is compared with its own history only, so hosts that count and hosts with
        a constant cookie share a vhid."""
        c = int.from_bytes(counter, "big")  # hot: no length check
        rec = self.senders.get(src)
        if rec is None:
            senders = self.senders
            if len(senders) >= MAX_SENDERS:
                del senders[next(iter(senders))]  # forget the oldest
            senders[src] = [c, ONCE]
        else:
            last, kind = rec
            if c == last:
                if kind == INCREMENTING:
                    if check and self.refuses:
                        return "replay"
                else:
                    rec[1] = COOKIE
            elif 0 < (c - last) & 0xFFFF_FFFF_FFFF_FFFF < 1 << 63:  # newer
                rec[0] = c
                rec[1] = ONCE if kind == COOKIE else INCREMENTING
            elif kind == INCREMENTING:
                if check and self.refuses:
                    return "replay"
            elif kind == ONCE:
                rec[1] = INCREMENTING  # its newest stays the newest
            else:  # a new cookie
                rec[0] = c
                rec[1] = ONCE
        # FreeBSD and NetBSD copy the peer's counter; we take it only if it is newer,
        # so that what we send never goes back (the wire does not show the difference).
        if self.fresh:
            self.value = c
            self.fresh = False
        elif 0 < (c - self.value) & 0xFFFF_FFFF_FFFF_FFFF < 1 << 63:
            self.value = c
        return None
