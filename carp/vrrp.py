"""One VRRPv3 virtual router: FreeBSD 15's `carpver 3` vhid (pure, sans-IO).

The states, timers, takeover and step-down are the CARP vhid's (carp.vhost); what differs
is what goes on the wire and how an advertisement is judged (§1.7, FreeBSD's ip_carp.c
vrrp_input_c and carp_setrun):

* every `vrrpinterval` centiseconds a MASTER sends, per address family, an RFC 5798
  advertisement (priority, interval, the vhid's addresses of that family) to 224.0.0.18 /
  ff02::12, whatever the peer setting; no HMAC, no counter, no advskew, no demotion;
* the interval of every advertisement heard becomes the learned master interval (MI);
  a BACKUP's master-down is 3 x MI + (256 - prio) x MI / 256 centiseconds;
* the election is the personality's (carp.personality.base: vrrp_*): a MASTER yields to
  a more frequent or a higher-priority advertisement only, a BACKUP preempts a slower or
  lower-priority master only with net.inet.carp.preempt; priority 255 ignores its peers.

Where this differs from FreeBSD: its BACKUP arms both master-down timers (sc_md_tmo,
sc_md6_tmo) and either one running out makes it MASTER.  A master whose IPv6 adverts
cannot leave yet (no link-local address: DAD after link-up, DAD failed, addr_gen_mode
none) is then deposed by its IPv6 timer every 3 x MI, only to win back at its next IPv4
advert.  Here a BACKUP that hears an IPv4 advert keeps its IPv6 timer off until it has
heard an IPv6 one since it became BACKUP; once it has, losing IPv6 alone takes over as in
FreeBSD.  (The IPv4 timer has no such exception: an IPv4 advert always has a source.)

The checksum covers the IP pseudo-header, so a Send carries the advertisement unsealed
(`Send.sealed` False) and carpd or the simulator seals it with the source it uses.
"""

from __future__ import annotations

import random

from carp.actions import LOG_DEBUG, Action, Count, Log, Send
from carp.lease import LeasePlan, plan
from carp.masterdown import MasterDown
from carp.states import BACKUP, MASTER, R_MORE_FREQUENT, US
from carp.vhost import Env, Params, VirtualHost
from carp.wire import VrrpAdvert, vrrp_unsealed

CS_US = US // 100  # one centisecond
OWNER = 255  # the address owner's priority: it never listens to a peer
_OPACKETS, _OPACKETS6 = Count("opackets"), Count("opackets6")


class VrrpMasterDown(MasterDown):
    """A BACKUP times IPv6 only once it heard an IPv6 advert as BACKUP (module docstring)."""

    def __init__(self, families: tuple[int, ...]) -> None:
        super().__init__(families)
        self.heard6 = False  # BACKUP: an IPv6 advert heard since it became BACKUP

    def backup(self, at: int) -> None:
        self.heard6 = False
        super().backup(at)

    def restart(self, at: int, family: int) -> None:
        super().restart(at, family)
        if family == 6:
            self.heard6 = True
        elif family == 4 and not self.heard6 and self.at4 is not None:
            self.at6 = None  # the master may not be able to send IPv6 yet


class VrrpHost(VirtualHost):
    """INIT / BACKUP / MASTER for one VRRPv3 vhid (`prio`, `interval_cs` as configured)."""

    version = 3
    master_down_timers = VrrpMasterDown

    def __init__(
        self, env: Env, params: Params, prio: int = 100, interval_cs: int = 100,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(env, params, rng=rng)
        self.prio = prio
        self.interval_cs = interval_cs
        self.master_cs = interval_cs  # learned from every advertisement heard
        self.mcast4 = self.mcast6 = True  # the peer setting is ignored

    # -- timing ------------------------------------------------------------------------

    def ad_interval_us(self) -> int:
        return self.interval_cs * CS_US

    def sent_advskew(self) -> int:
        return 0  # no advskew, no demotion

    def master_down_us(self) -> int:
        return self.env.policy.vrrp_master_down_us(self.prio, self.master_cs)

    def lease_plan(self) -> LeasePlan:
        """Against the fastest backup possible (priority 254) and one at our priority,
        both timing our interval: the one they learn from our advertisements."""
        pol, mi = self.env.policy, self.interval_cs
        return plan(self.ad_interval_us(), pol.vrrp_master_down_us(254, mi),
                    pol.vrrp_master_down_us(self.prio, mi))

    # -- sending -----------------------------------------------------------------------

    def _advertise(self, bow_out: bool = False) -> list[Action]:
        """One advertisement per family with addresses; a bow-out (no BSD sends one in
        this mode) would be RFC 5798's priority 0."""
        p, env = self.p, self.env
        prio = 0 if bow_out else self.prio
        acts: list[Action] = []
        for family, addrs, dst, tos, count in (
            (4, p.v4, p.dst4, env.tos4, _OPACKETS), (6, p.v6, p.dst6, env.tclass6, _OPACKETS6),
        ):
            if addrs:
                payload = vrrp_unsealed(VrrpAdvert(p.vhid, prio, self.interval_cs, addrs), family)
                acts += [Send(p.ifname, p.carpdev, family, dst, payload, p.vhid, tos,
                              env.policy.zero_ip_id, p.src_mac, sealed=False), count]
        return acts

    # -- receiving ---------------------------------------------------------------------

    def accept_vrrp(self, adv: VrrpAdvert, now: float, family: int = 0, src: str = ""
                    ) -> list[Action]:
        """A valid advertisement for this vhid (checksum, TTL and version checked) from
        `src`, of `family` (whose master-down timer it restarts)."""
        if self.prio == OWNER:
            return [Log(LOG_DEBUG, "packet",
                        "vrrp_input_c: our priority is 255. Ignore peer announcement.")]
        self.master_cs = adv.interval_cs
        state = self.state
        if state not in (MASTER, BACKUP):
            return []
        now_us = round(now * US)
        pol = self.env.policy
        if state == MASTER:
            if pol.vrrp_master_yields(self.prio, self.interval_cs, adv.priority,
                                      adv.interval_cs):
                self.last_heard, self.master_src = now_us, src
                acts = self._become_backup(R_MORE_FREQUENT, now_us)
                self.down.restart(now_us + self.master_down_us(), family)
                return acts
            return []
        self.last_heard, self.master_src = now_us, src
        reason = pol.vrrp_backup_takes_over(self.prio, self.interval_cs, adv.priority,
                                            adv.interval_cs, self.env.preempt)
        if reason is not None:
            return self._become_master(reason, now_us)
        self.down.restart(now_us + self.master_down_us(), family)
        return []
