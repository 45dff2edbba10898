"""When a MASTER tells the LAN where its addresses are (pure): one vhid's Announce actions,
the gratuitous ARP / unsolicited neighbour advertisement carpd sends.

* On a takeover: at once (FreeBSD, NetBSD); OpenBSD's leader only, and again two
  advertisements later (carp_send_ad: sc_delayed_arp; policy.delayed_announce).  A
  balanced interface announces nothing: carpd's neighbour answers decide (§6.2).
* After a split brain, when we stay MASTER over another one (carp.vhost): the clients
  and switches that followed the other master are told again, as on a takeover, at most
  once per advertisement interval (a peer that never hears us would otherwise draw one
  round per advertisement it sends).

§N refers to the protocol notes in docs/protocol.md.
"""

from __future__ import annotations

from carp.actions import Action, Announce

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.personality.base import Personality
    from carp.vhost import Params


class Announcer:
    """The announcements of one vhid (`p`), as its personality makes them."""

    def __init__(self, p: Params, pol: Personality) -> None:
        self.p = p
        self.delayed = pol.delayed_announce
        self.delayed_arp = -1  # OpenBSD leader: ads left before the second ARP round
        self.reannounced_at: int | None = None  # MASTER: last announcement after a split brain

    def _announce(self) -> list[Action]:
        p = self.p
        return [Announce(p.ifname, p.carpdev, p.vhid, p.mac, p.v4 + p.v6)]

    def _announces_takeover(self) -> bool:
        """OpenBSD announces a takeover on the leader only; nobody on a balanced interface."""
        p = self.p
        return p.balancing == "none" and (p.leader or not self.delayed)

    def takeover(self) -> list[Action]:
        """BACKUP -> MASTER, after the first advertisement."""
        if not self._announces_takeover():
            return []
        if self.delayed:
            self.delayed_arp = 2
        return self._announce()

    def advertised(self) -> list[Action]:
        """A MASTER sent an advertisement: OpenBSD's leader repeats its ARP round after 2."""
        if self.delayed_arp > 0:
            self.delayed_arp -= 1
            if self.delayed_arp == 0:
                self.delayed_arp = -1
                return self._announce()
        return []

    def stop(self) -> None:
        """The vhid is no longer MASTER: no second round."""
        self.delayed_arp = -1

    def split_brain(self, now_us: int, interval_us: int) -> list[Action]:
        """We stay MASTER over another one, which yields on our next advertisement: a
        split brain is healing (module docstring)."""
        last = self.reannounced_at
        if last is not None and now_us - last < interval_us:
            return []
        if self.delayed and not self._announces_takeover():
            return []  # OpenBSD announces only there on a takeover too
        self.reannounced_at = now_us
        return self._announce()
