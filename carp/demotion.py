"""Demotion: how a host makes its vhids look less fit after a failure (pure).

Three schemes, one per kernel family; the personality picks one for CarpHost:

* GroupDemotion, OpenBSD's (carp_group_demote_adj): per interface-group counters
  (`ifconfig -g carp carpdemote N`) plus the kernel's +1 per carp interface whose
  carpdev is down or whose sends fail; a vhid advertises the sum over its groups in the
  demote byte, and a less demoted peer wins the election.
* GlobalDemotion, FreeBSD's (carp_demote_adj): one global net.inet.carp.demotion that
  ifdown_demotion_factor and senderr_demotion_factor add to, added to every advskew.
* SuppressPreempt, NetBSD's (and the KAME code's): a count of failures; while it is
  positive every vhid advertises an advskew of at least 240.

Any rise is advertised at once by every MASTER (carp_send_ad_all).
"""

from __future__ import annotations

import errno
from collections.abc import Mapping

from carp.actions import LOG_ERR, LOG_INFO, LOG_WARNING, Action, Count, Log, Send
from carp.wire import is_multicast

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.config import CarpInterface
    from carp.host import CarpHost

# What a scheme counts failures of: a carp interface key (OpenBSD) or a vhid's
# (interface key, vhid) (FreeBSD, NetBSD); snapshots are keyed the same way, or "all".
Unit = str | tuple[str, int]
Snapshot = dict[Unit, int]
SENDERR_LIMIT = 3  # errors in a row that demote; as many successes undo it


class Demotion:
    """What the schemes share: the send-error count, publishing to the vhids."""

    def __init__(self, host: CarpHost) -> None:
        self.host = host
        self.suppressed: set[Unit] = set()  # units whose carpdev is down
        self.senderr: dict[Unit, list[int]] = {}  # unit -> [errors, successes], not [0, 0]
        self.store_groups: dict[str, int] = {}  # `ifconfig -g G carpdemote N`
        self.kernel_groups: dict[str, int] = {}  # OpenBSD: the kernel's +1s per group
        self.kernel = 0  # FreeBSD: the demotion carpd added (ifdown, senderr)

    # -- what each scheme defines --------------------------------------------------------

    def configure(self, sysctl: Mapping[str, int], groups: Mapping[str, int]) -> list[Action]:
        """The store changed (its sysctls, its interface groups' carpdemote)."""
        self.store_groups = dict(groups)
        return []

    def snapshot(self) -> Snapshot:
        raise NotImplementedError

    def _units_down(self) -> set[Unit]:
        """The units (per the scheme) whose carpdev is down."""
        raise NotImplementedError

    def _apply_link(self, came: set[Unit], gone: set[Unit]) -> list[Action]:
        raise NotImplementedError

    def _adjust(self, unit: Unit, sign: int, reason: str) -> list[Action]:
        """Raise (+1) or undo (-1) the send-error demotion of one unit."""
        raise NotImplementedError

    def _senderr_unit(self, act: Send, error: int | None) -> tuple[Unit, int, str, str] | None:
        """(unit, limit, text on demotion, text on recovery), None for a vhid gone."""
        raise NotImplementedError

    def vhid_demote(self, ci: CarpInterface | None) -> int:
        """The demote byte a vhid of `ci` advertises (OpenBSD only)."""
        return 0

    def group_value(self, group: str) -> int:
        raw = self.store_groups.get(group, 0) + self.kernel_groups.get(group, 0)
        return max(0, min(raw, 255))

    def status(self) -> dict[str, object]:
        groups = sorted(set(self.store_groups) | set(self.kernel_groups))
        return {
            "demotion": self.kernel,
            "groups": {g: self.group_value(g) for g in groups},
            "suppress_preempt": self.host.env.suppress_preempt,
        }

    logs_send_errors = True  # FreeBSD only speaks through its demotion lines

    # -- shared ------------------------------------------------------------------------

    def update(self, before: Snapshot, now: float) -> list[Action]:
        """Re-derive suppression from link state; adjust; ads at once on a rise."""
        want = self._units_down()
        acts = self._apply_link(want - self.suppressed, self.suppressed - want)
        self.suppressed = want
        return acts + self.publish(before, now)

    def publish(self, before: Snapshot, now: float) -> list[Action]:
        """Hand each vhid its demote count; any rise is advertised at once."""
        host = self.host
        for (key, _vhid), v in host.vhosts.items():
            v.demote = self.vhid_demote(host.ifaces.get(key))
        after = self.snapshot()
        acts: list[Action] = []
        if any(after[k] > before.get(k, 0) for k in after):
            for v in host.vhosts.values():
                acts += v.advertise_now(now)
        return acts

    def send_result(self, act: Send, error: int | None, now: float) -> list[Action]:
        """How one Send went (errno, None = sent): the send-error demotion.

        ENOBUFS/ENOMEM count onomem; EHOSTDOWN to a unicast peer is not an error
        (OpenBSD).  SENDERR_LIMIT errors per unit demote, as many successes undo it."""
        failed: list[Action] = []
        if error is not None:
            if error == errno.EHOSTDOWN and not is_multicast(act.dst):
                return []
            if error in (errno.ENOBUFS, errno.ENOMEM):
                failed.append(Count("onomem"))
            if self.logs_send_errors:
                out = "ip6_output" if act.family == 6 else "ip_output"
                failed.append(Log(LOG_WARNING, "error", f"{act.ifname}: {out} failed: {error}"))
        if error is None and not self.senderr:
            return []  # no errors to undo: every advertisement sent, 1,000 a second
        found = self._senderr_unit(act, error)
        if found is None:
            return []
        unit, limit, up, down = found
        st = self.senderr.setdefault(unit, [0, 0])
        change = 0
        if error is not None:
            st[0] += 1
            st[1] = 0
            change = 1 if st[0] == limit else 0
        elif st[0] >= limit:
            st[1] += 1
            if st[1] >= limit:
                change = -1
                st[0] = st[1] = 0
        else:
            st[0] = 0
        if st == [0, 0]:
            del self.senderr[unit]  # only units with errors to count are kept (above)
        acts: list[Action] = []
        if change:  # snapshot only then: this runs for every advertisement sent
            before = self.snapshot()
            acts = self._adjust(unit, change, up if change > 0 else down)
            if acts:
                acts += self.publish(before, now)
        return failed + acts

    def _forget_removed_vhids(self) -> list[Action]:
        """A removed vhid takes its send-error demotion along (per-vhid schemes)."""
        acts: list[Action] = []
        for unit in [u for u in self.senderr if u not in self.host.vhosts]:
            if self.senderr.pop(unit)[0] >= SENDERR_LIMIT:
                acts += self._adjust(unit, -1, "vhid removed")
        return acts


