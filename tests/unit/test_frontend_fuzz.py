"""The front ends fed random and adversarial command lines (hypothesis, in-process).

ifconfig, sysctl and netstat run their own entry points (cli.run, main) against a store
with a carp interface and a FreeBSD vhid in it, under every personality, with arguments
drawn from their keywords and from what breaks programs: huge and odd numbers, empty
strings, unicode (also undecodable argv bytes, as Python hands them over), shell
metacharacters, 10 kB passphrases and names.  Each must answer with a BSD error or
succeed -- never raise, never print a traceback -- and a command that fails must leave
the store byte-identical.

Each runs as its program does, through main(), writing to streams encoded as Python's
own stdout (strict UTF-8) and stderr are, so an undecodable argv byte printed back is a
failure unless the front end writes it back as a byte.

Nothing reaches the real system: the store is a temporary directory, ifconfig sees a
fake table of interfaces and a resolver that knows literal addresses only (no DNS query
leaves), sysctl's Linux names live in a fake /proc/sys (a write outside it fails the
test instead of happening) and its -f reads scratch files, netstat never execs the
system netstat.

`make test` runs a bounded, derandomized number of examples; CARP_FUZZ_EXAMPLES=N runs N
per test with fresh randomness (e.g. CARP_FUZZ_EXAMPLES=20000 pytest tests/unit/...).
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carp import netstat
from carp.ifconfig import apply, cli
from carp.store import KEYS_PREFIX, Store
from sysctl import cli as sysctl_cli
from sysctl import linux
from tests.unit.ifconfig_support import FakeSysIf

EXAMPLES = int(os.environ.get("CARP_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=EXAMPLES or 150,
    derandomize=not EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PERSONALITIES = ("openbsd", "freebsd", "netbsd")
KEY = "mekmitasdigoat"

IFCONFIG_WORDS = [
    "create", "destroy", "up", "down", "vhid", "advbase", "advskew", "pass", "carpdev",
    "-carpdev", "carppeer", "-carppeer", "state", "carpnodes", "balancing", "group",
    "-group", "lladdr", "peer", "peer6", "mcast", "mcast6", "carpver", "vrrpprio",
    "vrrpinterval", "netmask", "prefixlen", "broadcast", "alias", "-alias", "delete",
    "inet", "inet6", "-inet", "-inet6", "master", "backup", "init", "MASTER", "ip", "none",
    "ip-stealth", "ip-unicast", "arp", "carpdemote", "-carpdemote", "1:0,2:100", "1:0,1:0",
]
FLAGS = ["-a", "-A", "-C", "-l", "-k", "-g", "-u", "-d", "-m", "-v", "-L", "-b", "-M", "-f",
         "--", "-", "-aC", "-gcarp", "-w", "-n", "-N", "-e", "-q", "-i", "-s", "-ss", "-p",
         "-pcarp", "-x", "-h", "-B", "-o", "-Z"]
NAMES = ["carp0", "carp1", "carp255", "carp", "em0", "em1", "eth0", "lo", "carp-1", "carp0:1",
         "carp" + "9" * 30, "em0.100", "carp٣", "net.inet.carp.preempt", "net.inet.carp",
         "net.inet.carp.allow", "net.inet.carp.log", "net.inet.carp.demotion",
         "net.inet.carp.stats", "net.inet.carp.ifdown_demotion_factor", "net.inet.carp.dscp",
         "net.inet.ip.forwarding", "net.inet6.ip6.forwarding", "net.inet.carp.arpbalance",
         "kernel.hostname", "kernel", "net.ipv4.ip_forward", "net.ipv4", "carp", "tcp",
         "../../../../etc/passwd", "kernel/../../../etc/hostname", "/", ".", "..", "a..b",
         "net.inet.carp.preempt.x", "net..inet", ".net.inet.carp.log", "kernel.x\x00y",
         "hostile.conf", "missing.conf"]
NUMBERS = ["0", "1", "-1", "255", "256", "254", "65535", "2147483647", "2147483648",
           "-2147483649", "9" * 400, "0x10", "010", "1e3", " 1", "1 ", "+1", "٣", "１",
           "1.5", "nan", "inf", "-0", "00000000000000000001"]
ADDRESSES = ["192.168.1.1/24", "192.168.1.1", "192.168.1.77/32", "10.1.1.9/24", "1.2.3.4/33",
             "::1", "fe80::1%em0", "2001:db8::1/64", "2001:db8::1/129", "999.1.1.1", "/24",
             "192.168.1.1/", "0.0.0.0/0", "255.255.255.255", "224.0.0.18", "ff02::12",
             "00:00:5e:00:01:01", "01:00:5e:00:01:01", "zz:zz", "localhost", "0xffffff00",
             "255.255.255.0", "1.2.3"]
HOSTILE = ["", " ", "\x00", "\t", "\n", ";", "; rm -rf /", "$(id)", "`id`", "|", "&&", "'", '"',
           "\\", "*", "~", "%s%s%n", "{name}", "{}", "=", "==", "a=b=c", ":", "#", "\x7f",
           "\udcff\udcfe", "é", "ß", "😀", "\u202e", "\ufeff", "x" * 10240, "carp0" * 2000,
           "name=" + "9" * 5000]
SYSCTL_ASSIGN = st.builds(lambda n, v: f"{n}={v}", st.sampled_from(NAMES),
                          st.sampled_from(NUMBERS + HOSTILE))

word = st.one_of(
    st.sampled_from(IFCONFIG_WORDS + FLAGS + NAMES + NUMBERS + ADDRESSES + HOSTILE),
    st.integers().map(str),
    st.text(max_size=12),
    SYSCTL_ASSIGN,
)
value = st.one_of(st.sampled_from(NUMBERS + ADDRESSES + HOSTILE + NAMES), st.text(max_size=8))
# a keyword with a value (`vhid 300`, `pass <10 kB>`, `-g <group>`, `-f <file>`): chunks
# that reach past the parser into validation, the store and the output
chunk = st.one_of(
    word.map(lambda w: [w]),
    st.tuples(st.sampled_from(IFCONFIG_WORDS + ["-g", "-M", "-f"]), value).map(list),
)


def flat(chunks: list[list[str]]) -> list[str]:
    return [w for c in chunks for w in c]


ifconfig_argv = st.one_of(
    st.lists(chunk, max_size=6).map(flat),
    st.tuples(st.sampled_from(["carp0", "carp1", "em0", "em1", "carp2", "-g"]),
              st.lists(chunk, min_size=1, max_size=6).map(flat)).map(lambda t: [t[0], *t[1]]),
)
sysctl_argv = st.one_of(
    st.lists(st.one_of(SYSCTL_ASSIGN, word), max_size=6),
    st.tuples(st.sampled_from(FLAGS), st.sampled_from(["-f", "-w", "-n", "-e", "-d", "-a"]),
              st.sampled_from(["hostile.conf", "missing.conf", "/", ".", "", "-"]),
              st.lists(st.one_of(SYSCTL_ASSIGN, word), max_size=3))
    .map(lambda t: [t[0], t[1], t[2], *t[3]]),
    st.sampled_from(["hostile.conf", "missing.conf", "/"]).map(lambda f: ["-f", f]),
)
netstat_argv = st.lists(st.one_of(st.sampled_from(["-s", "-ss", "-p", "carp", "-pcarp"]), word),
                        max_size=6)


class Host:
    """A store prepared once per personality; each example works on a fresh copy."""

    def __init__(self, root: Path, personality: str) -> None:
        self.template = root / f"template-{personality}"
        store = Store(self.template)
        with store.transaction() as state:
            state.personality = personality
        setup = [["carp0", "vhid", "1", "advskew", "100", "pass", KEY, "carpdev", "em0",
                  "192.168.1.1/24"], ["em1", "vhid", "2", "pass", KEY, "192.168.2.9/24"],
                 ["-g", "carp", "carpdemote", "3"]]
        for argv in setup:
            cli.run(argv, stdout=io.StringIO(), stderr=io.StringIO(), store=store,
                    sysif=FakeSysIf())
        assert store.load().interfaces, "the template has a carp interface"

    @contextlib.contextmanager
    def copy(self) -> Iterator[Path]:
        path = Path(tempfile.mkdtemp(prefix="fuzz-", dir=self.template.parent))
        try:
            shutil.copytree(self.template, path, dirs_exist_ok=True)
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def configuration(rundir: Path) -> dict[str, bytes]:
    """The committed configuration: store.json and its keys file."""
    return {p.name: p.read_bytes() for p in sorted(rundir.iterdir())
            if p.name == "store.json" or p.name.startswith(KEYS_PREFIX)}


def not_bsd(prog: str, argv: list[str], err: str) -> str | None:
    """What in stderr no BSD program prints (a traceback, an exception's repr), else
    None.  Messages quote the words typed, newlines included, so the checks are on the
    whole text: it starts as err(3) and usage(3) texts start, or is the no-such-interface
    line (`carp9: no such interface`, without the prefix on OpenBSD)."""
    if not err:
        return None
    if "Traceback (most recent call last)" in err or "Error: " in err or "Exception" in err:
        return err
    if err.startswith((f"{prog}: ", "usage:", "carpd: ")):
        return None
    if any(err == f"{word}: no such interface\n" for word in argv):
        return None
    return err


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Host]:
    root = tmp_path_factory.mktemp("fuzz")
    saved = os.environ.get("CARP_PERSONALITY")
    os.environ.pop("CARP_PERSONALITY", None)
    try:
        return {p: Host(root, p) for p in PERSONALITIES}
    finally:
        if saved is not None:
            os.environ["CARP_PERSONALITY"] = saved


@pytest.fixture(scope="module")
def proc_sys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake /proc/sys with the names the vocabulary uses."""
    root = tmp_path_factory.mktemp("procsys")
    for name, value in (("kernel/hostname", "fuzz"), ("net/ipv4/ip_forward", "0"),
                        ("net/ipv6/conf/all/forwarding", "0"), ("etc/hostname", "inside")):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(value + "\n")
    return root


@pytest.fixture
def sandbox(
    monkeypatch: pytest.MonkeyPatch, proc_sys: Path, tmp_path: Path
) -> Callable[[Path], None]:
    """Linux names only inside the fake /proc/sys; files only in a scratch directory;
    netstat never execs.  Returns the function that points the front ends at a store."""
    monkeypatch.setenv(linux.ROOT_ENV, str(proc_sys))
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)
    monkeypatch.chdir(tmp_path)  # `sysctl -f word` reads a file named by the fuzzer
    real_write, real_read = linux.write, linux.read
    inside = os.path.realpath(proc_sys) + os.sep

    def guarded(fn: Callable[..., object]) -> Callable[..., object]:
        def call(name: str, *args: object, **kw: object) -> object:
            path = os.path.realpath(linux.path_of(name))
            if not path.startswith(inside):
                raise AssertionError(f"sysctl reached {path} for the name {name!r}")
            return fn(name, *args, **kw)

        return call

    monkeypatch.setattr(linux, "write", guarded(real_write))
    monkeypatch.setattr(linux, "read", guarded(real_read))
    monkeypatch.setattr(netstat, "system_netstat", lambda: None)
    monkeypatch.setattr(apply, "system_sysif", FakeSysIf)
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    (tmp_path / "hostile.conf").write_bytes(HOSTILE_FILE)
    return lambda rundir: monkeypatch.setenv("CARP_RUNDIR", str(rundir))


