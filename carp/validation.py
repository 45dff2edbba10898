"""Receive validation: the order of the checks and the counter each drop bumps (pure).

Two orders exist.  The KAME one (OpenBSD's carp_proto_input/carp6_proto_input, and
NetBSD's): TTL, length, checksum, vhid, version, HMAC, own cookie.  FreeBSD's
(carp_input/carp6_input, then carp_input_c): length, version, checksum, vhid, TTL,
HMAC.  The personality picks the order; the texts that differ within one order are
the policy's.  A validator appends its actions and returns the vhid the packet reached.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import cast

from carp.actions import LOG_INFO, LOG_NOTICE, LOG_WARNING, Action, Count, Log
from carp.states import INIT
from carp.wire import STAT_FIELDS, Advert, Reject, counter_to_int, decode, decode_vrrp, is_multicast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.personality.base import Personality
    from carp.vhost import VirtualHost
    from carp.vrrp import VrrpHost

ByDev = dict[tuple[str, int], list["VirtualHost"]]

# Count is frozen: share one instance per counter instead of building one per packet.
COUNT: dict[str, Count] = {stat: Count(stat) for stat in STAT_FIELDS}

# decode is pure and Advert is frozen: hosts on one LAN share the work (simulator speed).
_decode = lru_cache(maxsize=4096)(decode)


def _drop(
    acts: list[Action], stat: str, prio: int = LOG_INFO, kind: str = "packet",
    text: str | None = None,
) -> VirtualHost | None:
    """Count the drop (and log it, if it has a text): the packet reached no vhid."""
    acts.append(COUNT[stat])
    if text is not None:
        acts.append(Log(prio, kind, text))
    return None


def _drop_at(
    acts: list[Action], v: VirtualHost, stat: str, prio: int = LOG_INFO, kind: str = "packet",
    text: str | None = None,
) -> VirtualHost | None:
    """A drop after the vhid was found: counted for the host and for that vhid too (its
    `drops`, which `carpd status` shows beside the host-wide carpstats)."""
    v.drops[stat] = v.drops.get(stat, 0) + 1
    return _drop(acts, stat, prio, kind, text)


def _stale(
    acts: list[Action], pol: Personality, v: VirtualHost, why: str, dev: str, adv: Advert,
    src: str,
) -> VirtualHost | None:
    """An authenticated advert that is our own (OpenBSD's cookie loop, §3) or a replay
    (carp.4, "Replay"): both count badauth, as OpenBSD counts its loop check."""
    if why == "loop":
        text = f"{v.p.logname}: replay or network loop detected"
    else:
        counter = counter_to_int(adv.counter)
        text = pol.replay_text(v.p.logname, v.p.vhid, dev, counter, v.counter.senders[src][0], src)
    return _drop_at(acts, v, "badauth", LOG_WARNING, "error", text)


def lookup(
    by_dev: ByDev, carpdev: str, vhid: int, family: int, dst: str, peer_kind: bool = True,
    by_family: bool = False,
) -> VirtualHost | None:
    """The vhid on that parent; with `peer_kind` the one whose peer kind (multicast or
    unicast) fits `dst` (OpenBSD), with `by_family` one holding an address of the
    packet's family (FreeBSD).  None also when it is not running (INIT), as "not
    UP+RUNNING" is badvhid (§7)."""
    for v in by_dev.get((carpdev, vhid), ()):
        if peer_kind and dst and is_multicast(dst) != (v.mcast4 if family == 4 else v.mcast6):
            continue
        if by_family and not (v.p.v4 if family == 4 else v.p.v6):
            continue
        return v if v.state != INIT else None
    return None


def ttl_text(ttl: int, dev: str) -> str:
    """The KAME order's log line for an advertisement whose TTL is not 255."""
    return f"carp: received ttl {ttl} != 255 on {dev}"


def bad_ttl_seen(acts: list[Action], ttls: list[int], dev: str, allow: bool) -> None:
    """Advertisements on `dev` whose TTL (each of `ttls`) is not 255, handled as the KAME
    order handles them (CarpHost.bad_ttl)."""
    received, bad = COUNT["ipackets"], COUNT["badttl"]
    for ttl in ttls:
        if allow:
            acts += (received, bad, Log(LOG_NOTICE, "packet", ttl_text(ttl, dev)))
        else:
            acts.append(received)


class Validator:
    """The KAME order, for the hosts of one personality."""

    def __init__(self, policy: Personality) -> None:
        self.policy = policy
        self.peer_kind = policy.lookup_by_peer_kind
        self.by_family = policy.lookup_by_family

    def __call__(
        self, acts: list[Action], by_dev: ByDev, devs: set[str], dev: str, family: int,
        src: str, dst: str, ttl: int, payload: bytes, now: float, local: str,
    ) -> VirtualHost | None:
        pol = self.policy
        if (family == 6 or pol.checks_parent_v4) and dev not in devs:
            text = f"carp: packet received on non-carp interface: {dev}"
            return _drop(acts, "badif", LOG_INFO, "packet", text)
        if ttl != 255:
            return _drop(acts, "badttl", LOG_NOTICE, "packet", ttl_text(ttl, dev))
        adv = _decode(payload)
        if isinstance(adv, Reject):
            why = self._reject_text(adv, family, dev, payload)
            return _drop(acts, adv.stat, LOG_INFO, "packet", why)
        v = lookup(by_dev, dev, adv.vhid, family, dst, self.peer_kind, self.by_family)
        if v is None:
            return _drop(acts, "badvhid")
        name = v.p.logname
        if adv.version != 2:
            text = f"{name}: invalid version {adv.version} != 2"
            return _drop_at(acts, v, "badver", LOG_NOTICE, "packet", text)
        if not v.signer.verify(adv):
            return _drop_at(acts, v, "badauth", LOG_INFO, "packet", pol.bad_hash_text(name, src))
        out = v.accept(adv, now, src, local, family=family)
        if isinstance(out, str):
            return _stale(acts, pol, v, out, dev, adv, src)
        acts += out
        return v

    def _reject_text(self, rej: Reject, family: int, dev: str, payload: bytes) -> str | None:
        if rej is Reject.BAD_CHECKSUM:
            return self.policy.checksum_text(family, dev)
        if rej is Reject.TOO_SHORT:
            return self.policy.too_short_text(family, dev, len(payload))
        return None


class FreeBSDValidator(Validator):
    """carp_input / carp6_input, then carp_input_c (CARP) or vrrp_input_c (VRRPv3)."""

    def __call__(
        self, acts: list[Action], by_dev: ByDev, devs: set[str], dev: str, family: int,
        src: str, dst: str, ttl: int, payload: bytes, now: float, local: str,
    ) -> VirtualHost | None:
        if family == 6 and dev not in devs:
            return _drop(acts, "badif", LOG_INFO, "packet",
                         f"carp6_input: packet received on non-carp interface: {dev}")
        if len(payload) < 8:
            return _drop(acts, "badlen", LOG_INFO, "packet",
                         f"carp_input: received len {len(payload)} < sizeof(struct vrrpv3_header)"
                         f" on {dev}")
        ver = payload[0] >> 4  # len >= 8 here
        if ver not in (2, 3):
            text = f"carp_input: unsupported version {ver} on {dev}"
            return _drop(acts, "badver", LOG_INFO, "packet", text)
        if ver == 3:
            return self._vrrp(acts, by_dev, dev, family, src, dst, ttl, payload, now)
        adv = _decode(payload, whole_payload=family == 4)
        if isinstance(adv, Reject):
            why = f"carp_input: checksum failed on {dev}" if adv is Reject.BAD_CHECKSUM else None
            return _drop(acts, adv.stat, LOG_INFO, "packet", why)
        v = lookup(by_dev, dev, adv.vhid, family, dst, self.peer_kind, self.by_family)
        if v is None:
            return _drop(acts, "badvhid")
        if v.version != 2:
            return _drop_at(acts, v, "badver", LOG_INFO, "packet", f"{dev}: invalid version 2")
        if ttl != 255 and (v.mcast4 if family == 4 else v.mcast6):
            return _drop_at(acts, v, "badttl", LOG_INFO, "packet",
                            f"carp_input_c: received ttl {ttl} != 255 on {dev}")
        if not v.signer.verify(adv):
            return _drop_at(acts, v, "badauth", LOG_INFO, "packet",
                            f"carp_input_c: incorrect hash for VHID {adv.vhid}@{dev}")
        out = v.accept(adv, now, src, local, family=family)
        if isinstance(out, str):
            return _stale(acts, self.policy, v, out, dev, adv, src)
        acts += out
        return v

    def _vrrp(
        self, acts: list[Action], by_dev: ByDev, dev: str, family: int, src: str, dst: str,
        ttl: int, payload: bytes, now: float,
    ) -> VirtualHost | None:
        """vrrp_input_c: checksum over the pseudo-header, vhid, its mode, TTL, then the
        election (carp.vrrp).  The address list is not checked (FreeBSD does not)."""
        adv = decode_vrrp(payload, src, dst)
        if isinstance(adv, Reject):
            text = None
            if adv is Reject.BAD_CHECKSUM:
                text = f"vrrp_input_c: incorrect checksum for VRID {payload[1]}@{dev}"
            return _drop(acts, adv.stat, LOG_INFO, "packet", text)
        v = lookup(by_dev, dev, adv.vrid, family, dst, self.peer_kind, self.by_family)
        if v is None:
            return _drop(acts, "badvhid")
        if v.version != 3:
            return _drop_at(acts, v, "badver", LOG_INFO, "packet", f"{dev}: invalid version 3")
        if ttl != 255:
            return _drop_at(acts, v, "badttl", LOG_INFO, "packet",
                            f"vrrp_input_c: received ttl {ttl} != 255 on {dev}")
        acts += cast("VrrpHost", v).accept_vrrp(adv, now, family, src)
        return v


Validate = Callable[..., "VirtualHost | None"]

