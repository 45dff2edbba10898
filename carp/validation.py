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

from carp.actions import LOG_INFO, LOG_NOTICE, LOG_WARNING, Action, Count, Log
from carp.states import INIT
from carp.wire import STAT_FIELDS, Reject, decode, is_multicast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.personality.base import Personality
    from carp.vhost import VirtualHost

ByDev = dict[tuple[str, int], list["VirtualHost"]]

# Count is frozen: share one instance per counter instead of building one per packet.
COUNT: dict[str, Count] = {stat: Count(stat) for stat in STAT_FIELDS}

# decode is pure and Advert is frozen: hosts on one LAN share the work (simulator speed).
_decode = lru_cache(maxsize=4096)(decode)


def _drop(
    acts: list[Action], stat: str, prio: int = LOG_INFO, kind: str = "packet",
    text: str | None = None,
) -> VirtualHost | None:  # fmt: skip
    """Count the drop (and log it, if it has a text): the packet reached no vhid."""
    acts.append(COUNT[stat])
    if text is not None:
        acts.append(Log(prio, kind, text))
    return None


def lookup(by_dev: ByDev, carpdev: str, vhid: int, family: int, dst: str) -> VirtualHost | None:
    """The vhid on that parent whose peer kind (multicast/unicast) fits `dst`;
    None also when it is not running (INIT), as "not UP+RUNNING" is badvhid."""
    for v in by_dev.get((carpdev, vhid), ()):
        if dst and is_multicast(dst) != is_multicast(v.p.dst4 if family == 4 else v.p.dst6):
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

    def __call__(
        self, acts: list[Action], by_dev: ByDev, devs: set[str], dev: str, family: int,
        src: str, dst: str, ttl: int, payload: bytes, now: float, local: str,
    ) -> VirtualHost | None:  # fmt: skip
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
        v = lookup(by_dev, dev, adv.vhid, family, dst)
        if v is None:
            return _drop(acts, "badvhid")
        name = v.p.logname
        if adv.version != 2:
            text = f"{name}: invalid version {adv.version} != 2"
            return _drop(acts, "badver", LOG_NOTICE, "packet", text)
        if not v.signer.verify(adv):
            return _drop(acts, "badauth", LOG_INFO, "packet", pol.bad_hash_text(name, src))
        if v.is_own(adv):
            text = f"{name}: replay or network loop detected"
            return _drop(acts, "badauth", LOG_WARNING, "error", text)
        acts += v.receive(adv, now, src, local)
        return v

    def _reject_text(self, rej: Reject, family: int, dev: str, payload: bytes) -> str | None:
        if rej is Reject.BAD_CHECKSUM:
            return self.policy.checksum_text(family, dev)
        if rej is Reject.TOO_SHORT:
            return self.policy.too_short_text(family, dev, len(payload))
        return None


class FreeBSDValidator(Validator):
    """carp_input / carp6_input, then carp_input_c; VRRPv3 vhids do not exist here yet."""

    def __call__(
        self, acts: list[Action], by_dev: ByDev, devs: set[str], dev: str, family: int,
        src: str, dst: str, ttl: int, payload: bytes, now: float, local: str,
    ) -> VirtualHost | None:  # fmt: skip
        if family == 6 and dev not in devs:
            return _drop(acts, "badif", LOG_INFO, "packet",
                         f"carp6_input: packet received on non-carp interface: {dev}")  # fmt: skip
        if len(payload) < 8:
            return _drop(acts, "badlen", LOG_INFO, "packet",
                         f"carp_input: received len {len(payload)} < sizeof(struct vrrpv3_header)"
                         f" on {dev}")  # fmt: skip
        ver = payload[0] >> 4  # len >= 8 here
        if ver not in (2, 3):
            text = f"carp_input: unsupported version {ver} on {dev}"
            return _drop(acts, "badver", LOG_INFO, "packet", text)
        if ver == 3:
            return _drop(acts, "badver" if by_dev.get((dev, payload[1])) else "badvhid")
        adv = _decode(payload, whole_payload=family == 4)
        if isinstance(adv, Reject):
            why = f"carp_input: checksum failed on {dev}" if adv is Reject.BAD_CHECKSUM else None
            return _drop(acts, adv.stat, LOG_INFO, "packet", why)
        v = lookup(by_dev, dev, adv.vhid, family, dst)
        if v is None:
            return _drop(acts, "badvhid")
        if is_multicast(v.p.dst4 if family == 4 else v.p.dst6) and ttl != 255:
            return _drop(acts, "badttl", LOG_INFO, "packet",
                         f"carp_input_c: received ttl {ttl} != 255 on {dev}")  # fmt: skip
        if not v.signer.verify(adv):
            return _drop(acts, "badauth", LOG_INFO, "packet",
                         f"carp_input_c: incorrect hash for VHID {adv.vhid}@{dev}")  # fmt: skip
        acts += v.receive(adv, now, src, local)
        return v


Validate = Callable[..., "VirtualHost | None"]
