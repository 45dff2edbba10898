"""What the front-end fuzz found, pinned: each was a traceback, a wrong text or a write
outside /proc/sys before it was fixed (tests/unit/test_frontend_fuzz.py finds more)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from pathlib import Path

import pytest

from carp import wire
from carp.config import Address, CarpInterface, Node
from carp.host import CarpHost
from carp.ifconfig import cli
from carp.lab.netns import BIN
from carp.store import Store
from sysctl import cli as sysctl_cli
from sysctl import linux, procps
from tests.unit.ifconfig_support import FakeSysIf


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    proc = tmp_path / "proc" / "sys"
    (proc / "kernel").mkdir(parents=True)
    (proc / "kernel" / "hostname").write_text("h\n")
    monkeypatch.setenv(linux.ROOT_ENV, str(proc))
    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path / "run"))
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)
    return tmp_path


def sysctl(*argv: str) -> tuple[int, str, str]:
    """sysctl's main with stdout and stderr as a program has them (it writes bytes)."""
    out, err = io.BytesIO(), io.BytesIO()
    out_text = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    err_text = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace",
                                write_through=True)
    with contextlib.redirect_stdout(out_text), contextlib.redirect_stderr(err_text):
        code = sysctl_cli.main(list(argv))
    return code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace")


def test_sysctl_names_never_leave_proc_sys(env: Path) -> None:
    """Linux names are procps's (here: not installed); the front end writes nothing."""
    outside = env / "proc" / "victim"
    outside.write_text("intact\n")
    for name in ("../victim", "kernel/../../victim", "/../victim"):
        code, out, err = sysctl(f"{name}=pwned")
        assert (code, out) == (1, "") and err.startswith("sysctl: procps "), err
    assert outside.read_text() == "intact\n"
    assert linux.path_of("../../etc/passwd", "/proc/sys") == "/proc/sys/etc/passwd"


def test_sysctl_file_with_nul_and_bytes_that_are_not_utf8(env: Path) -> None:
    conf = env / "sysctl.conf"
    conf.write_bytes(b"kernel.x\x00y=1\n\xff\xfe=2\nnet.inet.carp.preempt=1\x1enet.inet.carp.log=2\n")
    code, out, err = sysctl("-f", str(conf))
    assert "Traceback" not in err
    assert err.split("\n") == [
        "sysctl: second level name x\x00y in kernel.x\x00y is invalid",
        f"sysctl: \ufffd\ufffd: {procps.missing_text()}",  # a Linux name: procps's
        "sysctl: net.inet.carp.preempt: value is invalid: 1\x1enet.inet.carp.log=2", "",
    ]
    assert code == 0  # OpenBSD's sysctl warns and exits 0
    # \x1e ends no line (fgets reads up to \n): that line is one unknown name
    assert Store().load().sysctl == {}


def test_ifconfig_unresolvable_peer_is_the_resolver_s_text() -> None:
    """A label longer than 63 bytes cannot even be encoded: no query is made, and the
    message is gai_strerror's, not Python's codec error."""
    out, err = io.StringIO(), io.StringIO()
    store = Store("/nonexistent-carp-test-dir")
    code = cli.run(["carp0", "carppeer", "a" * 64 + ".example"], stdout=out, stderr=err,
                   store=store, sysif=FakeSysIf())
    assert (code, err.getvalue()) == (
        1, "ifconfig: error in parsing address string: Name or service not known\n")


@pytest.mark.parametrize(
    ("argv", "stream", "expected"),
    [
        ([b"carp\xff"], "stderr", b"carp\xff: no such interface\n"),
        ([b"-g", b"\xff"], "stdout", b"\xff: carp demote count 0\n"),
    ],
)
def test_bytes_typed_are_written_back_as_bytes(
    tmp_path: Path, argv: list[bytes], stream: str, expected: bytes
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARP_")}
    env["CARP_RUNDIR"] = str(tmp_path)
    proc = subprocess.run([str(BIN / "ifconfig").encode(), *argv], capture_output=True,
                          env=env, timeout=30)
    assert getattr(proc, stream) == expected, proc.stderr


def test_a_passphrase_that_is_not_utf8_is_its_bytes() -> None:
    typed = b"\xff\xfesecret".decode(errors="surrogateescape")  # as argv reaches Python
    assert wire.hmac_key(typed) == b"\xff\xfesecret" + b"\0" * 12
    host = CarpHost(personality="openbsd", name="h")
    ci = CarpInterface(name="carp0", carpdev="em0", nodes=[Node(1)],
                       addresses=[Address("192.168.1.1", 24)], passphrase=typed, up=True)
    host.configure({}, {"carp0": ci}, {}, 0.0)  # carpd's configure: no UnicodeEncodeError
    host.link("em0", True, 0.0)
