"""sysctl(8): every form, each personality's output and errors, the store, /proc/sys."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from carp import mib
from carp.personality import policy
from carp.personality_switch import UnknownPersonality, set_personality
from carp.store import Store
from sysctl import cli, linux, procps
from tests.unit.conftest import NO_PROCPS

ROOT = Path(__file__).resolve().parents[2]
ALL = ("openbsd", "freebsd", "netbsd")


class Run:
    def __init__(self, rc: int, out: str, err: str) -> None:
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self) -> str:
        return f"Run(rc={self.rc}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    """A fake /proc/sys with the entries the tests touch."""
    root = tmp_path / "proc_sys"
    for rel, value in {
        "kernel/ostype": "Linux\n",
        "kernel/hostname": "hostA\n",
        "net/ipv4/ip_forward": "0\n",
        "net/ipv6/conf/all/forwarding": "0\n",
        "net/ipv4/tcp_rmem": "4096\t131072\t6291456\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(value)
    return root


@pytest.fixture
def env(tmp_path: Path, proc: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rundir = tmp_path / "run"
    monkeypatch.setenv("CARP_RUNDIR", str(rundir))
    monkeypatch.setenv(linux.ROOT_ENV, str(proc))
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)
    return rundir


@pytest.fixture
def sysctl(env: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """sysctl(personality, *args) -> Run, in-process (procps, when the test lets it run,
    writes to the same file descriptors)."""

    def run(personality: str, *args: str) -> Run:
        # One store per personality: a store keeps the personality it was created with.
        monkeypatch.setenv("CARP_RUNDIR", str(env / personality))
        monkeypatch.setenv("CARP_PERSONALITY", personality)
        capfd.readouterr()
        try:
            rc = cli.main(list(args))
        except SystemExit as exc:  # procps_sysctl's stand-in for exec
            rc = int(exc.code or 0)
        out, err = capfd.readouterr()
        return Run(rc, out, err)

    return run


@pytest.fixture
def procps_sysctl(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The real procps for reads that change nothing; exec becomes a child and an exit,
    so the test survives it.  Returns the argv lists handed to exec."""
    monkeypatch.delenv(procps.PATH_ENV)
    if procps.find() is None:
        pytest.skip("procps is not installed (Makefile SYSDEPS)")
    execs: list[list[str]] = []

    def execv(path: str, argv: list[str]) -> None:
        execs.append(argv)
        raise SystemExit(subprocess.run(argv, executable=path, check=False).returncode)

    monkeypatch.setattr(procps.os, "execv", execv)
    return execs


def procps_says(*args: str) -> Run:
    """What procps itself prints for this command line."""
    path = procps.find()
    assert path is not None
    r = subprocess.run(["sysctl", *args], executable=path, capture_output=True, text=True,
                       check=False)
    return Run(r.returncode, r.stdout, r.stderr)


# -- listings and reads ------------------------------------------------------------

LISTINGS = {
    "openbsd": "net.inet.carp.allow=1\nnet.inet.carp.preempt=0\nnet.inet.carp.log=2\n",
    "freebsd": (
        "net.inet.carp.ifdown_demotion_factor: 240\n"
        "net.inet.carp.senderr_demotion_factor: 240\n"
        "net.inet.carp.demotion: 0\n"
        "net.inet.carp.log: 1\n"
        "net.inet.carp.preempt: 0\n"
        "net.inet.carp.dscp: 56\n"
        "net.inet.carp.allow: 1\n"
    ),
    "netbsd": (
        "net.inet.carp.allow = 1\n"
        "net.inet.carp.preempt = 0\n"
        "net.inet.carp.log = 0\n"
        "net.inet.carp.arpbalance = 0\n"
    ),
}


@pytest.mark.parametrize("personality", ALL)
def test_prefix_listing_golden(sysctl, personality: str) -> None:
    r = sysctl(personality, "net.inet.carp")
    assert (r.rc, r.out, r.err) == (0, LISTINGS[personality], "")


@pytest.mark.parametrize(
    ("personality", "line"),
    [("openbsd", "net.inet.carp.preempt=0\n"), ("freebsd", "net.inet.carp.preempt: 0\n"),
     ("netbsd", "net.inet.carp.preempt = 0\n")],
)
def test_read_one(sysctl, personality: str, line: str) -> None:
    assert sysctl(personality, "net.inet.carp.preempt").out == line
    assert sysctl(personality, "-n", "net.inet.carp.preempt").out == "0\n"