# sysctl -f hostile.conf: NUL, bytes that are not UTF-8, separators other than \n, a path
# out of /proc/sys, a long line, an empty value, comments
HOSTILE_FILE = (b"net.inet.carp.preempt=1\n\x00=1\nkernel.x\x00y=2\n\xff\xfe=3\n"
                b"net.inet.carp.log=\xff\n\x1e\x0bnet.inet.carp.allow=0\r\n"
                b"../../../../etc/hostname=pwned\n" + b"9" * 10240 + b"\nnet.inet.carp.log=\n"
                b"# comment\n  net.inet.carp.preempt = 0  # trailing\n")


def no_dns(host: object, *args: object, **kw: object) -> list[tuple[object, ...]]:
    """getaddrinfo for literal addresses only: what ifconfig resolves never leaves."""
    if not isinstance(host, str):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    host.encode("idna")  # the real one raises UnicodeError on a bad label first
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
    return [(socket.AF_INET, socket.SOCK_DGRAM, 17, "", (str(addr), 0))]


def run_main(main: Callable[[list[str]], int], argv: list[str]) -> tuple[int, str, str]:
    """main(argv) with stdout and stderr as Python sets them up for a program."""
    out, err = io.BytesIO(), io.BytesIO()
    out_text = io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True)
    err_text = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace",
                                write_through=True)
    with contextlib.redirect_stdout(out_text), contextlib.redirect_stderr(err_text):
        code = main(argv)
        out_text.flush()
        err_text.flush()
    return (code, out.getvalue().decode(errors="surrogateescape"),
            err.getvalue().decode(errors="surrogateescape"))


