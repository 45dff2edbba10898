"""carp.deadlines: every vhid's next timer, earliest first, from a lazy heap."""

from __future__ import annotations

from typing import cast

from carp.deadlines import ADVERT_SLACK_US, Deadlines, advert_slack_us
from carp.states import SKEW_US, US
from carp.vhost import VirtualHost


class Timer:
    """A stand-in vhid: just a deadline (us) that the test moves."""

    def __init__(self, at: int | None) -> None:
        self.at = at

    def next_deadline_us(self) -> int | None:
        return self.at


def deadlines(*timers: Timer) -> Deadlines:
    return Deadlines(lambda: cast("list[VirtualHost]", list(timers)))


def test_the_earliest_deadline_and_who_is_due() -> None:
    a, b, idle = Timer(300), Timer(100), Timer(None)
    d = deadlines(a, b, idle)
    assert d.next_us() == 100
    assert list(d.due(99)) == []
    assert list(d.due(300)) == [b, a]  # in deadline order, the idle one never


def test_a_moved_deadline_leaves_its_old_entry_behind() -> None:
    a, b = Timer(100), Timer(200)
    d = deadlines(a, b)
    assert d.next_us() == 100
    a.at = 500  # moved, and told: the entry at 100 is dead
    d.touch([cast("VirtualHost", a)])
    assert d.next_us() == 200
    assert list(d.due(1000)) == [b, a]
    b.at = 150  # moved, not told: only a rebuild finds it
    assert d.next_us() is None
    d.invalidate()
    assert d.next_us() == 150


def test_a_vhid_pushed_twice_is_due_once() -> None:
    a = Timer(100)
    d = deadlines(a)
    d.touch([cast("VirtualHost", a)] * 3)
    assert list(d.due(100)) == [a]


def test_dead_entries_are_dropped_by_a_rebuild() -> None:
    a = Timer(1000)
    d = deadlines(a)
    assert d.next_us() == 1000  # built: from here only the size bound rebuilds it
    for t in range(1, 200):  # a deadline that keeps coming earlier: the dead entries
        a.at = 1000 - t  # lie under the live one, where no pop from the top finds them
        d.touch([cast("VirtualHost", a)])
    assert len(d._heap) == 200
    assert d.next_us() == 801  # over 4 entries per vhid + 64: rebuilt from the vhids
    assert len(d._heap) == 1


def test_due_ahead_yields_the_timers_due_within_it() -> None:
    a, b, c = Timer(100), Timer(150), Timer(151)
    d = deadlines(a, b, c)
    assert list(d.due(100, 50)) == [a, b]  # c is left for later
    assert d.next_us() == 151


def test_advert_slack_is_capped_and_a_sixteenth_of_a_short_interval() -> None:
    assert advert_slack_us(255 * US) == ADVERT_SLACK_US
    assert advert_slack_us(SKEW_US) == SKEW_US // 16  # advbase 0: 244 us