def test_read_several_in_order(sysctl) -> None:
    r = sysctl("openbsd", "net.inet.carp.allow", "net.inet.carp.preempt", "net.inet.carp.log")
    assert r.out == "net.inet.carp.allow=1\nnet.inet.carp.preempt=0\nnet.inet.carp.log=2\n"


@pytest.mark.parametrize("personality", ["freebsd", "netbsd"])
def test_e_flag(sysctl, personality: str) -> None:
    assert sysctl(personality, "-e", "net.inet.carp.allow").out == "net.inet.carp.allow=1\n"


def test_freebsd_names_only_and_descriptions(sysctl) -> None:
    assert sysctl("freebsd", "-N", "net.inet.carp.dscp").out == "net.inet.carp.dscp\n"
    r = sysctl("freebsd", "-d", "net.inet.carp.dscp")
    assert r.out == "net.inet.carp.dscp: DSCP value for carp packets\n"
    r = sysctl("freebsd", "-d", "net.inet.carp")
    assert r.out.splitlines()[0] == (
        "net.inet.carp.ifdown_demotion_factor: Interface down demotion factor adjustment"
    )
    assert "net.inet.carp.allow: Accept incoming CARP packets" in r.out.splitlines()


def test_all_listing(sysctl) -> None:
    r = sysctl("openbsd", "-a")
    assert r.out == (
        "net.inet.ip.forwarding=0\n" + LISTINGS["openbsd"] + "net.inet6.ip6.forwarding=0\n"
    )
    assert sysctl("openbsd").out == r.out  # OpenBSD: no argument means -a
    assert sysctl("netbsd", "-a").out.count("\n") == 6


@pytest.mark.parametrize("personality", ["freebsd", "netbsd"])
def test_no_arguments_is_usage(sysctl, personality: str) -> None:
    r = sysctl(personality)
    assert r.rc == 1 and r.out == "" and r.err.startswith("usage:")


def test_openbsd_has_no_d_e_n_flags(sysctl) -> None:
    for flag in ("-d", "-e", "-N"):
        r = sysctl("openbsd", flag, "net.inet.carp.allow")
        assert r.rc == 1 and "usage: sysctl [-Aanq]" in r.err


def test_illegal_option(sysctl) -> None:
    r = sysctl("freebsd", "-Z", "net.inet.carp.allow")
    assert r.rc == 1
    assert r.err.startswith("sysctl: illegal option -- Z\nusage: sysctl [-bdehiNnoqTtWx]")
    assert sysctl("openbsd", "-Z", "net.inet.carp.allow").err.startswith(
        "sysctl: unknown option -- Z\n")


# -- writes -------------------------------------------------------------------------


@pytest.mark.parametrize("personality", ALL)
def test_write_echo_and_store(sysctl, env: Path, personality: str) -> None:
    r = sysctl(personality, "net.inet.carp.preempt=1")
    assert (r.rc, r.out, r.err) == (0, "net.inet.carp.preempt: 0 -> 1\n", "")
    state = Store(env / personality).load()
    assert state.sysctl == {"net.inet.carp.preempt": 1}
    assert state.generation == 1
    assert state.personality == personality
    assert sysctl(personality, "-n", "net.inet.carp.preempt").out == "1\n"


@pytest.mark.parametrize(
    ("personality", "out"), [("openbsd", "1\n"), ("freebsd", "0 -> 1\n"), ("netbsd", "1\n")]
)
def test_write_n_flag(sysctl, personality: str, out: str) -> None:
    assert sysctl(personality, "-n", "net.inet.carp.preempt=1").out == out


@pytest.mark.parametrize("personality", ALL)
def test_write_q_flag_is_silent(sysctl, env: Path, personality: str) -> None:
    r = sysctl(personality, "-q", "net.inet.carp.preempt=1")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert Store(env / personality).load().sysctl["net.inet.carp.preempt"] == 1


@pytest.mark.parametrize("personality", ALL)
@pytest.mark.parametrize(
    "args",
    [("-w", "net.inet.carp.arpbalance=1"), ("net.inet.carp.arpbalance=1",),
     ("-w", "net.inet.carp.preempt=1"), ("net.inet.carp.preempt=1",)],
)
def test_man_page_seed_commands_succeed_everywhere(sysctl, personality: str,
                                                   args: tuple[str, ...]) -> None:
    r = sysctl(personality, *args)
    assert r.rc == 0 and r.err == ""
    assert r.out.endswith(": 0 -> 1\n")


