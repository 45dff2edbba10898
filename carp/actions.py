"""What the pure core asks the outside world to do (sans-IO: events in, actions out).

carpd turns each action into syscalls; the simulator turns them into virtual-LAN events.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from carp.priorities import LOG_CRIT as LOG_CRIT
from carp.priorities import LOG_DEBUG as LOG_DEBUG
from carp.priorities import LOG_ERR as LOG_ERR
from carp.priorities import LOG_INFO as LOG_INFO
from carp.priorities import LOG_NOTICE as LOG_NOTICE
from carp.priorities import LOG_WARNING as LOG_WARNING


@dataclass(frozen=True)
class Send:
    """Send one CARP (or VRRPv3) payload to `dst` out of `carpdev` with TTL 255."""

    ifname: str  # the carp interface key (CarpInterface.key)
    carpdev: str
    family: int  # 4 or 6
    dst: str  # 224.0.0.18, ff02::12 or a unicast peer
    payload: bytes  # the 36-byte CARP header (8+n for VRRPv3)
    vhid: int
    # the personality's send policy, so that the simulator sees what carpd puts on the wire
    tos: int = 0x10  # IPv4 TOS or IPv6 traffic class
    zero_ip_id: bool = False  # NetBSD: IP id 0 instead of a running counter
    # Ethernet source of a multicast advert: "" = the vhid's virtual MAC, carp.mac.PARENT_MAC
    # = the carpdev's own (balancing ip / ip-stealth never show a virtual MAC)
    src_mac: str = ""
    # VRRPv3: the checksum covers an IP pseudo-header, so the payload's is zero and whoever
    # picks the IP source fills it in (carp.wire.vrrp_seal)
    sealed: bool = True


# The errno host.send_result gets for an advertisement that never left: no source address
# to send it from yet (a VRRPv3 advert's checksum needs one; the carpdev has no usable
# IPv6 link-local).  A send failure like any other, but not counted as sent.
NOT_SENT = errno.EADDRNOTAVAIL


@dataclass(frozen=True)
class StateChange:
    """A vhid changed state.  carpd applies addresses, link state and runs hooks."""

    ifname: str
    carpdev: str | None
    vhid: int
    old: str  # INIT / BACKUP / MASTER
    new: str
    reason: str  # FreeBSD reason text, e.g. "master timed out"


@dataclass(frozen=True)
class Announce:
    """Gratuitous ARP (IPv4) / unsolicited neighbour advertisement (IPv6) for addresses."""

    ifname: str
    carpdev: str
    vhid: int
    mac: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Lease:
    """Hold the addresses of a MASTER's carp interface for `seconds` more (carp.lease): the
    kernel withdraws them by itself unless the next Lease comes in time."""

    ifname: str
    carpdev: str
    vhid: int
    seconds: int
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Log:
    """A kernel log line.  `kind` lets each personality's net.inet.carp.log filter it:
    "state" (transitions), "demote" (demotion changes), "packet" (bad packets),
    "error" (send errors, loops)."""

    priority: int
    kind: str
    text: str


@dataclass(frozen=True)
class Count:
    """Increment one carpstats counter (field name from carp.wire.STAT_FIELDS)."""

    stat: str


Action = Send | StateChange | Announce | Lease | Log | Count
