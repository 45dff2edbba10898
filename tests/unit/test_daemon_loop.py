"""carpd's wiring with a fake host: sends go out before anything else, and the single
timer fires at host.next_deadline() on the loop's clock."""

from __future__ import annotations

import asyncio
import types
from pathlib import Path
from typing import Any

from carp.actions import LOG_CRIT, NOT_SENT, Count, Log, Send, StateChange
from carp.config import Address, CarpInterface, Node
from carp.daemon.carpdev_io import CarpdevIO
from carp.daemon.hooks import HookRunner
from carp.daemon.loop import Daemon
from carp.daemon.macvlans import Macvlans
from carp.daemon.status import StatusWriter
from carp.daemon.syslog import Logger
from carp.daemon.timerfd import LoopTimer
from carp.host import CarpHost
from carp.store import Store

SEND = Send("carp0", "eth0", 4, "224.0.0.18", bytes(36), 1)
TO_MASTER = StateChange("carp0", "eth0", 1, "BACKUP", "MASTER", "master timed out")


class FakeHost:
    personality = "openbsd"

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.timeouts: list[float] = []
        self.results: list[int | None] = []

    def next_deadline(self) -> float | None:
        return self.deadline

    def timeout(self, now: float) -> list[Any]:
        self.timeouts.append(now)
        self.deadline = None
        return [SEND, Count("opackets")]

    def status(self) -> dict[str, Any]:
        return {"vhosts": {}, "counters": {"opackets": len(self.timeouts)}}

    def send_result(self, act: Send, error: int | None, now: float) -> list[Any]:
        self.results.append(error)
        return [Log(LOG_CRIT, "error", f"send failed: {error}")] if error else []


class SendSpy:
    """The carpdevs' sockets as dispatch sees them: each send noted, its outcome given."""

    def __init__(self, order: list[str], outcomes: list[int | None] | None = None) -> None:
        self.order = order
        self.outcomes = iter(outcomes or [])

    def send(self, act: Send) -> int | None:
        self.order.append("send")
        return next(self.outcomes, None)

    def receive_queued(self) -> None:
        """A late timer looks for queued advertisements: no carpdev, none."""


def _io(daemon: Daemon, nl: Any, socks: dict[str, Any]) -> CarpdevIO:
    """The real carpdev I/O of the daemon, over fake links and sockets."""
    io = CarpdevIO(daemon.loop, nl, lambda: daemon.host, daemon.dispatch, daemon.log)
    io.socks = socks
    daemon.io = io
    return io


def _macvlans(daemon: Daemon, order: list[str]) -> Macvlans:
    """The daemon's real macvlans, whose netlink jobs are only noted, never run."""
    mv = Macvlans(daemon.loop, None, None, lambda: daemon.host,  # type: ignore[arg-type]
                  lambda: daemon.state.interfaces, lambda job: order.append("job"),
                  lambda: daemon.closing, daemon.log)
    daemon.macvlans = mv
    return mv


def _daemon(tmp_path: Path, order: list[str]) -> tuple[Daemon, FakeHost]:
    daemon = Daemon(Store(tmp_path), tmp_path / "hooks.d", Logger(use_syslog=False))
    host = FakeHost()
    daemon.loop = asyncio.get_running_loop()
    daemon.host = host  # type: ignore[assignment]
    daemon.status = StatusWriter(daemon.store, lambda: host.status(), order.append)
    daemon.hooks = HookRunner(tmp_path / "hooks.d", order.append)
    daemon.io = SendSpy(order)  # type: ignore[assignment]
    daemon._state_change = lambda act: order.append("state")  # type: ignore[method-assign]
    daemon._log_kernel = lambda act: order.append("log")  # type: ignore[method-assign]
    # call_at, as before carpd had a timerfd: a deadline in the past fires at once
    daemon.timer = LoopTimer(daemon.loop, daemon._on_timer, order.append, use_timerfd=False)
    return daemon, host