def test_arpbalance_hidden_from_listing_but_readable(sysctl) -> None:
    sysctl("openbsd", "net.inet.carp.arpbalance=1")
    assert "arpbalance" not in sysctl("openbsd", "net.inet.carp").out
    assert sysctl("openbsd", "net.inet.carp.arpbalance").out == "net.inet.carp.arpbalance=1\n"


def test_write_commits_once_and_waits_for_carpd(sysctl, env: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    waited: list[int] = []
    monkeypatch.setattr(Store, "wait_applied", lambda self, gen, timeout=2.0: waited.append(gen))
    sysctl("freebsd", "net.inet.carp.preempt=1", "net.inet.carp.log=2")
    assert Store(env / "freebsd").load().generation == 1  # one transaction for the whole command
    assert waited == [1]
    sysctl("freebsd", "net.inet.carp.preempt=1")  # no change: no new generation, no wait
    assert waited == [1]


def test_freebsd_number_syntax(sysctl, env: Path) -> None:
    assert sysctl("freebsd", "net.inet.carp.log=0x10").out == "net.inet.carp.log: 1 -> 16\n"
    assert sysctl("freebsd", "net.inet.carp.log=010").out == "net.inet.carp.log: 16 -> 8\n"
    assert sysctl("freebsd", "net.inet.carp.log='3'").out == "net.inet.carp.log: 8 -> 3\n"


def test_demotion_write_adds(sysctl, env: Path) -> None:
    assert sysctl("freebsd", "net.inet.carp.demotion=240").out == (
        "net.inet.carp.demotion: 0 -> 240\n")
    assert sysctl("freebsd", "net.inet.carp.demotion=240").out == (
        "net.inet.carp.demotion: 240 -> 480\n")
    assert sysctl("freebsd", "net.inet.carp.demotion=-240").out == (
        "net.inet.carp.demotion: 480 -> 240\n")
    assert Store(env / "freebsd").load().sysctl["net.inet.carp.demotion"] == 240


def test_demotion_and_suppress_preempt_include_carpd_runtime(sysctl, env: Path) -> None:
    sysctl("freebsd", "net.inet.carp.demotion=100")
    status = {"pid": os.getpid(), "demotion": 240, "suppress_preempt": 2}
    Store(env / "freebsd").write_status(status)
    assert sysctl("freebsd", "-n", "net.inet.carp.demotion").out == "340\n"
    assert sysctl("freebsd", "-n", "net.inet.carp.suppress_preempt").out == "2\n"
    assert sysctl("freebsd", "net.inet.carp.demotion=-100").out == (
        "net.inet.carp.demotion: 340 -> 240\n")
    assert Store(env / "freebsd").load().sysctl["net.inet.carp.demotion"] == 0


def test_effective_value_without_carpd() -> None:
    node = mib.lookup(policy("freebsd"), "net.inet.carp.demotion")
    assert node is not None
    assert mib.effective_value(node, {"net.inet.carp.demotion": 5}, None) == 5
    assert mib.effective_value(node, {}, {"demotion": 7}) == 7
    sp = mib.lookup(policy("freebsd"), "net.inet.carp.suppress_preempt")
    assert sp is not None and mib.effective_value(sp, {}, None) == 0


# -- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("personality", "rc", "err"),
    [
        ("openbsd", 0, "sysctl: fourth level name foo in net.inet.carp.foo is invalid\n"),
        ("freebsd", 1, "sysctl: unknown oid 'net.inet.carp.foo'\n"),
        ("netbsd", 1, "sysctl: fourth level name 'foo' in 'net.inet.carp.foo' is invalid\n"),
    ],
)
def test_unknown_oid(sysctl, personality: str, rc: int, err: str) -> None:
    r = sysctl(personality, "net.inet.carp.foo")
    assert (r.rc, r.out, r.err) == (rc, "", err)
    r = sysctl(personality, "net.inet.carp.foo=1")
    assert (r.rc, r.err) == (rc, err)


def test_openbsd_shallower_and_deeper_unknowns(sysctl) -> None:
    assert sysctl("openbsd", "net.inet.carpx").err == (
        "sysctl: third level name carpx in net.inet.carpx is invalid\n")
    assert sysctl("openbsd", "net.inet.carp.preempt.x").err == (
        "sysctl: name x in net.inet.carp.preempt.x is unknown\n")


