"""carpd's link table asks the daemon for a reconcile pass only when a link that matters
to it changed: not when its own macvlans are made, named and set up (a pass walks every
interface: a thousand per event made a write's acknowledgement grow with the config)."""

from __future__ import annotations

import asyncio

from carp.daemon.leases import _BPF_INSN, _BPF_MAXINSNS, quiet_filter
from carp.daemon.netlink import IFF_LOWER_UP, IFF_UP, Netlink
from carp.daemon.watchdog import TAG, TMP_PREFIX

UP = IFF_UP | IFF_LOWER_UP


def _msg(index: int, name: str, flags: int = 0, alias: str | None = None) -> dict[str, object]:
    return {"index": index, "ifname": name, "flags": flags, "ifalias": alias, "link": 2}


def test_only_links_that_matter_ask_for_a_pass() -> None:
    async def scenario() -> list[tuple[str, bool]]:
        nl = Netlink(on_change=lambda: None, log=print)
        try:
            steps = [
                ("carpdev appears", _msg(2, "em0", UP), "RTM_NEWLINK"),
                ("carpdev goes down", _msg(2, "em0", IFF_UP), "RTM_NEWLINK"),
                ("our macvlan made", _msg(10, f"{TMP_PREFIX}0"), "RTM_NEWLINK"),
                ("named", _msg(10, "carp0"), "RTM_NEWLINK"),  # the tag comes next
                ("tagged", _msg(10, "carp0", alias=TAG), "RTM_NEWLINK"),
                ("set up", _msg(10, "carp0", UP, TAG), "RTM_NEWLINK"),
                ("set down", _msg(10, "carp0", 0, TAG), "RTM_NEWLINK"),
                ("renamed by hand", _msg(10, "other", 0, TAG), "RTM_NEWLINK"),
                ("deleted", _msg(10, "other", 0, TAG), "RTM_DELLINK"),
            ]
            return [(label, nl._link_msg(msg, event)) for label, msg, event in steps]
        finally:
            nl.close()

    assert asyncio.run(scenario()) == [
        ("carpdev appears", True), ("carpdev goes down", True),
        ("our macvlan made", False), ("named", False), ("tagged", False), ("set up", False),
        ("set down", False), ("renamed by hand", True), ("deleted", True),
    ]


def test_the_quiet_filter_holds_a_thousand_macvlans() -> None:
    """Beyond 255 macvlans the monitor had no filter and parsed every lease renewal."""
    program = quiet_filter(range(100, 1100))
    assert program is not None and len(program) // _BPF_INSN.size <= _BPF_MAXINSNS
    assert quiet_filter(range(100, 2100)) is not None
    assert quiet_filter(range(100, 3100)) is None  # beyond what the kernel takes
