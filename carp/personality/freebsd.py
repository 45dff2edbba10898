"""FreeBSD 10+'s carp: sys/netinet/ip_carp.c (vhids on the physical interface)."""

from __future__ import annotations

from carp.personality.base import Line, Personality
from carp.priorities import LOG_INFO

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from carp.demotion import Demotion
    from carp.host import CarpHost
    from carp.validation import Validator
    from carp.vhost import Env, Params

MAXSKEW = 240  # CARP_MAXSKEW: cap of advskew + demotion


class FreeBSD(Personality):
    name = "freebsd"
    bows_out = False  # carp_detach/carp_down send nothing
    vmac_source = True  # carp_output rewrites the source to the vhid's MAC
    allow_stops_vhids = True

    def tos(self, family: int, sysctl: Mapping[str, int]) -> int:
        """net.inet.carp.dscp (CS7 by default) in both families."""
        return (sysctl.get("net.inet.carp.dscp", 56) << 2) & 0xFF

    def sent_advskew(self, advskew: int, env: Env) -> int:
        """DEMOTE_ADVSKEW: the global demotion is added to every vhid's advskew."""
        return max(0, min(advskew + env.demotion, MAXSKEW))

    def transition_logs(self, p: Params, old: str, new: str, reason: str) -> list[Line]:
        return [(LOG_INFO, f"carp: {p.vhid}@{p.carpdev}: {old} -> {new} ({reason})")]

    def log_priority(self, level: int, priority: int, kind: str) -> int | None:
        """1: state changes and demotion; 2: also packet and error diagnostics."""
        return priority if level >= (2 if kind in ("packet", "error") else 1) else None

    def demotion(self, host: CarpHost) -> Demotion:
        from carp.demotion import GlobalDemotion

        return GlobalDemotion(host)

    def validator(self) -> Validator:
        from carp.validation import FreeBSDValidator

        return FreeBSDValidator(self)

    # -- userland: ifconfig, sysctl, netstat (below this line) --------------------


POLICY = FreeBSD()