def test_nodes_of_other_personalities_are_unknown(sysctl) -> None:
    assert sysctl("openbsd", "net.inet.carp.dscp").err == (
        "sysctl: fourth level name dscp in net.inet.carp.dscp is invalid\n")
    assert sysctl("netbsd", "net.inet.carp.demotion=1").rc == 1


def test_freebsd_read_only(sysctl) -> None:
    r = sysctl("freebsd", "net.inet.carp.suppress_preempt=1")
    assert (r.rc, r.out, r.err) == (
        1, "", "sysctl: oid 'net.inet.carp.suppress_preempt' is read only\n")


@pytest.mark.parametrize(
    ("personality", "rc", "err"),
    [
        ("openbsd", 0, "sysctl: net.inet.carp.log: value is invalid: abc\n"),
        ("freebsd", 1, "sysctl: invalid integer 'abc'\n"),
        ("netbsd", 1, "sysctl: abc: not a number\n"),
    ],
)
def test_invalid_integer(sysctl, env: Path, personality: str, rc: int, err: str) -> None:
    r = sysctl(personality, "net.inet.carp.log=abc")
    assert (r.rc, r.out, r.err) == (rc, "", err)
    st = Store(env / personality)
    assert st.load_doc() is None or st.load().sysctl == {}  # a rejected write stores nothing


def test_integer_limits(sysctl) -> None:
    assert sysctl("openbsd", "net.inet.carp.log=2147483648").err == (
        "sysctl: net.inet.carp.log: value is too large: 2147483648\n")
    assert sysctl("openbsd", "net.inet.carp.log=-2147483649").err == (
        "sysctl: net.inet.carp.log: value is too small: -2147483649\n")
    assert sysctl("freebsd", "net.inet.carp.log=2147483648").err == (
        "sysctl: invalid integer '2147483648'\n")
    assert sysctl("netbsd", "net.inet.carp.log=99999999999").err == (
        "sysctl: 99999999999: Result too large\n")
    assert sysctl("openbsd", "net.inet.carp.log=0x10").err == (
        "sysctl: net.inet.carp.log: value is invalid: 0x10\n")


def test_freebsd_out_of_range_prints_old_value_then_error(sysctl, env: Path) -> None:
    r = sysctl("freebsd", "net.inet.carp.dscp=64")
    assert (r.rc, r.out, r.err) == (
        1, "net.inet.carp.dscp: 56\n", "sysctl: net.inet.carp.dscp=64: Invalid argument\n")
    assert sysctl("freebsd", "net.inet.carp.dscp=-1").rc == 1
    assert sysctl("freebsd", "net.inet.carp.dscp=63").out == "net.inet.carp.dscp: 56 -> 63\n"
    assert Store(env / "freebsd").load().sysctl == {"net.inet.carp.dscp": 63}


@pytest.mark.parametrize(
    ("personality", "err"),
    [
        ("openbsd", "sysctl: use netstat to view net.inet.carp.stats information\n"),
        ("freebsd", ""),
        ("netbsd", "sysctl: net.inet.carp.stats: this type is unknown to this program\n"),
    ],
)
def test_stats_struct_is_for_netstat(sysctl, personality: str, err: str) -> None:
    r = sysctl(personality, "net.inet.carp.stats")
    assert (r.rc, r.out, r.err) == (0, "", err)


def test_writing_a_node_or_struct(sysctl) -> None:
    assert sysctl("freebsd", "net.inet.carp=1").err == (
        "sysctl: oid 'net.inet.carp' isn't a leaf node\n")
    assert sysctl("openbsd", "net.inet.carp=1").err == (
        "sysctl: net.inet.carp: incomplete specification\n")
    assert sysctl("freebsd", "net.inet.carp.stats=1").err == (
        "sysctl: oid 'net.inet.carp.stats' is type 5, cannot set that\n")


def test_exit_status_per_personality(sysctl, env: Path) -> None:
    args = ("net.inet.carp.foo", "net.inet.carp.log=abc", "net.inet.carp.preempt=1")
    assert sysctl("openbsd", *args).rc == 0  # warnings only
    r = sysctl("freebsd", *args)
    assert r.rc == 2 and r.out == "net.inet.carp.preempt: 0 -> 1\n"  # number of failures
    assert r.err.count("\n") == 2