def test_sends_go_first(tmp_path: Path) -> None:
    order: list[str] = []

    async def scenario() -> None:
        daemon, _host = _daemon(tmp_path, order)
        # the core lists the state change before the advertisement it triggers
        daemon.dispatch([TO_MASTER, Log(LOG_CRIT, "state", "x"), SEND, Count("opackets")])

    asyncio.run(scenario())
    assert order == ["send", "state", "log"]


def test_timer_fires_at_the_deadline(tmp_path: Path) -> None:
    order: list[str] = []

    async def scenario() -> tuple[float, list[float]]:
        daemon, host = _daemon(tmp_path, order)
        deadline = daemon.loop.time() + 0.05
        host.deadline = deadline
        daemon._rearm()
        daemon._rearm()  # idempotent: still one timer
        await asyncio.sleep(0.15)
        return deadline, host.timeouts

    deadline, fired = asyncio.run(scenario())
    assert len(fired) == 1
    assert deadline <= fired[0] < deadline + 0.03  # never early, a few ms late at most
    assert order == ["send"]


def test_send_errors_go_back_to_the_core(tmp_path: Path) -> None:
    """The errno of a failed send reaches host.send_result; what it returns is carried out."""
    order: list[str] = []

    async def scenario() -> list[int | None]:
        daemon, host = _daemon(tmp_path, order)
        daemon.io = SendSpy(order, [None, 105])  # type: ignore[assignment]
        daemon.dispatch([SEND])
        daemon.dispatch([SEND])
        return host.results

    assert asyncio.run(scenario()) == [None, 105]
    assert order == ["send", "send", "log"]


def test_a_state_change_reaches_the_kernel_filter_in_the_same_turn(tmp_path: Path) -> None:
    """carpnodes balancing: the filter's state word is stored while the state change is
    dispatched, before any netlink job (which runs in a later turn) could run."""
    order: list[str] = []

    class Balancer:
        def set_word(self, key: str, word: int) -> None:
            order.append(f"word {key} {word:#x}")
    async def scenario() -> list[str]:
        daemon = Daemon(Store(tmp_path), tmp_path / "hooks.d", Logger(use_syslog=False))
        host = FakeHost()
        host.balancing = types.SimpleNamespace(  # type: ignore[attr-defined]
            state_word=lambda key: 0x1_0000_0002_0001)
        daemon.loop = asyncio.get_running_loop()
        daemon.host = host  # type: ignore[assignment]
        daemon.status = StatusWriter(daemon.store, lambda: host.status(), order.append)
        daemon.hooks = HookRunner(tmp_path / "hooks.d", order.append)
        _macvlans(daemon, order).balancer = Balancer()  # type: ignore[assignment]
        daemon.io = SendSpy(order)  # type: ignore[assignment]
        daemon.dispatch([TO_MASTER])
        seen = list(order)
        await asyncio.sleep(0)
        return seen

    seen = asyncio.run(scenario())
    assert "word carp0 0x1000000020001" in seen
    assert seen.index("word carp0 0x1000000020001") < seen.index("job")


def test_the_timerfd_fires_once_at_the_deadline_never_early(tmp_path: Path) -> None:
    order: list[str] = []

    async def scenario() -> tuple[float, list[float]]:
        daemon, host = _daemon(tmp_path, order)
        daemon.timer = LoopTimer(daemon.loop, daemon._on_timer, order.append)
        assert daemon.timer._fd is not None
        deadline = daemon.loop.time() + 0.05
        host.deadline = deadline
        daemon._rearm()
        daemon._rearm()
        await asyncio.sleep(0.15)
        return deadline, host.timeouts

    deadline, fired = asyncio.run(scenario())
    assert len(fired) == 1
    assert deadline <= fired[0] < deadline + 0.03
    assert order == ["send"]