@FUZZ
@given(personality=st.sampled_from(PERSONALITIES), argv=ifconfig_argv)
def test_ifconfig_never_raises_and_a_failure_changes_nothing(
    hosts: dict[str, Host], sandbox: Callable[[Path], None], personality: str, argv: list[str]
) -> None:
    with hosts[personality].copy() as rundir:
        sandbox(rundir)
        before = configuration(rundir)
        code, out, err = run_main(cli.main, argv)
        assert code in (0, 1), (code, err)
        assert not_bsd("ifconfig", argv, err) is None
        if code != 0:
            assert configuration(rundir) == before, err
        if KEY in out:  # only root's `-k` shows the key (FreeBSD)
            assert "-k" in "".join(a for a in argv if a.startswith("-"))


@FUZZ
@given(personality=st.sampled_from(PERSONALITIES), argv=sysctl_argv)
def test_sysctl_never_raises_and_a_failure_changes_nothing(
    hosts: dict[str, Host], sandbox: Callable[[Path], None], personality: str, argv: list[str]
) -> None:
    with hosts[personality].copy() as rundir:
        sandbox(rundir)
        before = configuration(rundir)
        code, out, err = run_main(sysctl_cli.main, argv)
        assert 0 <= code <= 255
        assert not_bsd("sysctl", argv, err) is None
        writes = [a for a in argv if "=" in a and not a.startswith("-")]
        if len(writes) == 1 and len(argv) == 1 and (code != 0 or err):
            assert configuration(rundir) == before, err  # the one write was refused


@FUZZ
@given(personality=st.sampled_from(PERSONALITIES), argv=netstat_argv)
def test_netstat_never_raises(
    hosts: dict[str, Host], sandbox: Callable[[Path], None], personality: str, argv: list[str]
) -> None:
    with hosts[personality].copy() as rundir:
        sandbox(rundir)
        before = configuration(rundir)
        code, out, err = run_main(netstat.main, argv)
        assert code in (0, 1)
        assert not_bsd("netstat", argv, err) is None
        assert configuration(rundir) == before  # netstat only reads
