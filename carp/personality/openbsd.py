"""OpenBSD's carp: sys/netinet/ip_carp.c as of OpenBSD 7."""

from __future__ import annotations

from carp.personality.base import Line, Personality
from carp.priorities import LOG_CRIT, LOG_WARNING
from carp.states import (
    INIT,
    R_DEMOTED_MASTER,
    R_PREEMPT,
    R_WILL_TIMEOUT,
    SKEW_US,
    US,
    skew_us,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.demotion import Demotion
    from carp.host import CarpHost
    from carp.vhost import Params


class OpenBSD(Personality):
    name = "openbsd"
    cookie_counter = True  # sc_counter: random once, echoed back means a loop or replay
    sends_demote = True
    delayed_announce = True  # carp_send_ad: sc_delayed_arp
    hashes_lladdr = True
    hmac_two_contexts = True
    counts_preempt = True

    def master_down_us(self, advbase: int, advskew: int) -> int:
        """carp_setrun: three whole advertisement intervals, 1/256 s at least."""
        t_ad = advbase * US + skew_us(advskew)
        return 3 * (t_ad or SKEW_US)

    def is_tie(self, mine: int, theirs: int, my_demote: int, ch_demote: int) -> bool:
        return mine == theirs and ch_demote == my_demote

    def master_yields(self, mine: int, theirs: int, my_demote: int, ch_demote: int) -> bool:
        """A less demoted peer wins whatever its timing; an equally demoted faster one."""
        return (mine > theirs and ch_demote <= my_demote) or ch_demote < my_demote

    def backup_takes_over(
        self, mine: int, theirs: int, my_demote: int, ch_demote: int, preempt: bool,
        advbase: int,
    ) -> str | None:  # fmt: skip
        if mine < theirs and preempt and ch_demote >= my_demote:
            return R_PREEMPT
        if ch_demote > my_demote:
            return R_DEMOTED_MASTER
        if advbase != 0 and mine + 2 * advbase * US < theirs:
            return R_WILL_TIMEOUT
        return None

    def transition_logs(self, p: Params, old: str, new: str, reason: str) -> list[Line]:
        nodes = f" (vhid {p.vhid})" if p.nodes > 1 else ""
        prio = LOG_CRIT if INIT not in (old, new) else LOG_WARNING
        return [(prio, f"{p.logname}: state transition{nodes}: {old} -> {new}")]

    def log_priority(self, level: int, priority: int, kind: str) -> int | None:
        """net.inet.carp.log is a syslog priority threshold."""
        return priority if level >= priority else None

    def demotion(self, host: CarpHost) -> Demotion:
        from carp.demotion import GroupDemotion

        return GroupDemotion(host)

    def bad_hash_text(self, name: str, src: str) -> str:
        return f"{name}: incorrect hash"

    def checksum_text(self, family: int, dev: str) -> str:
        """carp6_proto_input has a comma in it."""
        if family == 6:
            return f"carp: checksum failed, on {dev}"
        return super().checksum_text(family, dev)

    def too_short_text(self, family: int, dev: str, length: int) -> str:
        """carp6_proto_input words it differently."""
        if family == 6:
            return f"carp: packet size {length} too small"
        return super().too_short_text(family, dev, length)

    # -- userland: ifconfig, sysctl, netstat (below this line) --------------------


POLICY = OpenBSD()