class GroupDemotion(Demotion):
    """OpenBSD: interface-group counters; units are carp interface keys."""

    def __init__(self, host: CarpHost) -> None:
        super().__init__(host)
        self.members: dict[str, tuple[str, list[str]]] = {}  # key -> name, groups
        self.own: dict[str, int] = {}  # each carp interface's own demote count

    def snapshot(self) -> Snapshot:
        return {vk: v.demote for vk, v in self.host.vhosts.items()}

    def _units_down(self) -> set[Unit]:
        down = self.host.link_down
        return {k for k, ci in self.host.ifaces.items() if ci.parent in down}

    def _apply_link(self, came: set[Unit], gone: set[Unit]) -> list[Action]:
        acts: list[Action] = []
        for key in sorted(map(str, came)):
            acts += self._adjust(key, +1, "carpdev")
        for key in sorted(map(str, gone)):
            if key in self.host.ifaces:
                acts += self._adjust(key, -1, "carpdev")
        return acts + self._members_changed()

    def vhid_demote(self, ci: CarpInterface | None) -> int:
        """The sum of the interface's group counters, else its own count; 255 at most."""
        if ci is None:
            return 0
        total = sum(self.group_value(g) for g in ci.groups)
        if total == 0:
            total = self.own.get(ci.key, 0)
        return min(total, 255)

    def _adjust(self, unit: Unit, sign: int, reason: str) -> list[Action]:
        """carp_group_demote_adj: the interface's own count and every group but `all`."""
        key = str(unit)
        ci = self.host.ifaces.get(key)
        if ci is not None:
            self.members[key] = (ci.name, list(ci.groups))
        name, groups = self.members.get(key, (key, ["carp"]))
        self.own[key] = max(0, self.own.get(key, 0) + sign)
        return self._groups(name, groups, sign, reason)

    def _groups(self, name: str, groups: list[str], adj: int, reason: str) -> list[Action]:
        acts: list[Action] = []
        for g in groups:
            if g == "all":
                continue
            self.kernel_groups[g] = max(0, self.kernel_groups.get(g, 0) + adj)
            text = f"carp: {name} demoted group {g} by {adj} to {self.group_value(g)} ({reason})"
            acts.append(Log(LOG_ERR, "demote", text))
        return acts

    def _members_changed(self) -> list[Action]:
        """Destroyed interfaces take their own count along ("detach"); an interface that
        joins or leaves a group carries its own count with it."""
        acts: list[Action] = []
        for key, own in list(self.own.items()):
            name, old = self.members.get(key, (key, ["carp"]))
            ci = self.host.ifaces.get(key)
            if ci is None:
                if own:
                    acts += self._groups(name, old, -own, "detach")
                del self.own[key]
                self.members.pop(key, None)
                self.senderr.pop(key, None)
            elif own and list(ci.groups) != old:
                acts += self._groups(name, [g for g in old if g not in ci.groups], -own,
                                     "carpdev")
                acts += self._groups(name, [g for g in ci.groups if g not in old], own,
                                     "carpdev")
                self.members[key] = (ci.name, list(ci.groups))
        return acts

    def _senderr_unit(self, act: Send, error: int | None) -> tuple[Unit, int, str, str] | None:
        """Per carp interface: the limit is 3 x its vhids; IPv6 has its own texts."""
        ci = self.host.ifaces.get(act.ifname)
        if ci is None:
            return None
        tag = "snd6errors" if act.family == 6 else "snderrors"
        return act.ifname, SENDERR_LIMIT * len(ci.nodes), f"> {tag}", f"< {tag}"

    def status(self) -> dict[str, object]:
        groups = sorted(set(self.store_groups) | set(self.kernel_groups))
        return {
            "demotion": 0,
            "groups": {g: self.group_value(g) for g in groups},
            "suppress_preempt": 0,
        }


