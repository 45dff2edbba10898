"""What every personality answers, with the rules the BSD kernels share as defaults.

The shared rules are those of the KAME-derived carp all three started from (FreeBSD's
and NetBSD's ip_carp.c still follow them); a BSD's own module overrides what it does
differently.  The core asks these objects; it never compares personality names."""

from __future__ import annotations

from carp.priorities import LOG_INFO
from carp.states import (
    R_PREEMPT,
    R_WILL_TIMEOUT,
    SKEW_US,
    US,
    skew_us,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from carp.demotion import Demotion
    from carp.host import CarpHost
    from carp.validation import Validator
    from carp.vhost import Env, Params

Line = tuple[int, str]  # (syslog priority, text)


class Personality:
    name = ""

    # -- advertisements ----------------------------------------------------------------
    cookie_counter = False  # one random counter per vhid (OpenBSD) vs counter++ and copy
    sends_demote = False  # the demote byte of the header carries the group demotion
    sends_ipv6 = True
    bows_out = True  # a leaving MASTER sends advbase = advskew = 255
    delayed_announce = False  # the leader repeats its gratuitous ARP two adverts later
    hashes_lladdr = False  # a custom lladdr on the leader enters the HMAC
    # send policy (carpd): IP id, Ethernet source of multicast adverts
    zero_ip_id = False
    vmac_source = False  # the vhid's virtual MAC, not the carp interface's MAC

    def tos(self, family: int, sysctl: Mapping[str, int]) -> int:
        """IPv4 TOS / IPv6 traffic class of adverts: IPTOS_LOWDELAY, and 0 for IPv6."""
        return 0x10 if family == 4 else 0

    # -- configuration -----------------------------------------------------------------
    allow_stops_vhids = False  # net.inet.carp.allow=0 forces every vhid to INIT
    # the HMAC's message (carp_hmac_prepare): IPv6 scope bytes zeroed in link-local
    # unicast and link/interface-local multicast (IN6_IS_SCOPE_EMBED), or unicast only
    hmac_zeroes_multicast_scope = True
    # OpenBSD's two contexts: signs without link-locals (NOV6LL), accepts either
    hmac_two_contexts = False
    # net.inet.carp.arpbalance: who answers a who-has shared by several carp
    # interfaces, the sender IP modulo their count (OpenBSD 3.x, FreeBSD <= 9), or
    # carp_hash of the sender MAC with each interface's key (NetBSD)
    arpbalance_hashes_mac = False

    # -- timing (carp_setrun) ----------------------------------------------------------

    def sent_advskew(self, advskew: int, env: Env) -> int:
        """The advskew put in our packets."""
        return advskew

    def election_skew(self, advskew: int, env: Env) -> int:
        """Our own advskew in comparisons with a received advertisement."""
        return self.sent_advskew(advskew, env)

    def master_down_us(self, advbase: int, advskew: int) -> int:
        """3 x advbase + advskew/256; advbase 0 (NetBSD allows it) waits 3 skews."""
        if advbase == 0:
            return 3 * skew_us(advskew) or 3 * SKEW_US
        return 3 * advbase * US + skew_us(advskew)

    # -- the election (carp_proto_input_c) ---------------------------------------------

    def is_tie(self, mine: int, theirs: int, my_demote: int, ch_demote: int) -> bool:
        return mine == theirs

    def master_yields(self, mine: int, theirs: int, my_demote: int, ch_demote: int) -> bool:
        """A MASTER hears a faster (not an equal: see is_tie) advertisement."""
        return mine > theirs

    def backup_takes_over(
        self, mine: int, theirs: int, my_demote: int, ch_demote: int, preempt: bool,
        advbase: int,
    ) -> str | None:  # fmt: skip
        """The reason a BACKUP becomes MASTER on this advertisement, or None."""
        if mine < theirs and preempt:
            return R_PREEMPT
        if mine + 2 * advbase * US < theirs:  # slower than 3 x advbase: a bow-out
            return R_WILL_TIMEOUT
        return None

    # -- log (plain values: this module must not load carp.actions' dataclasses) -------

    counts_preempt = False  # carpstats "preempt" counts BACKUP -> MASTER

    def transition_logs(self, p: Params, old: str, new: str, reason: str) -> list[Line]:
        """The (priority, text) lines a state change logs."""
        return []

    def log_priority(self, level: int, priority: int, kind: str) -> int | None:
        """The priority a line of `kind` is logged at when net.inet.carp.log = level,
        or None when that level hides it.  Everything at LOG_INFO, if at all."""
        return LOG_INFO if level != 0 else None

    # -- demotion ----------------------------------------------------------------------

    def demotion(self, host: CarpHost) -> Demotion:
        """A new demotion scheme for `host` (carp.demotion, imported only here: it
        builds actions, which the front ends never load)."""
        from carp.demotion import SuppressPreempt

        return SuppressPreempt(host)

    # -- receive validation ------------------------------------------------------------
    checks_parent_v4 = False  # IPv4 adverts on a parent without carp count badif

    def validator(self) -> Validator:
        """The receive validation order (carp.validation, imported only here)."""
        from carp.validation import Validator

        return Validator(self)

    def bad_hash_text(self, name: str, src: str) -> str:
        return f"{name}: incorrect hash from {src}"

    def checksum_text(self, family: int, dev: str) -> str:
        return f"carp: checksum failed on {dev}"

    def too_short_text(self, family: int, dev: str, length: int) -> str:
        return f"carp: packet too short {length} on {dev}"

    # -- userland: ifconfig, sysctl, netstat (below this line) --------------------
