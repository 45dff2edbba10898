"""Balancing membership: which of one host's vhids answer for which addresses (pure).

CarpHost keeps the vhids; this reads them for the two kinds of balancing of carp.balance
(§6): net.inet.carp.arpbalance, where several carp interfaces hold one address and a
hash picks who answers a who-has (§6.3, §6.4), and OpenBSD's carpnodes, where one carp
interface's vhids share its addresses and carpd's kernel filter follows which of them are
MASTER here (§6.1, §6.2).  carpd asks it what to answer and what to put in the filter.

§N refers to the protocol notes in docs/protocol.md.
"""

from __future__ import annotations

import socket

from carp.balance import (
    Answer,
    ArpMember,
    Share,
    arp_members,
    arp_responder,
    balanced_addresses,
    neighbour_answer,
    share,
    state_word,
)
from carp.states import MASTER
from carp.wire import mac_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.host import CarpHost


def canonical(addr: str) -> str:
    """The one spelling of an address (inet_ntop's), as the neighbour sockets see it."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return socket.inet_ntop(family, socket.inet_pton(family, addr))


class Membership:
    """The balancing view of one CarpHost's interfaces and vhids."""

    def __init__(self, host: CarpHost) -> None:
        self.host = host

    # -- net.inet.carp.arpbalance (§6.3/6.4) ------------------------------------------

    def _arp_members(self) -> dict[tuple[str, str], list[ArpMember]]:
        host = self.host
        if not host._sc("arpbalance"):
            return {}
        masters = {vk for vk, v in host.vhosts.items() if v.state == MASTER}
        runnable = [ci for k, ci in host.ifaces.items() if not host.runnable((k, ci.vhid))]
        return arp_members(runnable, masters)

    def arp_balanced(self) -> dict[str, set[str]]:
        """carpdev -> the addresses whose ARP requests carpd answers itself."""
        return balanced_addresses(self._arp_members())

    def arp_answer(self, dev: str, target_ip: str, sender_mac: str, sender_ip: str) -> str | None:
        """The MAC this host answers a balanced who-has with, or None (stay silent)."""
        members = self._arp_members().get((dev, target_ip), [])
        chosen = arp_responder(self.host.policy, members, mac_bytes(sender_mac), sender_ip)
        return chosen.mac if chosen else None

    # -- carpnodes (§6.1, §6.2): what carpd puts in the kernel filter --------------------

    def shares(self) -> dict[str, Share]:
        """Interface key -> its Share, for every carp interface in a balancing mode."""
        out: dict[str, Share] = {}
        for key, ci in self.host.ifaces.items():
            sh = share(ci)
            if sh is not None:
                out[key] = sh
        return out

    def masters(self, key: str) -> list[bool]:
        """Node i of interface `key` (vhid order) is MASTER here."""
        ci = self.host.ifaces.get(key)
        if ci is None:
            return []
        vhosts = self.host.vhosts
        return [(v := vhosts.get((key, vhid))) is not None and v.state == MASTER
                for vhid in sorted(n.vhid for n in ci.nodes)]

    def state_word(self, key: str) -> int:
        """The filter's state word of interface `key` (balance.state_word)."""
        ci = self.host.ifaces.get(key)
        vhids = sorted(n.vhid for n in ci.nodes) if ci else []
        return state_word(self.masters(key), vhids)

    # -- both ------------------------------------------------------------------------------

    def answered(self) -> dict[str, set[str]]:
        """carpdev -> the addresses whose ARP requests / solicitations carpd answers
        itself: net.inet.carp.arpbalance's and those of balanced interfaces."""
        out = {dev: set(addrs) for dev, addrs in self.arp_balanced().items()}
        for key, sh in self.shares().items():
            for a in self.host.ifaces[key].addresses:
                out.setdefault(sh.carpdev, set()).add(canonical(a.address))
        return out

    def neighbour_answer(self, dev: str, target: str, sender_mac: str | None,
                         sender_ip: str) -> tuple[str, Answer] | None:
        """How this host answers a who-has / solicitation for `target` on `dev`:
        (interface key, answer), or None for silence."""
        for key, sh in self.shares().items():
            if sh.carpdev != dev:
                continue
            if any(canonical(a.address) == target for a in self.host.ifaces[key].addresses):
                ans = neighbour_answer(sh, self.masters(key), sender_mac)
                return None if ans is None else (key, ans)
        if sender_mac is None or ":" in target:
            return None
        mac = self.arp_answer(dev, target, sender_mac, sender_ip)
        return ("", Answer(mac, mac, -1)) if mac else None
