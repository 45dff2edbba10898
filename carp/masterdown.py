"""A BACKUP's master-down timers: one per address family, as every BSD keeps (pure).

sc_md_tmo and sc_md6_tmo: becoming BACKUP arms the timer of each family the vhid
advertises in; an advertisement restarts only the timer of its own family; either timer
running out makes the vhid MASTER (carp.vhost).  So a backup that stops hearing the
master in one family takes over although the other family still gets through, as a BSD
backup does.  A VRRPv3 vhid keeps them its own way (carp.vrrp.VrrpMasterDown).

Deadlines are integer microseconds on the clock of carp.vhost; None is a timer not armed.
"""

from __future__ import annotations


class MasterDown:
    """The two deadlines of one vhid, over `families` (4 and/or 6: those it times)."""

    def __init__(self, families: tuple[int, ...]) -> None:
        self.families = families
        self.at4: int | None = None
        self.at6: int | None = None

    @property
    def at(self) -> int | None:
        """The earlier of the two deadlines (None: neither armed)."""
        d4, d6 = self.at4, self.at6
        if d4 is None or (d6 is not None and d6 < d4):
            return d6
        return d4

    def arm(self, at: int | None) -> None:
        """carp_setrun(sc, 0): arm every family's timer at `at`; None stops both."""
        fams = self.families if at is not None else ()
        self.at4 = at if 4 in fams else None
        self.at6 = at if 6 in fams else None

    def backup(self, at: int) -> None:
        """The vhid becomes BACKUP: every timer runs out at `at`."""
        self.arm(at)

    def restart(self, at: int, family: int) -> None:
        """carp_setrun(sc, af): an advertisement of `family` restarts that family's timer
        (every armed one when the vhid keeps no timer for that family)."""
        if family == 4 and self.at4 is not None:
            self.at4 = at
        elif family == 6 and self.at6 is not None:
            self.at6 = at
        else:
            self.arm(at)
