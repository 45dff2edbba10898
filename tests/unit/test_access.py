"""Only root changes the "kernel": a write by another user fails as the BSDs print it
(docs/userland.md §1, §3.2) and changes nothing; carpd's control socket serves root
alone, whatever the mode of its file; the HMAC comparison is constant-time."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import io
import os
import socket
from pathlib import Path

import pytest

from carp import wire
from carp.daemon import control
from carp.ifconfig import cli
from carp.store import Store
from sysctl import cli as sysctl_cli
from tests.unit.ifconfig_support import FakeSysIf
from tests.unprivileged import as_nobody, public_dir

EPERM = "Operation not permitted"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARP_RUNDIR", raising=False)
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)


def _ifconfig(rundir: str, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(argv, stdout=out, stderr=err, store=Store(rundir), sysif=FakeSysIf())
    return code, out.getvalue(), err.getvalue()


def _sysctl(rundir: str, argv: list[str]) -> tuple[int, str, str]:
    os.environ["CARP_RUNDIR"] = rundir
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = sysctl_cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def _snapshot(rundir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(rundir.iterdir())}


SETUP = {
    "openbsd": [["carp0", "vhid", "1", "pass", "sesame", "carpdev", "em0", "192.168.1.1/24"]],
    "freebsd": [["em0", "vhid", "1", "pass", "sesame", "192.168.1.1/24"]],
    "netbsd": [["carp0", "create"],
               ["carp0", "vhid", "1", "pass", "sesame", "carpdev", "em0", "192.168.1.1/24"]],
}

# (personality, front end, argv, exit status, stdout, stderr), from docs/userland.md:
# err(1, "%s: SIOCSVH", ifname) on OpenBSD, err(1, "SIOCSVH") elsewhere; SIOCIFCREATE for a
# cloned interface ifconfig creates first; sysctl's own texts and exit statuses (§3.2).
CASES = [
    ("openbsd", "ifconfig", ["carp0", "advskew", "100"], 1, "",
     f"ifconfig: carp0: SIOCSVH: {EPERM}\n"),
    ("openbsd", "ifconfig", ["carp0", "pass", "other"], 1, "",
     f"ifconfig: carp0: SIOCSVH: {EPERM}\n"),
    ("openbsd", "ifconfig", ["carp1", "create"], 1, "",
     f"ifconfig: carp1: SIOCIFCREATE: {EPERM}\n"),
    ("openbsd", "ifconfig", ["carp2", "vhid", "2", "carpdev", "em0"], 1, "",
     f"ifconfig: carp2: SIOCIFCREATE: {EPERM}\n"),
    ("openbsd", "ifconfig", ["carp0", "destroy"], 1, "",
     f"ifconfig: carp0: SIOCIFDESTROY: {EPERM}\n"),
    ("openbsd", "ifconfig", ["carp0", "down"], 1, "", f"ifconfig: SIOCSIFFLAGS: {EPERM}\n"),
    ("openbsd", "ifconfig", ["carp0", "192.168.1.7/24"], 1, "",
     f"ifconfig: SIOCAIFADDR: {EPERM}\n"),
    ("openbsd", "ifconfig", ["carp0", "-alias", "192.168.1.1"], 1, "",
     f"ifconfig: SIOCDIFADDR: {EPERM}\n"),
    ("openbsd", "ifconfig", ["-g", "carp", "carpdemote", "5"], 1, "",
     f"ifconfig: SIOCSIFGATTR: {EPERM}\n"),
    # the command line is checked before any request, as ifconfig does
    ("openbsd", "ifconfig", ["carp0", "vhid"], 1, "", "ifconfig: 'vhid' requires argument\n"),
    ("openbsd", "sysctl", ["net.inet.carp.preempt=1"], 0, "",
     f"sysctl: net.inet.carp.preempt: {EPERM}\n"),
    ("openbsd", "sysctl", ["-w", "net.inet.carp.log=0"], 0, "",
     f"sysctl: net.inet.carp.log: {EPERM}\n"),
    ("freebsd", "ifconfig", ["em0", "vhid", "1", "advskew", "100"], 1, "",
     f"ifconfig: SIOCSVH: {EPERM}\n"),
    ("freebsd", "ifconfig", ["em0", "inet", "vhid", "2", "alias", "192.168.1.50/32"], 1, "",
     f"ifconfig: SIOCSVH: {EPERM}\n"),
    ("freebsd", "sysctl", ["net.inet.carp.preempt=1"], 1, "net.inet.carp.preempt: 0\n",
     f"sysctl: net.inet.carp.preempt=1: {EPERM}\n"),
    ("netbsd", "ifconfig", ["carp0", "advskew", "100"], 1, "", f"ifconfig: SIOCSVH: {EPERM}\n"),
    ("netbsd", "sysctl", ["-w", "net.inet.carp.preempt=1"], 1, "",
     f"sysctl: net.inet.carp.preempt: {EPERM}\n"),
]


@pytest.mark.parametrize(("personality", "prog", "argv", "code", "out", "err"), CASES,
                         ids=[f"{c[0]}-{c[1]} {' '.join(c[2])}" for c in CASES])
def test_a_write_by_another_user_is_refused_and_changes_nothing(
    personality: str, prog: str, argv: list[str], code: int, out: str, err: str
) -> None:
    with public_dir() as d:
        rundir = str(d / "run")
        with Store(rundir).transaction() as state:
            state.personality = personality
        for setup in SETUP[personality]:
            assert _ifconfig(rundir, setup)[0] == 0
        before = _snapshot(d / "run")
        run = _ifconfig if prog == "ifconfig" else _sysctl
        assert as_nobody(run, rundir, argv) == (code, out, err)
        assert _snapshot(d / "run") == before


# -- carpd's control socket ------------------------------------------------------------


def _ask(path: str, lines: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(lines)  # carpd may have answered and closed already
            s.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := s.recv(4096):
            reply += chunk
        return reply


def test_control_socket_serves_root_alone_whatever_its_mode() -> None:
    calls: list[str] = []

    async def sync(generation: int) -> int:
        calls.append(f"sync {generation}")
        return generation

    def counters() -> dict[str, int]:
        calls.append("counters")
        return {"ipackets": 1}

    def status() -> dict[str, object]:  # other users read status.json instead
        calls.append("status")
        return {"pid": 1}

    async def scenario(path: Path) -> tuple[list[bytes], bytes]:
        server = await control.serve(path, sync, counters, status)
        path.chmod(0o666)  # loosened by hand, or reached between bind() and chmod()
        loop = asyncio.get_running_loop()
        try:
            user = [
                await loop.run_in_executor(None, as_nobody, _ask, str(path), request)
                for request in (b"sync 5\n", b"counters\n", b"status\n")
            ]
            root = await loop.run_in_executor(None, _ask, str(path), b"sync 6\n")
        finally:
            server.close()
            await server.wait_closed()
        return user, root

    with public_dir() as d:
        user, root = asyncio.run(scenario(d / "carpd.sock"))
    assert user == [control.NOT_PERMITTED.encode()] * 3
    assert root == b"applied 6\n"
    assert calls == ["sync 6"]  # nothing the other user asked for was done


def test_peer_uid_is_the_kernel_s_word() -> None:
    a, b = socket.socketpair(socket.AF_UNIX)
    with a, b:
        assert control.peer_uid(a) == os.getuid()
    assert control.peer_uid(None) is None


# -- the HMAC comparison -----------------------------------------------------------------


def test_hmac_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every digest check goes through hmac.compare_digest, also for a digest that is
    wrong from its first byte (an == would return early and leak how much matched)."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    for flavour in ("openbsd", "freebsd", "netbsd"):
        signer = wire.Signer(wire.hmac_key("sesame"), 1, ["192.168.1.1"], ["fe80::1"],
                             flavour=flavour)
        counter = wire.int_to_counter(7)
        good = wire.decode(wire.make_advert(signer, 1, 1, 0, counter))
        assert isinstance(good, wire.Advert)
        assert signer.verify(good)
        assert compared[-1] == (signer.sign(counter), good.digest)
        for wrong in (bytes(20), bytes([good.digest[0] ^ 1]) + good.digest[1:]):
            compared.clear()
            bad = dataclasses.replace(good, digest=wrong)
            assert not signer.verify(bad)
            assert compared and all(b == wrong for _a, b in compared)