class _PerVhid(Demotion):
    """FreeBSD and NetBSD count failures per vhid."""

    def _units_down(self) -> set[Unit]:
        down = self.host.link_down
        return {vk for vk, v in self.host.vhosts.items() if v.p.carpdev in down}

    def _senderr_unit(self, act: Send, error: int | None) -> tuple[Unit, int, str, str] | None:
        unit = (act.ifname, act.vhid)
        if unit not in self.host.vhosts:
            return None
        return (unit, SENDERR_LIMIT, f"send error {error} on {act.carpdev}",
                f"send ok on {act.carpdev}")


class GlobalDemotion(_PerVhid):
    """FreeBSD: net.inet.carp.demotion (the admin's) plus what carpd adds (the kernel's)."""

    logs_send_errors = False

    def __init__(self, host: CarpHost) -> None:
        super().__init__(host)
        self.admin = 0  # the store's net.inet.carp.demotion
        self.ifdown_factor = 240
        self.senderr_factor = 240

    def _publish_total(self) -> None:
        self.host.env.demotion = self.admin + self.kernel

    def _log(self, delta: int, reason: str) -> Log:
        total = self.admin + self.kernel
        return Log(LOG_INFO, "demote", f"carp: demoted by {delta} to {total} ({reason})")

    def configure(self, sysctl: Mapping[str, int], groups: Mapping[str, int]) -> list[Action]:
        super().configure(sysctl, groups)
        self.ifdown_factor = sysctl.get("net.inet.carp.ifdown_demotion_factor", 0)
        self.senderr_factor = sysctl.get("net.inet.carp.senderr_demotion_factor", 0)
        admin = sysctl.get("net.inet.carp.demotion", 0)
        if admin == self.admin:
            return []
        delta, self.admin = admin - self.admin, admin
        return [self._log(delta, "sysctl")]

    def snapshot(self) -> Snapshot:
        return {"all": self.host.env.demotion}

    def _apply_link(self, came: set[Unit], gone: set[Unit]) -> list[Action]:
        acts: list[Action] = []
        for vkey in sorted(gone, key=str):
            self.kernel -= self.ifdown_factor
            why = "interface up" if vkey in self.host.vhosts else "vhid removed"
            acts.append(self._log(-self.ifdown_factor, why))
        for _ in came:
            self.kernel += self.ifdown_factor
            acts.append(self._log(self.ifdown_factor, "interface down"))
        acts += self._forget_removed_vhids()
        self._publish_total()
        return acts

    def _adjust(self, unit: Unit, sign: int, reason: str) -> list[Action]:
        factor = sign * self.senderr_factor
        self.kernel += factor
        self._publish_total()
        return [self._log(factor, reason)]


class SuppressPreempt(_PerVhid):
    """NetBSD: every failure adds one to suppress_preempt, every recovery takes it off."""

    def snapshot(self) -> Snapshot:
        return {"all": self.host.env.suppress_preempt}

    def _apply_link(self, came: set[Unit], gone: set[Unit]) -> list[Action]:
        self.host.env.suppress_preempt += len(came) - len(gone)
        return self._forget_removed_vhids()

    def _adjust(self, unit: Unit, sign: int, reason: str) -> list[Action]:
        self.host.env.suppress_preempt += sign
        return []
