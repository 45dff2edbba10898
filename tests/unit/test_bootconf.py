"""carp.bootconf: BSD boot files -> ifconfig/sysctl steps, and their in-process replay."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path

import pytest

from carp import bootconf
from carp.bootconf import Step, plan, replay, translate_openbsd
from carp.store import Store

AUTOMATIC = bootconf.AUTOMATIC


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def runnable(steps: list[Step]) -> list[tuple[str, list[str], str]]:
    return [(s.kind, s.argv, s.source) for s in steps if not s.skip]


# -- translation of the OpenBSD hostname.if line forms -----------------------------------


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        ("inet 192.168.1.1 255.255.255.0 NONE vhid 1 carpdev em0 pass mekmitasdigoat",
         "inet 192.168.1.1 netmask 255.255.255.0 vhid 1 carpdev em0 pass mekmitasdigoat"),
        ("inet 192.168.1.1 255.255.255.0 192.168.1.255 vhid 1 carpdev em0 advskew 100 pass s",
         "inet 192.168.1.1 netmask 255.255.255.0 broadcast 192.168.1.255 vhid 1 carpdev em0 "
         "advskew 100 pass s"),
        ("inet 10.0.0.10 255.255.255.0 NONE -inet6 carpdev bge0 advskew 50 carppeer 10.0.0.2 "
         "pass s vhid 1",
         "inet 10.0.0.10 netmask 255.255.255.0 -inet6 carpdev bge0 advskew 50 carppeer "
         "10.0.0.2 pass s vhid 1"),
        ("inet 192.168.1.1 0xffffff00 NONE", "inet 192.168.1.1 netmask 0xffffff00"),
        ("inet 192.168.1.1 NONE NONE vhid 1", "inet 192.168.1.1 vhid 1"),
        ("inet alias 192.168.1.5 255.255.255.255 NONE",
         "inet alias 192.168.1.5 netmask 255.255.255.255"),
        ("inet 192.168.1.1/24", "inet 192.168.1.1/24"),
        ("inet 192.168.1.1/24 NONE vhid 1", "inet 192.168.1.1/24 vhid 1"),
        ("inet 192.168.1.1 vhid 1", "inet 192.168.1.1 vhid 1"),
        ("inet6 2001:db8::1 64", "inet6 2001:db8::1 prefixlen 64"),
        ("inet6 2001:db8::1 64 vhid 1", "inet6 2001:db8::1 prefixlen 64 vhid 1"),
        ("inet6 2001:db8::1/64", "inet6 2001:db8::1/64"),
        ("vhid 1 carpdev em0 pass secret", "vhid 1 carpdev em0 pass secret"),
        ("up", "up"),
        ("inet", "inet"),
    ],
)
def test_translate_openbsd(line: str, argv: str) -> None:
    assert translate_openbsd(line.split()) == argv.split()


# -- OpenBSD ----------------------------------------------------------------------------


def test_openbsd_hostname_files(tmp_path: Path) -> None:
    write(tmp_path, "etc/hostname.carp0", (
        "# carp0: the shared address\n"
        "\n"
        "inet 192.168.1.1 255.255.255.0 NONE vhid 1 carpdev em0 pass mekmitasdigoat\n"
        "inet6 2001:db8::1 64   # and its IPv6 twin\n"
        "up\n"
    ))
    write(tmp_path, "etc/hostname.carp1",
          "inet 10.0.0.10 255.255.255.0 NONE -inet6 carpdev bge0 advskew 50 "
          "carppeer 10.0.0.2 pass s vhid 1\n")
    write(tmp_path, "etc/hostname.em0", "inet 192.168.1.2 255.255.255.0 NONE\nup\n")
    steps = plan(tmp_path)
    assert runnable(steps) == [
        ("ifconfig", ["carp0", "create"], "/etc/hostname.carp0:0"),
        ("ifconfig", ["carp1", "create"], "/etc/hostname.carp1:0"),
        # physical first, as netstart configures them before the pseudo-interfaces
        ("ifconfig", ["em0", "inet", "192.168.1.2", "netmask", "255.255.255.0"],
         "/etc/hostname.em0:1"),
        ("ifconfig", ["em0", "up"], "/etc/hostname.em0:2"),
        ("ifconfig", ["carp0", "inet", "192.168.1.1", "netmask", "255.255.255.0", "vhid", "1",
                      "carpdev", "em0", "pass", "mekmitasdigoat"], "/etc/hostname.carp0:3"),
        ("ifconfig", ["carp0", "inet6", "2001:db8::1", "prefixlen", "64"],
         "/etc/hostname.carp0:4"),
        ("ifconfig", ["carp0", "up"], "/etc/hostname.carp0:5"),
        ("ifconfig", ["carp1", "inet", "10.0.0.10", "netmask", "255.255.255.0", "-inet6",
                      "carpdev", "bge0", "advskew", "50", "carppeer", "10.0.0.2", "pass", "s",
                      "vhid", "1"], "/etc/hostname.carp1:1"),
    ]
    assert [s for s in steps if s.skip] == []  # the physical interface's lines replay too


def test_automatic_addresses_are_linux_s(tmp_path: Path) -> None:
    write(tmp_path, "etc/hostname.em0", "dhcp\ninet6 autoconf\nmtu 9000\n")
    write(tmp_path, "etc/rc.conf",
          'ifconfig_em1="SYNCDHCP"\nifconfig_em1_ipv6="inet6 accept_rtadv"\n')
    assert [(s.argv, s.skip) for s in plan(tmp_path)] == [
        (["em0", "dhcp"], AUTOMATIC),
        (["em0", "inet6", "autoconf"], AUTOMATIC),
        (["em0", "mtu", "9000"], None),
        (["em1", "SYNCDHCP"], AUTOMATIC),
        (["em1", "inet6", "accept_rtadv"], AUTOMATIC),
    ]


def test_openbsd_vhid_on_physical_and_shell_lines(tmp_path: Path) -> None:
    write(tmp_path, "etc/hostname.em1", (
        "inet 192.168.2.2 255.255.255.0 NONE\n"
        "vhid 2 advskew 100 pass 'two words' alias 192.168.2.50/32\n"
        "!echo configured em1\n"
    ))
    steps = plan(tmp_path)
    assert [(s.argv, s.skip) for s in steps] == [
        (["em1", "inet", "192.168.2.2", "netmask", "255.255.255.0"], None),
        (["em1", "vhid", "2", "advskew", "100", "pass", "two words", "alias",
          "192.168.2.50/32"], None),
        (["em1", "!echo", "configured", "em1"], bootconf.SHELL),
    ]


def test_hostname_files_that_are_not_interfaces_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "etc/hostname", "linuxbox\n")  # Linux's own /etc/hostname
    write(tmp_path, "etc/hostname.carp0.orig", "vhid 9\n")
    write(tmp_path, "etc/hostname.carp0~", "vhid 9\n")
    assert plan(tmp_path) == []


def test_comment_rules(tmp_path: Path) -> None:
    write(tmp_path, "etc/hostname.carp0", (
        "   # indented comment\n"
        "vhid 1 carpdev em0 pass se#cret # trailing comment\n"
        "pass \"quoted # not a comment\"\n"
    ))
    assert [s.argv for s in plan(tmp_path)][1:] == [
        ["carp0", "vhid", "1", "carpdev", "em0", "pass", "se#cret"],
        ["carp0", "pass", "quoted # not a comment"],
    ]


# -- FreeBSD ----------------------------------------------------------------------------


def test_freebsd_rc_conf(tmp_path: Path) -> None:
    write(tmp_path, "etc/rc.conf", (
        "hostname=\"fw1.example.org\"\n"
        "# carp, FreeBSD 10+ style\n"
        "ifconfig_em0=\"inet 192.168.1.20/24\"\n"
        "ifconfig_em0_alias0=\"inet vhid 1 pass testpass alias 192.168.1.50/32\"\n"
        "ifconfig_em0_alias1='inet vhid 2 advskew 100 pass \"two words\" alias 192.168.1.51/32'"
        "   # backup for vhid 2\n"
        "ifconfig_em0_alias2=\"inet 192.168.1.21/24\"\n"
        "ifconfig_em1=\"DHCP\"\n"
        "sshd_enable=YES\n"
    ))
    steps = plan(tmp_path)
    assert [(s.argv, s.source, s.skip) for s in steps] == [
        (["em0", "inet", "192.168.1.20/24"], "/etc/rc.conf:3", None),
        (["em0", "inet", "vhid", "1", "pass", "testpass", "alias", "192.168.1.50/32"],
         "/etc/rc.conf:4", None),
        # rc runs `ifconfig em0 $value`: sh splits the value but keeps inner quotes
        (["em0", "inet", "vhid", "2", "advskew", "100", "pass", '"two', 'words"', "alias",
          "192.168.1.51/32"], "/etc/rc.conf:5", None),
        (["em0", "inet", "192.168.1.21/24", "alias"], "/etc/rc.conf:6", None),
        (["em1", "DHCP"], "/etc/rc.conf:7", AUTOMATIC),
    ]


def test_freebsd_quoting_forms(tmp_path: Path) -> None:
    write(tmp_path, "etc/rc.conf", (
        "ifconfig_em0_alias0='inet vhid 1 pass x alias 10.0.0.1/32'\n"
        "ifconfig_em0_alias1=\"inet vhid 2 pass y#z alias 10.0.0.2/32\" # comment\n"
        "ifconfig_em0_alias2=inet\\ vhid\\ 3\\ alias\\ 10.0.0.3/32\n"
        "  ifconfig_em0_alias3=\"inet  vhid 4   alias 10.0.0.4/32\"\n"
        "#ifconfig_em0_alias4=\"inet vhid 5 alias 10.0.0.5/32\"\n"
    ))
    assert [s.argv for s in plan(tmp_path)] == [
        ["em0", "inet", "vhid", "1", "pass", "x", "alias", "10.0.0.1/32"],
        ["em0", "inet", "vhid", "2", "pass", "y#z", "alias", "10.0.0.2/32"],
        ["em0", "inet", "vhid", "3", "alias", "10.0.0.3/32"],
        ["em0", "inet", "vhid", "4", "alias", "10.0.0.4/32"],
    ]


def test_freebsd_legacy_and_overrides(tmp_path: Path) -> None:
    write(tmp_path, "etc/rc.conf", (
        "cloned_interfaces=\"carp0 lagg0\"\n"
        "ifconfig_carp0=\"vhid 1 pass testpass 192.168.1.50/24\"\n"
        "ifconfig_em0_alias0=\"inet vhid 1 pass testpass alias 192.168.1.50/32\"\n"
        "ifconfig_em0_alias0=\"inet vhid 1 advskew 100 pass testpass alias 192.168.1.50/32\"\n"
        "ifconfig_em0_alias2=\"inet vhid 3 pass x alias 192.168.1.52/32\"\n"
    ))
    write(tmp_path, "etc/rc.conf.local", "ifconfig_carp0=\"vhid 1 advskew 100 pass testpass "
          "192.168.1.50/24\"\n")
    steps = plan(tmp_path)
    assert [(s.argv, s.source, s.skip) for s in steps] == [
        (["carp0", "create"], "/etc/rc.conf:1", None),
        (["lagg0", "create"], "/etc/rc.conf:1", "not a carp interface"),
        # the later assignment of the same variable wins, as when sh sources the file
        (["em0", "inet", "vhid", "1", "advskew", "100", "pass", "testpass", "alias",
          "192.168.1.50/32"], "/etc/rc.conf:4", None),
        (["em0", "inet", "vhid", "3", "pass", "x", "alias", "192.168.1.52/32"],
         "/etc/rc.conf:5", "ifconfig_em0_alias1 is missing"),
        (["carp0", "vhid", "1", "advskew", "100", "pass", "testpass", "192.168.1.50/24"],
         "/etc/rc.conf.local:1", None),
    ]


# -- NetBSD -----------------------------------------------------------------------------


def test_netbsd_ifconfig_files(tmp_path: Path) -> None:
    write(tmp_path, "etc/ifconfig.carp0", (
        "create\n"
        "vhid 1 carpdev wm0 pass mekmitasdigoat\n"
        "inet 192.168.1.1 netmask 255.255.255.0\n"
    ))
    write(tmp_path, "etc/ifconfig.carp1", "# no create line: rc.d/network creates it\n"
          "vhid 2 advskew 100 pass mekmitasdigoat 192.168.2.1/24 netmask 255.255.255.0\n"
          "up\n")
    write(tmp_path, "etc/ifconfig.wm0", "inet 192.168.1.2 netmask 255.255.255.0\n")
    steps = plan(tmp_path)
    assert [(s.argv, s.source, s.skip) for s in steps] == [
        (["carp0", "create"], "/etc/ifconfig.carp0:1", None),
        (["carp1", "create"], "/etc/ifconfig.carp1:0", None),
        (["wm0", "inet", "192.168.1.2", "netmask", "255.255.255.0"], "/etc/ifconfig.wm0:1",
         None),
        (["carp0", "vhid", "1", "carpdev", "wm0", "pass", "mekmitasdigoat"],
         "/etc/ifconfig.carp0:2", None),
        # NetBSD lines are ifconfig arguments already: no netstart translation
        (["carp0", "inet", "192.168.1.1", "netmask", "255.255.255.0"],
         "/etc/ifconfig.carp0:3", None),
        (["carp1", "vhid", "2", "advskew", "100", "pass", "mekmitasdigoat", "192.168.2.1/24",
          "netmask", "255.255.255.0"], "/etc/ifconfig.carp1:2", None),
        (["carp1", "up"], "/etc/ifconfig.carp1:3", None),
    ]


# -- sysctl.conf and the whole plan -------------------------------------------------------


def test_sysctl_conf_only_carp_lines(tmp_path: Path) -> None:
    write(tmp_path, "etc/sysctl.conf", (
        "# Linux and BSD settings side by side\n"
        "net.ipv4.ip_forward = 1\n"
        "net.inet.ip.forwarding=1\n"
        "net.inet.carp.preempt=1   # fail over as a group\n"
        "  net.inet.carp.log = 7\n"
        "net.inet.carp.allow=\"1\"\n"
        "#net.inet.carp.arpbalance=1\n"
        "kernel.panic=10\n"
    ))
    assert runnable(plan(tmp_path)) == [
        ("sysctl", ["net.inet.carp.preempt=1"], "/etc/sysctl.conf:4"),
        ("sysctl", ["net.inet.carp.log=7"], "/etc/sysctl.conf:5"),
        ("sysctl", ["net.inet.carp.allow=1"], "/etc/sysctl.conf:6"),
    ]


def test_plan_order_sysctl_creates_physical_carp(tmp_path: Path) -> None:
    write(tmp_path, "etc/sysctl.conf", "net.inet.carp.preempt=1\n")
    write(tmp_path, "etc/hostname.carp10", "vhid 10 carpdev em0\n")
    write(tmp_path, "etc/hostname.carp2", "vhid 2 carpdev em0\n")
    write(tmp_path, "etc/hostname.em0", "inet 192.168.1.2 255.255.255.0 NONE\n")
    assert [str(s) for s in plan(tmp_path)] == [
        "/etc/sysctl.conf:1: sysctl net.inet.carp.preempt=1",
        "/etc/hostname.carp2:0: ifconfig carp2 create",
        "/etc/hostname.carp10:0: ifconfig carp10 create",
        "/etc/hostname.em0:1: ifconfig em0 inet 192.168.1.2 netmask 255.255.255.0",
        "/etc/hostname.carp2:1: ifconfig carp2 vhid 2 carpdev em0",
        "/etc/hostname.carp10:1: ifconfig carp10 vhid 10 carpdev em0",
    ]


def test_empty_root(tmp_path: Path) -> None:
    assert plan(tmp_path) == []


# -- replay -----------------------------------------------------------------------------


@pytest.fixture
def fake_clis(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """Stand-ins for the two front ends, recording what they were asked to run."""
    calls: list[tuple[str, list[str]]] = []

    def ifconfig_run(argv: list[str], *, stdout: io.StringIO, stderr: io.StringIO,
                     store: Store) -> int:
        calls.append(("ifconfig", argv))
        if "300" in argv:
            stderr.write("ifconfig: vhid 300: too large\n")
            return 1
        if "boom" in argv:
            raise RuntimeError("boom")
        if "exit" in argv:
            raise SystemExit(2)
        stdout.write(f"ok {' '.join(argv)}\n")
        return 0

    def run_sysctl(argv: list[str], stdout: io.StringIO, stderr: io.StringIO) -> int:
        calls.append(("sysctl", argv))
        stdout.write(f"{argv[0].split('=')[0]}: 0 -> 1\n")
        return 0

    ifconfig_pkg = types.ModuleType("carp.ifconfig.cli")
    ifconfig_pkg.run = ifconfig_run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "carp.ifconfig.cli", ifconfig_pkg)
    monkeypatch.setattr(bootconf, "_run_sysctl", run_sysctl)
    import carp.ifconfig

    monkeypatch.setattr(carp.ifconfig, "cli", ifconfig_pkg, raising=False)
    return calls


def test_sysctl_lines_run_the_sysctl_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real front end, as a program: its output, its status and its write."""
    from carp.store import Store

    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path))
    monkeypatch.setenv("CARP_PERSONALITY", "openbsd")
    out, err = io.StringIO(), io.StringIO()
    assert bootconf._run_sysctl(["net.inet.carp.preempt=1"], out, err) == 0
    assert out.getvalue() == "net.inet.carp.preempt: 0 -> 1\n" and err.getvalue() == ""
    assert Store(tmp_path).load().sysctl["net.inet.carp.preempt"] == 1
    bootconf._run_sysctl(["net.inet.carp.nosuch=1"], out, err)  # OpenBSD's sysctl exits 0
    assert err.getvalue() == "sysctl: fourth level name nosuch in net.inet.carp.nosuch is invalid\n"