def test_netbsd_stops_at_first_error(sysctl, env: Path) -> None:
    r = sysctl("netbsd", "net.inet.carp.preempt=1", "net.inet.carp.foo", "net.inet.carp.log=3")
    assert r.rc == 1
    assert r.out == "net.inet.carp.preempt: 0 -> 1\n"
    assert Store(env / "netbsd").load().sysctl == {"net.inet.carp.preempt": 1}


def test_freebsd_quiet_and_ignore_unknown(sysctl) -> None:
    r = sysctl("freebsd", "-q", "net.inet.carp.foo")
    assert (r.rc, r.err) == (1, "")
    r = sysctl("freebsd", "-i", "net.inet.carp.foo", "net.inet.carp.allow")
    assert (r.rc, r.out, r.err) == (0, "net.inet.carp.allow: 1\n", "")


def test_not_permitted_when_store_cannot_be_locked(sysctl, env: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: Store):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Store, "transaction", denied)
    r = sysctl("freebsd", "net.inet.carp.preempt=1")
    assert (r.rc, r.out, r.err) == (
        1, "net.inet.carp.preempt: 0\n",
        "sysctl: net.inet.carp.preempt=1: Operation not permitted\n")
    r = sysctl("openbsd", "net.inet.carp.preempt=1")
    assert (r.rc, r.err) == (0, "sysctl: net.inet.carp.preempt: Operation not permitted\n")


def test_corrupt_store_is_reported(sysctl, env: Path) -> None:
    (env / "openbsd").mkdir(parents=True)
    (env / "openbsd" / "store.json").write_text("{torn")
    r = sysctl("openbsd", "net.inet.carp.preempt")
    assert r.rc == 1 and "corrupt store" in r.err


# -- -f file -------------------------------------------------------------------------


def test_f_file(sysctl, env: Path, tmp_path: Path) -> None:
    conf = tmp_path / "sysctl.conf"
    conf.write_text("# carp\nnet.inet.carp.preempt=1\n\nnet.inet.carp.log=abc\n")
    r = sysctl("freebsd", "-f", str(conf))
    assert r.rc == 1
    assert r.out == "net.inet.carp.preempt: 0 -> 1\n"
    assert r.err == "sysctl: invalid integer 'abc' at line 4\n"
    r = sysctl("netbsd", "-f", str(conf))
    assert r.err == f"sysctl: {conf}#4: abc: not a number\n"
    conf.write_text("net.inet.carp.log: 3\n")
    assert sysctl("freebsd", "-f", str(conf)).out == "net.inet.carp.log: 1 -> 3\n"
    assert Store(env / "freebsd").load().sysctl["net.inet.carp.log"] == 3
    # a file that cannot be read names no BSD node: procps's (PROCPS_FORMS)


# -- Linux pass-through --------------------------------------------------------------


# The forms Linux's scripts and units use, none naming a BSD node, none writing the
# host's settings: --system only with --dry-run, no bare -p (it would load the host's
# sysctl.d and sysctl.conf); the effect of -p FILE and writes: tests/netns.
PROCPS_FORMS = [
    ("net.ipv4.ip_forward",), ("-n", "net.ipv4.ip_forward"), ("-N", "kernel.ostype"),
    ("net.ipv4.ip_forward", "kernel.ostype"), ("-e", "kernel.nope"), ("kernel.nope",),
    ("net.ipv4.tcp_rmem",), ("net.ipv4.conf.lo",), ("-r", "^net.ipv4.conf.lo.forw"),
    ("-p", "/nonexistent.conf"), ("-p", "/dev/null"), ("-f", "/nonexistent.conf"),
    ("--load=/dev/null",),
    ("--dry-run", "--system"), ("-Z",), ("-b", "kernel.ostype"), ("-w", "kernel.ostype"),
    ("-X", "-N"), ("kernel.ostype", "-n"),
]


@pytest.mark.parametrize("personality", ALL)
@pytest.mark.parametrize("args", PROCPS_FORMS)
def test_linux_command_lines_are_procps_byte_for_byte(
    sysctl, procps_sysctl: list[list[str]], personality: str, args: tuple[str, ...]
) -> None:
    r = sysctl(personality, *args)
    assert (r.rc, r.out, r.err) == astuple(procps_says(*args))
    assert procps_sysctl == [["sysctl", *args]]  # handed over as typed