def test_a_timerfd_moved_later_fires_at_the_new_deadline(tmp_path: Path) -> None:
    async def scenario() -> tuple[float, list[float]]:
        daemon, host = _daemon(tmp_path, [])
        daemon.timer = LoopTimer(daemon.loop, daemon._on_timer, print)
        host.deadline = daemon.loop.time() + 0.02
        daemon._rearm()
        await asyncio.sleep(0.005)
        host.deadline = later = daemon.loop.time() + 0.08
        daemon._rearm()
        await asyncio.sleep(0.15)
        return later, host.timeouts

    later, fired = asyncio.run(scenario())
    assert len(fired) == 1 and later <= fired[0]


def test_an_expiry_seen_before_the_deadline_keeps_the_timer(tmp_path: Path) -> None:
    """A wake-up that finds the deadline still ahead (it was moved after the expiry was
    reported) must leave the one-shot timerfd armed for it."""

    async def scenario() -> list[float]:
        daemon, host = _daemon(tmp_path, [])
        daemon.timer = LoopTimer(daemon.loop, daemon._on_timer, print)
        host.deadline = daemon.loop.time() + 0.05
        daemon._rearm()
        assert daemon.timer._fd is not None
        daemon.timer._fd.arm(daemon.loop.time())  # expires now, before the deadline
        await asyncio.sleep(0.15)
        return host.timeouts

    assert len(asyncio.run(scenario())) == 1


class FakeSocks:
    def __init__(self, datagrams: list[tuple[bytes, float | None]]) -> None:
        self.datagrams = datagrams

    def recv4(self) -> list[tuple[bytes, float | None]]:
        out, self.datagrams = self.datagrams, []
        return out


def test_an_advert_is_dated_by_its_kernel_receive_time(tmp_path: Path) -> None:
    """The master-down timer runs from when the kernel received the advertisement, not
    from when carpd read it: a stamp 200 ms old reaches the host 200 ms in the past; no
    stamp, or one the wall clock cannot explain (it stepped), is read as 'now'."""
    import time

    from carp import wire

    dgram = wire.build_ipv4("192.168.1.2", "224.0.0.18", bytes(36), 0x10, 1)
    seen: list[float] = []

    class Host(FakeHost):
        class policy:  # noqa: N801 (stands for the personality policy object)
            ttl_first_v4 = False

        def packet(self, *args: Any) -> list[Any]:
            seen.append(args[6])
            return []

    class Netlink:
        def first_ipv4(self, dev: str) -> str:
            return "192.168.1.3"

    async def scenario() -> float:
        daemon, _host = _daemon(tmp_path, [])
        daemon.host = Host()  # type: ignore[assignment]
        wall = time.time()
        io = _io(daemon, Netlink(), {"em0": FakeSocks(
            [(dgram, wall - 0.2), (dgram, None), (dgram, wall - 3600), (dgram, wall + 60)])})
        before = daemon.loop.time()
        io.receive4("em0")
        return before

    before = asyncio.run(scenario())
    assert before - 0.21 < seen[0] < before - 0.19
    assert all(before <= t < before + 0.05 for t in seen[1:])


class _Socks:
    name = "eth0"
    rx6 = None

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.sent6: list[bytes] = []

    def recv4(self) -> list[tuple[bytes, float | None]]:
        return []  # nothing queued when a late timer looks

    def send_frame(self, frame: bytes) -> None:
        self.frames.append(frame)

    def send_ip6(self, payload: bytes, dst: str) -> None:
        self.sent6.append(payload)


class _Links:
    def __init__(self, ll6: str | None) -> None:
        self.ll6 = ll6

    def first_ipv4(self, name: str) -> str:
        return "10.0.0.1"

    def linklocal6(self, name: str) -> str | None:
        return self.ll6