def test_the_sysctl_program_runs_under_a_bare_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in an installed copy: the interpreter's own path holds no carp or sysctl."""
    bare = getattr(sys, "_base_executable", sys.executable)
    monkeypatch.setattr(sys, "executable", bare)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    assert bootconf._run_sysctl(["net.inet.carp.preempt=1"], out, err) == 0, err.getvalue()
    assert out.getvalue().endswith("1\n")


def test_replay_runs_counts_and_reports(
    fake_clis: list[tuple[str, list[str]]], tmp_path: Path
) -> None:
    steps = [
        Step("sysctl", ["net.inet.carp.preempt=1"], "/etc/sysctl.conf:1"),
        Step("ifconfig", ["carp0", "create"], "/etc/hostname.carp0:0"),
        Step("ifconfig", ["carp0", "vhid", "300"], "/etc/hostname.carp0:1"),
        Step("ifconfig", ["em0", "DHCP"], "/etc/rc.conf:3", AUTOMATIC),
        Step("ifconfig", ["carp0", "boom"], "/etc/hostname.carp0:2"),
        Step("ifconfig", ["carp0", "exit"], "/etc/hostname.carp0:3"),
        Step("ifconfig", ["carp0", "up"], "/etc/hostname.carp0:4"),
    ]
    out, err = io.StringIO(), io.StringIO()
    assert replay(steps, stdout=out, stderr=err, store=Store(tmp_path)) == 3
    # skipped steps are shown, never run
    assert fake_clis == [
        ("sysctl", ["net.inet.carp.preempt=1"]),
        ("ifconfig", ["carp0", "create"]),
        ("ifconfig", ["carp0", "vhid", "300"]),
        ("ifconfig", ["carp0", "boom"]),
        ("ifconfig", ["carp0", "exit"]),
        ("ifconfig", ["carp0", "up"]),
    ]
    assert out.getvalue().splitlines() == [
        "net.inet.carp.preempt: 0 -> 1",
        "ok carp0 create",
        f"/etc/rc.conf:3: ifconfig em0 DHCP  (skipped: {AUTOMATIC})",
        "ok carp0 up",
    ]
    assert err.getvalue().splitlines() == [
        "/etc/hostname.carp0:1: ifconfig: vhid 300: too large",
        "/etc/hostname.carp0:2: ifconfig: RuntimeError: boom",
        "/etc/hostname.carp0:3: ifconfig carp0 exit: exit status 2",
    ]


def test_replay_of_nothing(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert replay([], stdout=out, stderr=err, store=Store(tmp_path)) == 0
    assert out.getvalue() == err.getvalue() == ""