def astuple(r: Run) -> tuple[int, str, str]:
    return r.rc, r.out, r.err


def test_mixed_command_line_each_name_in_its_owner_s_words(
    sysctl, procps_sysctl: list[list[str]]
) -> None:
    r = sysctl("openbsd", "net.inet.carp.preempt", "kernel.ostype", "net.inet.carp.log")
    assert (r.rc, r.out, r.err) == (
        0, "net.inet.carp.preempt=0\nkernel.ostype = Linux\nnet.inet.carp.log=2\n", "")
    r = sysctl("freebsd", "-n", "net.inet.carp.dscp", "net.ipv4.tcp_rmem")
    assert r.out == "56\n" + procps_says("-n", "net.ipv4.tcp_rmem").out
    nope = procps_says("kernel.nope")
    r = sysctl("freebsd", "net.inet.carp.allow", "kernel.nope")
    assert (r.rc, r.out, r.err) == (nope.rc, "net.inet.carp.allow: 1\n", nope.err)
    r = sysctl("openbsd", "-q", "net.inet.carp.log=3", "kernel.nope")  # OpenBSD exits 0
    assert (r.rc, r.out, r.err) == (nope.rc, "", nope.err)
    assert procps_sysctl == []  # children, never an exec


def test_listing_is_the_bsd_tree_then_procps(sysctl, procps_sysctl: list[list[str]]) -> None:
    r = sysctl("freebsd", "-aN")
    bsd = [n.name for n in mib.listing(policy("freebsd")) if n.kind != "struct"]
    assert r.out.splitlines()[: len(bsd)] == bsd
    assert r.out.splitlines()[len(bsd):] == procps_says("-aN").out.splitlines()
    assert procps_sysctl == [["sysctl", "-a", "-N"]]
    sysctl("openbsd")  # OpenBSD: no argument means -a
    assert procps_sysctl[-1] == ["sysctl", "-a"]
    sysctl("netbsd", "-an")
    assert procps_sysctl[-1] == ["sysctl", "-a", "-n"]
    r = sysctl("freebsd", "-ad")  # descriptions: procps has none (its -d is --help)
    assert r.out.count("\n") == len(bsd) and len(procps_sysctl) == 3


def test_without_procps_linux_names_are_a_clear_error(sysctl) -> None:
    missing = f"sysctl: procps sysctl(8) is not installed ({NO_PROCPS}): "
    for args in (("-p",), ("net.ipv4.ip_forward",), ("--system",)):
        r = sysctl("freebsd", *args)
        assert (r.rc, r.out, r.err) == (1, "", missing + "Linux names and options need it\n")
    r = sysctl("openbsd", "-a")
    assert (r.rc, r.out) == (1, "net.inet.ip.forwarding=0\n" + LISTINGS["openbsd"]
                             + "net.inet6.ip6.forwarding=0\n")
    assert r.err.startswith(missing)
    r = sysctl("freebsd", "net.inet.carp.log=3", "kernel.hostname=x")
    assert (r.rc, r.out) == (1, "net.inet.carp.log: 1 -> 3\n")
    assert r.err == f"sysctl: kernel.hostname: {missing[8:]}Linux names and options need it\n"


