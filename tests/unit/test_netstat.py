"""netstat -s -p carp: each BSD's layout, plurals, -ss, carpd's counters."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from carp import netstat
from carp.personality import PERSONALITIES, policy
from carp.store import Store
from carp.wire import STAT_FIELDS

OPENBSD_ZERO = """carp:
\t0 packets received (IPv4)
\t0 packets received (IPv6)
\t\t0 packets discarded for bad interface
\t\t0 packets discarded for wrong TTL
\t\t0 packets shorter than header
\t\t0 discarded for bad checksums
\t\t0 discarded packets with a bad version
\t\t0 discarded because packet too short
\t\t0 discarded for bad authentication
\t\t0 discarded for unknown vhid
\t\t0 discarded because of a bad address list
\t0 packets sent (IPv4)
\t0 packets sent (IPv6)
\t\t0 send failed due to mbuf memory error
\t0 transitions to master
"""

FREEBSD_ZERO = """carp:
\t0 packets received (IPv4)
\t0 packets received (IPv6)
\t\t0 packets discarded for wrong TTL
\t\t0 packets shorter than header
\t\t0 discarded for bad checksums
\t\t0 discarded packets with a bad version
\t\t0 discarded because packet too short
\t\t0 discarded for bad authentication
\t\t0 discarded for bad vhid
\t\t0 discarded because of a bad address list
\t0 packets sent (IPv4)
\t0 packets sent (IPv6)
\t\t0 send failed due to mbuf memory error
"""

NETBSD_ZERO = """carp:
\t0 packets received (IPv4)
\t0 packets received (IPv6)
\t\t0 packets discarded for bad interface
\t\t0 packets discarded for wrong TTL
\t\t0 packets shorter than header
\t\t0 packets discarded for bad checksum
\t\t0 packets discarded with a bad version
\t\t0 discarded because packet was too short
\t\t0 packets discarded for bad authentication
\t\t0 packets discarded for bad vhid
\t\t0 packets discarded because of a bad address list
\t0 packets sent (IPv4)
\t0 packets sent (IPv6)
\t\t0 send failed due to mbuf memory error
"""

ZERO = {"openbsd": OPENBSD_ZERO, "freebsd": FREEBSD_ZERO, "netbsd": NETBSD_ZERO}

ONES = {s: 1 for s in STAT_FIELDS}

OPENBSD_ONE = """carp:
\t1 packet received (IPv4)
\t1 packet received (IPv6)
\t\t1 packet discarded for bad interface
\t\t1 packet discarded for wrong TTL
\t\t1 packet shorter than header
\t\t1 discarded for bad checksum
\t\t1 discarded packet with a bad version
\t\t1 discarded because packet too short
\t\t1 discarded for bad authentication
\t\t1 discarded for unknown vhid
\t\t1 discarded because of a bad address list
\t1 packet sent (IPv4)
\t1 packet sent (IPv6)
\t\t1 send failed due to mbuf memory error
\t1 transition to master
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path))
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)
    return tmp_path


@pytest.mark.parametrize("personality", ["openbsd", "freebsd", "netbsd"])
def test_zero_layout_golden(personality: str) -> None:
    assert netstat.render(policy(personality), {}) == ZERO[personality]


def test_singular_for_one() -> None:
    assert netstat.render(policy("openbsd"), ONES) == OPENBSD_ONE


def test_plural_rule() -> None:
    assert [netstat.plural(n) for n in (0, 1, 2, 10**12)] == ["s", "", "s", "s"]
    text = netstat.render(policy("netbsd"), {"badsum": 2, "badlen": 1})
    assert "\t\t2 packets discarded for bad checksum\n" in text
    assert "\t\t1 discarded because packet was too short\n" in text


def test_ss_leaves_out_zero_lines() -> None:
    counters = {"ipackets": 12, "badttl": 1, "opackets": 7, "preempt": 2}
    assert netstat.render(policy("openbsd"), counters, sflag=2) == (
        "carp:\n"
        "\t12 packets received (IPv4)\n"
        "\t\t1 packet discarded for wrong TTL\n"
        "\t7 packets sent (IPv4)\n"
        "\t2 transitions to master\n"
    )
    assert netstat.render(policy("freebsd"), {}, sflag=2) == "carp:\n"
    # FreeBSD has no transitions line even when the counter is set.
    assert "transition" not in netstat.render(policy("freebsd"), counters, sflag=2)


