"""The timers of every vhid of one host, earliest first (pure).

A lazy min-heap of (deadline_us, seq, vhost): an entry is live while the vhost still has
that deadline, so a vhid whose timer moved is pushed again and its old entry dropped when
it surfaces.  Scanning every vhid per wake-up instead was O(n^2) a second at a thousand
vhids.  CarpHost says which vhids an event touched (or that any may have changed).

Advert slack: a wake-up at `now` also runs the MASTER advertisements due before
now + their slack, so vhids configured one by one, whose timers
would each wake carpd at its own phase, fall into a few shared wake-ups within a cycle:
an early timer re-arms from `now`, so its phase joins the one that woke it.  Only
advertisements go early: one shortens one interval (a backup waits 3 x advbase +
skew).  A master-down timer never does, nor a lease renewal: carp.lease sizes a lease
for a carpd up to RENEW_SLACK_US late, counted from the renewal to the next advert.
The kernels keep one callout per vhid (OpenBSD timeout_add, FreeBSD and NetBSD
callout_reset in carp_send_ad), nearly free there; in userland each wake-up costs
carpd an event loop turn, Python and syscalls, so this trades a little punctuality of
MASTERs for fewer of them (a userland cost, not a protocol rule)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.vhost import VirtualHost

Entry = tuple[int, int, "VirtualHost"]

ADVERT_SLACK_US = 50_000  # how early a MASTER timer may run at most: <= 20 wake-ups/s
ADVERT_SLACK_DIV = 16  # ... and at most this fraction of its advertisement interval


def advert_slack_us(interval_us: int) -> int:
    """How early a MASTER timer of a vhid advertising every `interval_us` may run."""
    return min(interval_us // ADVERT_SLACK_DIV, ADVERT_SLACK_US)


class Deadlines:
    """Every vhid's next deadline; `vhosts()` lists them all for a rebuild."""

    def __init__(self, vhosts: Callable[[], Iterable[VirtualHost]]) -> None:
        self._vhosts = vhosts
        self._heap: list[Entry] = []
        self._seq = itertools.count()
        self._size = 0  # vhids at the last rebuild: bounds the dead entries kept
        self._dirty = True  # rebuild from every vhid before the next use

    def invalidate(self) -> None:
        """Any vhid may have changed (a configure, a link event)."""
        self._dirty = True

    def touch(self, vhosts: Iterable[VirtualHost]) -> None:
        """These vhids' deadlines may have moved."""
        for v in vhosts:
            self._push(v)

    def _push(self, v: VirtualHost) -> None:
        d = v.next_deadline_us()
        if d is not None:
            heapq.heappush(self._heap, (d, next(self._seq), v))

    def _live(self) -> list[Entry]:
        """The heap, rebuilt when stale, with dead entries popped off its top."""
        if self._dirty or len(self._heap) > 4 * self._size + 64:
            self._heap = []
            self._size = 0
            for v in self._vhosts():
                self._push(v)
                self._size += 1
            self._dirty = False
        heap = self._heap
        while heap and heap[0][2].next_deadline_us() != heap[0][0]:
            heapq.heappop(heap)
        return heap

    def due(self, now_us: int, ahead_us: int = 0) -> Iterator[VirtualHost]:
        """Each vhid with a timer due by `now_us` + `ahead_us`, once (the caller then runs
        what is due: a vhid yielded for a timer it must not run early is requeued)."""
        heap = self._live()
        seen: set[int] = set()
        until = now_us + ahead_us
        while heap and heap[0][0] <= until:
            d, _, v = heapq.heappop(heap)
            if id(v) in seen or v.next_deadline_us() != d:
                continue  # a stale entry
            seen.add(id(v))
            yield v

    def next_us(self) -> int | None:
        """The earliest deadline of any vhid, or None."""
        heap = self._live()
        return heap[0][0] if heap else None