def test_never_execs_itself(sysctl, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Our own launcher where procps should be (PREFIX=/usr, or a symlink to ours) is
    passed over: a script is never procps."""
    link = tmp_path / "sysctl"
    link.symlink_to(ROOT / "bin" / "sysctl")
    monkeypatch.setenv(procps.PATH_ENV, f"{ROOT / 'bin' / 'sysctl'}:{link}")
    assert procps.find() is None
    r = sysctl("openbsd", "kernel.ostype")
    assert r.rc == 1 and "not installed" in r.err
    real = shutil.which("sysctl", path="/usr/sbin:/sbin")
    if real is not None:
        monkeypatch.setenv(procps.PATH_ENV, f"{link}:{real}")
        assert procps.find() == real


def test_bsd_file_is_ours_only_when_it_names_a_bsd_node(
    sysctl, procps_sysctl: list[list[str]], tmp_path: Path
) -> None:
    linux_conf = tmp_path / "linux.conf"
    linux_conf.write_text("kernel.nope = 1\n")
    r = sysctl("freebsd", "-f", str(linux_conf))
    assert astuple(r) == astuple(procps_says("-f", str(linux_conf)))
    assert procps_sysctl == [["sysctl", "-f", str(linux_conf)]]
    bsd_conf = tmp_path / "bsd.conf"
    bsd_conf.write_text("# carp\nnet.inet.carp.log: 3\n")
    r = sysctl("freebsd", "-qf", str(bsd_conf))
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert len(procps_sysctl) == 1


def test_names_bsd_node() -> None:
    assert cli.names_bsd_node(["-n", "net.inet.carp.preempt"])
    assert cli.names_bsd_node(["net.inet6.ip6.forwarding=1"])
    assert not cli.names_bsd_node(["-p", "net.ipv4.ip_forward", "kernel.ostype=x"])
    assert not cli.names_bsd_node(["net.inetx.y", "net", "-a", "--system"])


def test_mapped_bsd_names(sysctl, proc: Path) -> None:
    r = sysctl("openbsd", "net.inet.ip.forwarding=1")
    assert r.out == "net.inet.ip.forwarding: 0 -> 1\n"
    assert (proc / "net/ipv4/ip_forward").read_text() == "1"
    r = sysctl("freebsd", "net.inet6.ip6.forwarding=1")
    assert r.out == "net.inet6.ip6.forwarding: 0 -> 1\n"
    assert (proc / "net/ipv6/conf/all/forwarding").read_text() == "1"
    assert sysctl("netbsd", "net.inet.ip.forwarding").out == "net.inet.ip.forwarding = 1\n"
    assert sysctl("freebsd", "net.inet.ip.forwarding=yes").err == (
        "sysctl: invalid integer 'yes'\n")
    assert mib.LINUX_MAPPED == {
        "net.inet.ip.forwarding": "net.ipv4.ip_forward",
        "net.inet6.ip6.forwarding": "net.ipv6.conf.all.forwarding",
    }


def test_mapped_name_refused_by_linux(sysctl, monkeypatch: pytest.MonkeyPatch) -> None:
    def einval(name: str, value: str, root: str | None = None) -> None:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    monkeypatch.setattr(linux, "write", einval)
    r = sysctl("freebsd", "net.inet.ip.forwarding=5")
    assert (r.rc, r.out, r.err) == (
        1, "net.inet.ip.forwarding: 0\n", "sysctl: net.inet.ip.forwarding=5: Invalid argument\n")


# -- personality switch and module entry ----------------------------------------------


def test_set_personality(env: Path, sysctl) -> None:
    sysctl("freebsd", "net.inet.carp.dscp=10", "net.inet.carp.preempt=1")
    st = Store(env / "freebsd")
    with pytest.raises(UnknownPersonality, match="must be one of openbsd, freebsd, netbsd"):
        set_personality(st, "solaris")
    set_personality(st, "NetBSD")
    state = st.load()
    assert state.personality == "netbsd"
    assert state.sysctl == {"net.inet.carp.preempt": 1}  # dscp has no NetBSD node
    r = sysctl("freebsd", "net.inet.carp.preempt")  # the store wins over the environment
    assert r.out == "net.inet.carp.preempt = 1\n"


def test_defaults_table_is_complete() -> None:
    assert all(mib.defaults(policy(p)) for p in ALL)
    assert mib.defaults(policy("openbsd"))["net.inet.carp.log"] == 2
    assert mib.defaults(policy("freebsd"))["net.inet.carp.log"] == 1
    assert mib.defaults(policy("netbsd"))["net.inet.carp.log"] == 0
    assert mib.defaults(policy("freebsd"))["net.inet.carp.dscp"] == 56
    assert "net.inet.carp.stats" not in mib.defaults(policy("openbsd"))


def test_python_m_entry_point(env: Path, proc: Path) -> None:
    child_env = dict(os.environ, CARP_RUNDIR=str(env), CARP_PERSONALITY="netbsd",
                     PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "sysctl.cli", "net.inet.carp.log"],
                       capture_output=True, text=True, env=child_env, cwd=ROOT, check=False)
    assert (r.returncode, r.stdout) == (0, "net.inet.carp.log = 0\n")


def test_mapped_name_without_linux_side(sysctl, proc: Path) -> None:
    (proc / "net/ipv6/conf/all/forwarding").unlink()
    assert sysctl("freebsd", "net.inet6.ip6.forwarding").err == (
        "sysctl: unknown oid 'net.inet6.ip6.forwarding'\n")
    assert "net.inet6" not in sysctl("openbsd", "-a").out