def test_vrrp_adverts_are_sealed_with_the_source_they_leave_from() -> None:
    from carp import wire

    socks = _Socks()
    adv = wire.VrrpAdvert(1, 100, 100, ("192.168.1.1",))
    adv6 = wire.VrrpAdvert(1, 100, 100, ("2001:db8::1",))
    for ll6 in ("fe80::1", None):
        io = CarpdevIO(asyncio.new_event_loop(), _Links(ll6), lambda: None,  # type: ignore[arg-type]
                       lambda acts: None, Logger(use_syslog=False))
        io.socks = {"eth0": socks}  # type: ignore[dict-item]
        for family, dst, a in ((4, "224.0.0.18", adv), (6, "ff02::12", adv6)):
            act = Send("eth0:1", "eth0", family, dst, wire.vrrp_unsealed(a, family), 1,
                       sealed=False)
            assert io.send(act) == (NOT_SENT if (family, ll6) == (6, None) else None)
        io.loop.close()
    assert len(socks.frames) == 3 and socks.sent6 == []  # no link-local: no IPv6 advert
    assert wire.decode_vrrp(socks.frames[0][14 + 20:], "10.0.0.1", "224.0.0.18") == adv
    assert wire.decode_vrrp(socks.frames[1][14 + 40:], "fe80::1", "ff02::12") == adv6


def test_a_late_timer_reads_the_advertisements_queued_behind_it_first(tmp_path: Path) -> None:
    """carpd held up past a master-down deadline, with the master's advertisement already
    in the kernel: the advertisement is read (and dated by its arrival) before the timer
    runs, so the backup hears its master instead of taking over from it.  A timer on
    time costs no read."""
    import time

    from carp import wire

    dgram = wire.build_ipv4("192.168.1.2", "224.0.0.18", bytes(36), 0x10, 1)
    order: list[str] = []

    class Host(FakeHost):
        class policy:  # noqa: N801 (stands for the personality policy object)
            ttl_first_v4 = False

        def packet(self, *args: Any) -> list[Any]:
            order.append("packet")
            return []

        def timeout(self, now: float) -> list[Any]:
            order.append("timeout")
            self.deadline = None
            return []

    class Netlink:
        def first_ipv4(self, dev: str) -> str:
            return "192.168.1.3"

    class Socks(FakeSocks):
        rx6 = None

        def recv4(self) -> list[tuple[bytes, float | None]]:
            order.append("read")
            return super().recv4()

    async def scenario() -> None:
        daemon, _host = _daemon(tmp_path, [])
        daemon.host = Host()  # type: ignore[assignment]
        _io(daemon, Netlink(), {"em0": Socks([(dgram, time.time() - 0.004)])})
        daemon._on_timer(daemon.loop.time())  # on time
        assert order == ["timeout"]
        order.clear()
        daemon._on_timer(daemon.loop.time() - 0.005)  # 5 ms late
        assert order == ["read", "packet", "timeout"]

    asyncio.run(scenario())


def test_a_vrrp_advert_with_no_source_is_a_send_failure_not_a_packet_sent(
    tmp_path: Path,
) -> None:
    """No usable link-local yet: the IPv6 advert is not sent, so opackets6 does not move
    and the core hears of a failed send (as of any: send-error demotion); IPv4 goes out."""
    order: list[str] = []
    vrrp = CarpInterface(name="eth0", style="vhid", nodes=[Node(1, 0)], up=True, version=3,
                         addresses=[Address("192.168.1.1", 24, vhid=1),
                                    Address("2001:db8::1", 64, vhid=1)])
    core = CarpHost("freebsd", "h")
    core.configure({}, [vrrp], {}, 0.0)
    results: list[int | None] = []
    send_result = core.send_result

    def spy(act: Send, error: int | None, now: float) -> list[Any]:
        results.append(error)
        return send_result(act, error, now)

    async def scenario() -> None:
        daemon, _fake = _daemon(tmp_path, order)
        daemon.host = core
        core.send_result = spy  # type: ignore[method-assign]
        _io(daemon, _Links(None), {"eth0": _Socks()})
        _macvlans(daemon, [])
        for t in (5.0, 6.0, 7.0):  # MASTER at 3.6 s: an advert per family each time
            daemon.dispatch(core.timeout(t))

    asyncio.run(scenario())
    # 5.0 s: the takeover's advert and the one due at 4.6 s
    assert results == [None, NOT_SENT] * 4
    assert core.status()["demotion"] == 0  # FreeBSD: each IPv4 success resets the errors
    assert (core.counters["opackets"], core.counters["opackets6"]) == (4, 0)
