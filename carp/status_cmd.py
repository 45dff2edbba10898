"""`carpd status [--json]`: every vhid of this host on one screen.

One row per vhid: interface, vhid, state, its timing (CARP: advbase/advskew as sent;
VRRPv3: `v3 <prio>/<interval>cs`), the demote byte,
the master last heard (its address and how long ago), how long since the last
transition and why (carp/states.py's reasons), the transitions so far and the
packets dropped after they reached the vhid; below, the host's demotion and the
host-wide carpstats drops (`netstat -s -p carp` has them all).

The status comes live from carpd's control socket (root), else from status.json,
which any user may read (it holds no key, as `ifconfig` shows all but the key on a
BSD) and which is at most a second old.  `--json` gives the same rows to scripts,
with raw numbers instead of the human forms.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from carp import control_client
from carp.states import MASTER
from carp.wire import DROP_FIELDS

USAGE = "usage: carpd status [--json]"
NOT_RUNNING = "carpd: not running for {rundir} (no status to show)"
HEADERS = ("interface", "vhid", "state", "timing", "demote", "master (heard)",
           "since", "reason", "transitions", "drops")


@dataclass(frozen=True)
class VhidRow:
    """One vhid as `carpd status` shows it (its JSON form is this, field by field)."""

    interface: str
    vhid: int
    carpdev: str
    state: str
    advbase: int
    advskew: int
    demote: int
    master: str  # the address last heard as master, "" if none
    heard_ago: float | None  # seconds since that advertisement
    since_ago: float | None  # seconds since the last transition
    reason: str
    transitions: int
    drops: dict[str, int] = field(default_factory=dict)
    prio: int | None = None  # VRRPv3 vhids: priority and interval (cs); None for CARP
    interval: int | None = None

    @property
    def timing(self) -> str:
        if self.prio is not None:
            return f"v3 {self.prio}/{self.interval}cs"
        return f"{self.advbase}/{self.advskew}"


def _ago(wall_at: object, now: float) -> float | None:
    if not isinstance(wall_at, int | float) or wall_at <= 0:
        return None
    return round(max(0.0, now - wall_at), 3)


def _opt_int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def rows(doc: Mapping[str, Any], now: float) -> list[VhidRow]:
    """The rows of a status document (status.json's shape), ages as of wall time `now`."""
    out: list[VhidRow] = []
    vhosts = doc.get("vhosts")
    for key, per_vhid in sorted((vhosts if isinstance(vhosts, dict) else {}).items()):
        for vhid, e in sorted(per_vhid.items(), key=lambda kv: int(kv[0])):
            drops = e.get("drops")
            out.append(VhidRow(
                interface=str(e.get("name") or key), vhid=int(vhid),
                carpdev=str(e.get("carpdev") or ""), state=str(e.get("state", "")),
                advbase=int(e.get("advbase", 0)), advskew=int(e.get("advskew", 0)),
                demote=int(e.get("demote", 0)), master=str(e.get("master") or ""),
                heard_ago=_ago(e.get("heard_wall"), now), since_ago=_ago(e.get("since_wall"), now),
                reason=str(e.get("reason", "")), transitions=int(e.get("transitions", 0)),
                drops=dict(drops) if isinstance(drops, dict) else {},
                prio=_opt_int(e.get("prio")), interval=_opt_int(e.get("interval")),
            ))
    return out


def human_age(seconds: float | None) -> str:
    """12.3s, 4m05s, 2h07m, 3d04h: short enough for a table column."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    s = int(seconds)
    for unit, size, sub, subsize in (("d", 86400, "h", 3600), ("h", 3600, "m", 60),
                                     ("m", 60, "s", 1)):
        if s >= size:
            return f"{s // size}{unit}{s % size // subsize:02d}{sub}"
    return f"{s}s"  # not reached


def _master_cell(row: VhidRow) -> str:
    if row.state == MASTER:
        return "this host"
    if not row.master:
        return "-"
    return f"{row.master} ({human_age(row.heard_ago)} ago)"


def _drops_cell(drops: Mapping[str, int]) -> str:
    return " ".join(f"{k}={n}" for k, n in sorted(drops.items()) if n) or "0"


def host_drops(doc: Mapping[str, Any]) -> dict[str, int]:
    """The host's carpstats drop counters (received packets dropped, by reason)."""
    counters = doc.get("counters")
    if not isinstance(counters, dict):
        return {}
    return {k: int(counters.get(k, 0)) for k in DROP_FIELDS}


def table(doc: Mapping[str, Any], now: float) -> str:
    """The screen: the vhid table, then the host's demotion and carpstats drops."""
    from tabulate import tabulate  # only this command and the bench pay for it

    body = [
        (r.interface, r.vhid, r.state, r.timing, r.demote, _master_cell(r),
         human_age(r.since_ago), r.reason or "-", r.transitions, _drops_cell(r.drops))
        for r in rows(doc, now)
    ]
    lines = [tabulate(body, headers=HEADERS, tablefmt="simple", disable_numparse=True)
             if body else "no vhids configured"]
    groups = doc.get("groups") or {}
    demotion = f"demotion {doc.get('demotion', 0)}"
    if groups:
        demotion += ", groups " + " ".join(f"{g}={n}" for g, n in sorted(groups.items()))
    if doc.get("suppress_preempt"):
        demotion += f", suppress_preempt {doc['suppress_preempt']}"
    lines.append("")
    lines.append(f"{demotion}; personality {doc.get('personality', '?')}")
    lines.append(f"carpstats drops (all vhids): {_drops_cell(host_drops(doc))}")
    return "\n".join(lines) + "\n"


def as_json(doc: Mapping[str, Any], now: float) -> str:
    """The same for scripts: raw numbers, every per-vhid and host-wide counter."""
    out = {
        "personality": doc.get("personality"),
        "pid": doc.get("pid"),
        "updated": doc.get("updated"),
        "demotion": doc.get("demotion", 0),
        "groups": doc.get("groups") or {},
        "suppress_preempt": doc.get("suppress_preempt", 0),
        "vhids": [asdict(r) for r in rows(doc, now)],
        "counters": doc.get("counters") or {},
    }
    return json.dumps(out, indent=2, sort_keys=True) + "\n"


def load(store: Any) -> dict[str, Any] | None:
    """Live from carpd when it answers us (root), else its last published status."""
    return control_client.live_status(store.socket_file) or store.read_status()


def main(argv: list[str]) -> int:
    if argv not in ([], ["--json"]):
        print(USAGE, file=sys.stderr)
        return 1
    from carp.store import Store, StoreError

    try:
        store = Store()
        doc = load(store)
    except (StoreError, OSError) as exc:
        print(f"carpd: {exc}", file=sys.stderr)
        return 1
    if doc is None:
        print(NOT_RUNNING.format(rundir=store.rundir), file=sys.stderr)
        return 1
    now = time.time()
    sys.stdout.write(as_json(doc, now) if argv else table(doc, now))
    return 0
