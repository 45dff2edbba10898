"""Configurations and checks shared by the simulation scenarios."""

from __future__ import annotations

from carp.config import Address, CarpInterface, Node

US = 1_000_000
PERSONALITIES = ("openbsd", "freebsd", "netbsd")


def iface(
    personality: str,
    vhid: int = 1,
    advskew: int = 0,
    carpdev: str = "em0",
    advbase: int = 1,
    address: str | None = None,
    groups: list[str] | None = None,
    name: str | None = None,
) -> CarpInterface:
    """One vhid the way each BSD configures it: carpN on a carpdev, or FreeBSD's vhid style."""
    addr = address or f"192.168.{vhid}.1"
    if personality == "freebsd":
        return CarpInterface(
            name=carpdev, style="vhid", nodes=[Node(vhid, advskew)], advbase=advbase,
            passphrase="secret", addresses=[Address(addr, 24, vhid=vhid)], up=True,
        )
    return CarpInterface(
        name=name or f"carp{vhid - 1}", carpdev=carpdev, nodes=[Node(vhid, advskew)],
        advbase=advbase, passphrase="secret", addresses=[Address(addr, 24)], up=True,
        groups=groups or ["carp"],
    )


def key(personality: str, vhid: int = 1, carpdev: str = "em0", name: str | None = None) -> str:
    return f"{carpdev}:{vhid}" if personality == "freebsd" else (name or f"carp{vhid - 1}")


def master_down_us(personality: str, advbase: int, advskew: int) -> int:
    """Reference 4.2 / KA-3, written out independently of carp.vhost."""
    skew = advskew * US // 256
    if personality == "openbsd":
        return 3 * (advbase * US + skew)
    return 3 * advbase * US + skew


def ad_interval_us(advbase: int, advskew: int) -> int:
    return advbase * US + advskew * US // 256


def explain(lan: object, pers: str, skews: dict[tuple[str, int], int], preempt: bool) -> None:
    """Assert that every recorded transition is one the rules of docs/protocol.md §4.3/4.4 allow.

    `skews` maps (host, vhid) to its configured advskew (advbase 1 everywhere); the
    check recomputes every deadline from the deliveries, independently of carp.vhost."""
    from tests.sim.lan import Lan

    assert isinstance(lan, Lan)
    by_dst: dict[tuple[str, int], list[int]] = {}
    at: dict[tuple[str, int, int], list[tuple[int, int, int]]] = {}
    for d in lan.deliveries:
        by_dst.setdefault((d.dst, d.vhid), []).append(d.t)
        at.setdefault((d.dst, d.vhid, d.t), []).append((d.advbase, d.advskew, d.demote))
    boots = {(t, n) for t, n, what in lan.events if what == "boot"}
    backup_since: dict[tuple[str, int], int] = {}
    import bisect

    for tr in lan.transitions:
        hv = (tr.host, tr.vhid)
        mine = US + skews[hv] * US // 256
        heard = at.get((tr.host, tr.vhid, tr.t), [])
        times = [ab * US + sk * US // 256 for ab, sk, _ in heard]
        if tr.new == "BACKUP" and tr.old == "INIT":
            assert tr.reason == "initialization complete" and (tr.t, tr.host) in boots, tr
        elif tr.new == "MASTER" and tr.reason == "master timed out":
            ts = by_dst.get(hv, [])
            i = bisect.bisect_left(ts, tr.t)
            last = max(ts[i - 1] if i else -1, backup_since[hv])
            assert tr.t == last + master_down_us(pers, 1, skews[hv]), tr
        elif tr.new == "MASTER" and tr.reason == "preempting a slower master":
            assert preempt and any(mine < th for th in times), tr
        elif tr.new == "MASTER" and tr.reason == "master will time out":
            assert any(3 * US + skews[hv] * US // 256 < th for th in times), tr
        elif tr.new == "BACKUP" and tr.reason == "more frequent advertisement received":
            assert tr.old == "MASTER" and any(mine >= th for th in times), tr
        else:
            raise AssertionError(f"unexplained transition {tr}")
        if tr.new == "BACKUP":
            backup_since[hv] = tr.t
