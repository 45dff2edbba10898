"""NetBSD's carp: sys/netinet/ip_carp.c (the KAME-era code, suppress_preempt demotion)."""

from __future__ import annotations

from carp.personality.base import Line, Personality
from carp.priorities import LOG_INFO
from carp.states import (
    BACKUP,
    INIT,
    MASTER,
    R_MASTER_TIMEOUT,
    R_MORE_FREQUENT,
    R_PREEMPT,
    R_WILL_TIMEOUT,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.vhost import Env, Params

SUPPRESS_SKEW = 240  # advskew forced while preemption is suppressed

# NetBSD logs an extra line on some transitions, with its own (sometimes wrong) labels.
_EXTRA = {
    R_MORE_FREQUENT: "MASTER -> BACKUP (more frequent advertisement received)",
    R_PREEMPT: "BACKUP -> MASTER (preempting a slower master)",
    R_WILL_TIMEOUT: "BACKUP -> MASTER (master timed out)",
    R_MASTER_TIMEOUT: "INIT -> MASTER (preempting)",
}


class NetBSD(Personality):
    name = "netbsd"
    sends_ipv6 = False  # carp_send_ad's IPv6 branch is "notyet"
    zero_ip_id = True
    arpbalance_hashes_mac = True
    hmac_zeroes_multicast_scope = False  # carp_hmac_prepare: IN6_IS_ADDR_LINKLOCAL only

    def sent_advskew(self, advskew: int, env: Env) -> int:
        return max(advskew, SUPPRESS_SKEW) if env.suppress_preempt > 0 else advskew

    def transition_logs(self, p: Params, old: str, new: str, reason: str) -> list[Line]:
        lines: list[Line] = []
        extra = _EXTRA.get(reason)
        if extra and new in (MASTER, BACKUP) and old != INIT:
            lines.append((LOG_INFO, f"{p.logname}: {extra}"))
        lines.append((LOG_INFO, f"{p.logname}: state transition from: {old} -> to: {new}"))
        return lines

    checks_parent_v4 = True

    # -- userland: ifconfig, sysctl, netstat (below this line) --------------------


POLICY = NetBSD()