def test_layouts_name_real_counters() -> None:
    for name in PERSONALITIES:
        assert {stat for stat, _ in policy(name).netstat_carp_layout} <= set(STAT_FIELDS)
    openbsd = policy("openbsd").netstat_carp_layout
    assert [s for s, _ in openbsd] == [s for s in STAT_FIELDS if s != "ostates"]


@pytest.mark.parametrize(
    ("argv", "sflag"),
    [
        (["-s", "-p", "carp"], 1),
        (["-p", "carp", "-s"], 1),
        (["-ss", "-p", "carp"], 2),
        (["-s", "-s", "-pcarp"], 2),
        (["-sp", "carp"], 1),
        (["-s", "-p", "tcp"], 0),
        (["-s"], 0),
        (["-rn"], 0),
        (["-p", "carp"], 0),
        ([], 0),
    ],
)
def test_argument_forms(argv: list[str], sflag: int) -> None:
    assert netstat.parse_carp_stats(argv) == sflag


@pytest.mark.parametrize("personality", ["openbsd", "freebsd", "netbsd"])
def test_main_without_carpd_prints_zeros(env: Path, personality: str,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CARP_PERSONALITY", personality)
    assert netstat.main(["-s", "-p", "carp"]) == 0
    assert capsys.readouterr().out == ZERO[personality]


def test_main_reads_carpd_counters(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    st = Store(env)
    with st.transaction() as state:
        state.personality = "freebsd"
    st.write_status({"pid": os.getpid(), "counters": {"ipackets": 5, "badauth": 1}})
    assert netstat.main(["-ss", "-p", "carp"]) == 0
    assert capsys.readouterr().out == (
        "carp:\n\t5 packets received (IPv4)\n\t\t1 discarded for bad authentication\n"
    )


def test_stale_status_of_dead_carpd_is_ignored(env: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    Store(env).write_status({"pid": 2**22 + 12345, "counters": {"ipackets": 5}})
    assert netstat.main(["-s", "-p", "carp"]) == 0
    assert capsys.readouterr().out == OPENBSD_ZERO


@pytest.fixture
def carpd(env: Path) -> Iterator[Callable[[bytes], list[bytes]]]:
    """A fake carpd on the control socket: answers each connection with `reply`; the
    requests it saw are returned."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(Store(env).socket_path))
    server.listen(4)
    threads: list[threading.Thread] = []

    def start(reply: bytes) -> list[bytes]:
        seen: list[bytes] = []

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                seen.append(conn.recv(256))
                conn.sendall(reply)

        threads.append(threading.Thread(target=serve, daemon=True))
        threads[-1].start()
        return seen

    yield start
    for t in threads:
        t.join(5)
    server.close()


def test_main_reads_live_counters_from_carpd(
    env: Path, carpd: Callable[[bytes], list[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    # status.json lags (rewritten at most once a second); carpd's answer is the truth
    Store(env).write_status({"pid": os.getpid(), "counters": {"ipackets": 5}})
    seen = carpd(b"counters ipackets=6 badttl=1 opackets=2\n")
    assert netstat.main(["-ss", "-p", "carp"]) == 0
    assert seen == [b"counters\n"]
    assert capsys.readouterr().out == (
        "carp:\n\t6 packets received (IPv4)\n\t\t1 packet discarded for wrong TTL\n"
        "\t2 packets sent (IPv4)\n"
    )


@pytest.mark.parametrize("reply", [b"error expected: sync <generation>\n",  # an older carpd
                                   b"counters ipackets=x\n", b"counters ipackets=1"])
def test_main_falls_back_to_status_without_an_answer(
    env: Path, carpd: Callable[[bytes], list[bytes]], reply: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    Store(env).write_status({"pid": os.getpid(), "counters": {"ipackets": 5}})
    carpd(reply)
    assert netstat.main(["-ss", "-p", "carp"]) == 0
    assert capsys.readouterr().out == "carp:\n\t5 packets received (IPv4)\n"


def test_main_falls_back_on_a_dead_carpds_socket(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(Store(env).socket_path))
    stale.close()  # nobody listens: connection refused at once
    Store(env).write_status({"pid": os.getpid(), "counters": {"badauth": 2}})
    assert netstat.main(["-ss", "-p", "carp"]) == 0
    assert capsys.readouterr().out == "carp:\n\t\t2 discarded for bad authentication\n"


def test_other_uses_without_system_netstat(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(netstat, "SYSTEM_NETSTATS", ())
    assert netstat.main(["-rn"]) == 1
    assert capsys.readouterr().err == netstat.NO_NETSTAT + "\n"


def test_system_netstat_must_be_a_binary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "netstat"
    script.write_text("#!/bin/sh\nexec python3 -m carp.netstat \"$@\"\n")
    script.chmod(0o755)
    monkeypatch.setattr(netstat, "SYSTEM_NETSTATS", (str(script),))
    assert netstat.system_netstat() is None  # a launcher could be this very program


# -- --libxo (FreeBSD's netstat is built with libxo) ----------------------------------

FREEBSD_XO_KEYS = [  # usr.bin/netstat/inet.c carp_stats(), the xo_emit field names in order
    "received-inet-packets", "received-inet6-packets", "dropped-wrong-ttl",
    "dropped-short-header", "dropped-bad-checksum", "dropped-bad-version",
    "dropped-short-packet", "dropped-bad-authentication", "dropped-bad-vhid",
    "dropped-bad-address-list", "sent-inet-packets", "sent-inet6-packets",
    "send-failed-memory-error",
]


def freebsd_store(env: Path, counters: dict[str, int]) -> None:
    st = Store(env)
    with st.transaction() as state:
        state.personality = "freebsd"
    st.write_status({"pid": os.getpid(), "counters": counters})


@pytest.mark.parametrize("argv", [
    ["--libxo", "json", "-s", "-p", "carp"], ["--libxo=json", "-s", "-p", "carp"],
    ["-s", "-p", "carp", "--libxo:J"], ["--libxo", "json,pretty", "-s", "-pcarp"],
])
def test_libxo_json_has_freebsds_keys(env: Path, argv: list[str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import json

    freebsd_store(env, {"ipackets": 5, "badauth": 2, "opackets": 7})
    assert netstat.main(argv) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    carp = doc["statistics"]["carp"]
    assert list(carp) == FREEBSD_XO_KEYS  # FreeBSD's order, each once
    assert (carp["received-inet-packets"], carp["dropped-bad-authentication"],
            carp["sent-inet-packets"]) == (5, 2, 7)
    assert sum(carp.values()) == 14
    assert ("\n  " in out) == ("pretty" in " ".join(argv))


def test_libxo_ss_leaves_out_zeros_as_carp_stats_does(env: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import json

    freebsd_store(env, {"ipackets": 5, "badauth": 2})
    assert netstat.main(["--libxo", "json", "-ss", "-p", "carp"]) == 0
    assert json.loads(capsys.readouterr().out) == {"statistics": {"carp": {
        "received-inet-packets": 5, "dropped-bad-authentication": 2}}}


def test_libxo_text_is_the_ordinary_layout(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    freebsd_store(env, {})
    assert netstat.main(["--libxo", "text", "-s", "-p", "carp"]) == 0
    assert capsys.readouterr().out == FREEBSD_ZERO


@pytest.mark.parametrize("personality", ["openbsd", "netbsd"])
def test_libxo_is_refused_where_netstat_has_no_libxo(
    env: Path, personality: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CARP_PERSONALITY", personality)
    assert netstat.main(["--libxo", "json", "-s", "-p", "carp"]) == 1
    assert capsys.readouterr() == ("", "netstat: unknown option -- -\n")


@pytest.mark.parametrize(("opt", "err"), [
    ("xml", "netstat: --libxo xml: only json and text are provided here\n"),
    ("jsn", "netstat: --libxo: unknown libxo option value: 'jsn'\n"),
])
def test_libxo_formats_not_provided(env: Path, opt: str, err: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    freebsd_store(env, {})
    assert netstat.main(["--libxo", opt, "-s", "-p", "carp"]) == 1
    assert capsys.readouterr() == ("", err)


def test_libxo_keys_name_real_counters_in_the_layouts_order() -> None:
    for name in PERSONALITIES:
        pol = policy(name)
        stats = [stat for stat, _ in pol.netstat_carp_libxo]
        assert stats == [s for s, _ in pol.netstat_carp_layout][: len(stats)]
    assert [k for _, k in policy("freebsd").netstat_carp_libxo] == FREEBSD_XO_KEYS
