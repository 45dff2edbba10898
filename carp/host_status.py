"""The runtime status carpd publishes for one host's carp (pure): CarpHost.status().

    {"vhosts": {iface_key: {str(vhid): {...}}}, "counters": {stat: n},
     "demotion": int, "groups": {name: demote}, "suppress_preempt": int}

A vhid's entry carries "state", "since" (on the clock of `now`) and "reason"; "transitions"
(state changes so far), "master" (the source of the last advertisement accepted from
another master, "" if none) and "heard" (when, or None); "drops" (counter -> packets
dropped after they reached this vhid); "carpdev" and "name" (the interface as ifconfig
names it); "advbase", "advskew" (as sent) and "demote"; and the lease plan of carp.lease:
"lease" (seconds), "lease_renewals" (per interval), "lease_bound" (s from an advert to the
addresses gone) and "lease_any_backup".  A VRRPv3 vhid (carp.vrrp, `carpver 3` where the
personality speaks it) adds "prio", "interval" and "master_interval" (the learned one), in
centiseconds.  "demotion" is carpd's own FreeBSD demotion (ifdown + senderr), the admin
part stays in the store; "groups" are OpenBSD's effective counters (store + kernel).
carp.status_cmd and carpd's metrics read this shape.
"""

from __future__ import annotations

from carp.states import US
from carp.vrrp import VrrpHost

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.host import CarpHost
    from carp.vhost import VirtualHost


def vhid_status(v: VirtualHost) -> dict[str, object]:
    """One vhid's entry (module docstring)."""
    lease = v.lease_plan()
    out: dict[str, object] = {
        "state": v.state, "since": v.since, "reason": v.reason,
        "transitions": v.transitions, "master": v.master_src,
        "heard": None if v.last_heard is None else v.last_heard / US,
        "drops": dict(v.drops), "carpdev": v.p.carpdev, "name": v.p.logname,
        "advbase": v.advbase, "advskew": v.sent_advskew(), "demote": v.demote,
        "lease": lease.seconds, "lease_renewals": lease.renewals,
        "lease_bound": lease.bound_us / US, "lease_any_backup": lease.any_backup,
    }
    if isinstance(v, VrrpHost):
        out.update(prio=v.prio, interval=v.interval_cs, master_interval=v.master_cs)
    return out


def host_status(host: CarpHost) -> dict[str, object]:
    """Every vhid (sorted), the host-wide counters and the demotion scheme's figures."""
    vhosts: dict[str, dict[str, dict[str, object]]] = {}
    for (key, vhid), v in sorted(host.vhosts.items()):
        vhosts.setdefault(key, {})[str(vhid)] = vhid_status(v)
    return {"vhosts": vhosts, "counters": dict(host.counters), **host.demotion.status()}
