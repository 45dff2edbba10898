"""Every error text and exit status, per personality, and the show-path contract."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from ifconfig_support import Host

from carp.ifconfig import render
from carp.personality import policy

U = "usage"  # expected stderr is the personality's usage text

SETUP: dict[str, list[str]] = {
    "openbsd": ["carp0 vhid 1 carpdev em0 192.168.1.10/24"],
    "freebsd": ["carp0 create", "carp0 vhid 1 192.168.1.10/24", "em1 vhid 2 192.168.2.1/24"],
    "netbsd": ["carp0 create", "carp0 vhid 1 carpdev em0 192.168.1.10/24"],
}

CASES: list[tuple[str, str, str]] = [
    # OpenBSD: strtonum, NEXTARG, addresses, kernel EINVAL, cloning, group demotion
    ("openbsd", "carp0 vhid 256", "ifconfig: vhid 256: too large\n"),
    ("openbsd", "carp0 vhid 0", "ifconfig: vhid 0: too small\n"),
    ("openbsd", "carp0 vhid abc", "ifconfig: vhid abc: invalid\n"),
    ("openbsd", "carp0 vhid 1x", "ifconfig: vhid 1x: invalid\n"),
    ("openbsd", "carp0 advskew 255", "ifconfig: advskew 255: too large\n"),
    ("openbsd", "carp0 advskew -1", "ifconfig: advskew -1: too small\n"),
    ("openbsd", "carp0 advbase 255", "ifconfig: advbase 255: too large\n"),
    ("openbsd", "carp0 advskew", "ifconfig: 'advskew' requires argument\n"),
    ("openbsd", "carp0 vhid", "ifconfig: 'vhid' requires argument\n"),
    ("openbsd", "carp0 bogus", "ifconfig: bogus: bad value\n"),
    ("openbsd", "carp0 192.168.1.1 192.168.1.2 bogus", "ifconfig: bogus: bad value\n"),
    ("openbsd", "carp0 192.168.1.1/33", "ifconfig: 192.168.1.1/33: bad value\n"),
    ("openbsd", "carp0 2001:db8::1", "ifconfig: 2001:db8::1: bad value\n"),
    ("openbsd", "carp0 -carpdev", "ifconfig: -carpdev: bad value\n"),
    ("openbsd", "carp0 -vhid", "ifconfig: -vhid: bad value\n"),
    (
        "openbsd",
        "carp0 192.168.1.1 netmask 255.0.255.0",
        "ifconfig: 255.0.255.0: non-contiguous mask\n",
    ),
    ("openbsd", "carp0 192.168.1.1 netmask bogus", "ifconfig: bogus: bad value\n"),
    ("openbsd", "carp0 192.168.1.1 prefixlen 33", "ifconfig: prefix 33: too large\n"),
    ("openbsd", "carp0 carpdev nosuch0", "ifconfig: carp0: SIOCSVH: Invalid argument\n"),
    ("openbsd", "carp0 carpdev carp1", "ifconfig: carp0: SIOCSVH: Invalid argument\n"),
    ("openbsd", "carp1 vhid 1 carpdev em0", "ifconfig: carp1: SIOCSVH: Invalid argument\n"),
    (
        "openbsd",
        "carp1 carpdev em0 carpnodes 2:0,1:0",
        "ifconfig: carp1: SIOCSVH: Invalid argument\n",
    ),
    ("openbsd", "carp0 carpnodes 1:0,1:5", "ifconfig: carp0: SIOCSVH: Invalid argument\n"),
    ("openbsd", "carp0 carpnodes 1:0,x", "ifconfig: non parsable arg: x\n"),
    ("openbsd", "carp0 carpnodes 256:0", "ifconfig: vhid 256: value too large\n"),
    ("openbsd", "carp0 carpnodes 1:255", "ifconfig: advskew 255: value too large\n"),
    (
        "openbsd",
        "carp0 carpnodes " + ",".join(f"{i}:0" for i in range(1, 34)),
        "ifconfig: too many carp nodes\n",
    ),
    ("openbsd", "carp0 balancing foo", "ifconfig: balancing foo: unknown mode\n"),
    (
        "openbsd",
        "carp0 carppeer 2001:db8::1",
        "ifconfig: only IPv4 addresses supported for the carppeer\n",
    ),
    ("openbsd", "carp0 group lan0", "ifconfig: setifgroup: group names may not end in a digit\n"),
    ("openbsd", "carp0 -group lan", "ifconfig: SIOCDIFGROUP: No such file or directory\n"),
    ("openbsd", "carp0 create", "ifconfig: carp0: SIOCIFCREATE: File exists\n"),
    ("openbsd", "carp5 destroy", "ifconfig: carp5: SIOCIFDESTROY: Device not configured\n"),
    ("openbsd", "em0 create", "ifconfig: em0: SIOCIFCREATE: Invalid argument\n"),
    (
        "openbsd",
        "carp0 192.168.1.99 -alias",
        "ifconfig: SIOCDIFADDR: Can't assign requested address\n",
    ),
    ("openbsd", "carp9", "carp9: no such interface\n"),
    ("openbsd", "nosuch0 vhid 1", "nosuch0: no such interface\n"),
    ("openbsd", "-l", U),
    ("openbsd", "-k carp0", U),
    ("openbsd", "-g carp bogus", U),
    ("openbsd", "-g carp carpdemote 1 2", U),
    ("openbsd", "-g carp carpdemote 129", "ifconfig: carp: invalid carp demotion: too large\n"),
    ("openbsd", "-g carp carpdemote x", "ifconfig: carp: invalid carp demotion: invalid\n"),
    ("openbsd", "-g", U),
    ("openbsd", "-a carp0", U),
    # FreeBSD 10+ vhids on a physical interface; legacy carpN
    ("freebsd", "em0 vhid 0", "ifconfig: vhid must be greater than 0 and less than 255\n"),
    ("freebsd", "em0 vhid 256", "ifconfig: vhid must be greater than 0 and less than 255\n"),
    ("freebsd", "em0 vhid abc", "ifconfig: vhid must be greater than 0 and less than 255\n"),
    ("freebsd", "em0 advskew 100", "ifconfig: advskew requires vhid\n"),
    ("freebsd", "em0 advbase 2 vhid 1", "ifconfig: advbase requires vhid\n"),
    ("freebsd", "em0 pass x", "ifconfig: passwd requires vhid\n"),
    ("freebsd", "em0 state master", "ifconfig: state requires vhid\n"),
    ("freebsd", "em0 carpver 3", "ifconfig: version requires vhid\n"),
    ("freebsd", "em0 vrrpprio 3", "ifconfig: vrrpprio requires vhid\n"),
    ("freebsd", "em0 vhid 1 state foo", "ifconfig: unknown state\n"),
    ("freebsd", "em0 vhid 1 advskew 255", "ifconfig: SIOCSVH: Invalid argument\n"),
    ("freebsd", "em0 vhid 1 advbase 256", "ifconfig: SIOCSVH: Invalid argument\n"),
    ("freebsd", "em0 vhid 1 carpver 4", "ifconfig: SIOCSVH: Invalid argument\n"),
    ("freebsd", "em0 vhid 1 vrrpinterval 4096", "ifconfig: SIOCSVH: Invalid argument\n"),
    ("freebsd", "em0 vhid 1 peer6 bogus", "ifconfig: Invalid IPv6 address bogus\n"),
    ("freebsd", "em0 vhid 1 carpdev em1", "ifconfig: carpdev: bad value\n"),
    ("freebsd", "em0 vhid", "ifconfig: 'vhid' requires argument\n"),
    (
        "freebsd",
        "em0 vhid 3 192.168.1.1/33",
        "ifconfig: 192.168.1.1/33: bad value (width too large)\n",
    ),
    ("freebsd", "em0 vhid 3 192.168.1.1/x", "ifconfig: 192.168.1.1/x: bad value (width invalid)\n"),
    ("freebsd", "em0 vhid 3 192.168.1.300/24", "ifconfig: 192.168.1.300: bad value\n"),
    (
        "freebsd",
        "em0 vhid 3 192.168.1.1 -alias",
        "ifconfig: ioctl (SIOCDIFADDR): Can't assign requested address\n",
    ),
    ("freebsd", "em0 vhid 1 192.168.1.1/24", "ifconfig: SIOCSVH: Invalid argument\n"),
    ("freebsd", "em0 create", "ifconfig: SIOCIFCREATE2: Invalid argument\n"),
    ("freebsd", "nosuch0 vhid 1", "ifconfig: interface nosuch0 does not exist\n"),
    ("freebsd", "carp7 vhid 7", "ifconfig: interface carp7 does not exist\n"),
    ("freebsd", "carp7 destroy", "ifconfig: interface carp7 does not exist\n"),
    ("freebsd", "carp9", "ifconfig: interface carp9 does not exist\n"),
    ("freebsd", "carp0 create", "ifconfig: SIOCIFCREATE2: File exists\n"),
    ("freebsd", "carp0 vhid 0", "ifconfig: vhid must be greater than 0\n"),
    ("freebsd", "carp0 vhid 256", "ifconfig: SIOCSVH: Invalid argument\n"),
    ("freebsd", "carp0 advskew 255", "ifconfig: SIOCSVH: Invalid argument\n"),
    ("freebsd", "carp0 state foo", "ifconfig: unknown state\n"),
    ("freebsd", "carp0 192.168.1.1 prefixlen 40", "ifconfig: 40: bad value\n"),
    ("freebsd", "-A", U),
    # NetBSD: the table parser knows only usage; the kernel says EINVAL
    ("netbsd", "carp0 state master", U),
    ("netbsd", "carp0 state", U),
    ("netbsd", "carp0 vhid 256", U),
    ("netbsd", "carp0 advskew 255", U),
    ("netbsd", "carp0 advbase abc", U),
    ("netbsd", "carp0 bogus", U),
    ("netbsd", "carp0 192.168.1.1 netmask 255.0.255.0", U),
    ("netbsd", "carp0 balancing foo", U),
    ("netbsd", "carp0 carpdev nosuch0", "ifconfig: SIOCSVH: Invalid argument\n"),
    ("netbsd", "carp0 create", "ifconfig: SIOCIFCREATE: File exists\n"),
    ("netbsd", "carp5 destroy", "ifconfig: SIOCIFDESTROY: Device not configured\n"),
    ("netbsd", "carp5 vhid 5", "ifconfig: SIOCGIFFLAGS carp5: Device not configured\n"),
    ("netbsd", "carp9", "ifconfig: SIOCGIFFLAGS carp9: Device not configured\n"),
    ("netbsd", "", U),
    ("netbsd", "-g carp", U),
    ("netbsd", "-k carp0", U),
]


@pytest.mark.parametrize(
    ("personality", "command", "expected"),
    CASES,
    ids=[f"{p}:{c}"[:60] for p, c, _ in CASES],
)
def test_error(tmp_path: Path, personality: str, command: str, expected: str) -> None:
    h = Host(tmp_path / "run", personality)
    for line in SETUP[personality]:
        r = h(*line.split())
        assert r.code == 0, (line, r.err)
    before = h.raw()
    r = h(*command.split())
    assert r.err == (policy(personality).ifconfig_usage if expected is U else expected)
    assert r.code == 1
    assert r.out == ""
    assert h.raw() == before


@pytest.mark.parametrize(
    ("personality", "command"),
    [
        ("openbsd", "carp0 state foo"),  # silently ignored
        ("openbsd", "carp0 state init"),
        ("openbsd", "carp0 lladdr bogus"),  # a warning, not an error
        ("netbsd", "carp0 vhid 0"),  # accepted by the parser, ignored by the kernel
        ("netbsd", "carp0 state INIT"),
        ("freebsd", "em0 192.168.1.77/24 alias"),  # not a carp address: Linux's business
        ("freebsd", "em0 up"),
    ],
)
def test_quietly_accepted(tmp_path: Path, personality: str, command: str) -> None:
    h = Host(tmp_path / "run", personality)
    for line in SETUP[personality]:
        assert h(*line.split()).code == 0
    before = h.state.interfaces
    r = h(*command.split())
    assert r.code == 0
    assert r.err in ("", "ifconfig: malformed link-level address\n")
    assert h.state.interfaces == before


# -- the show path: hands over to render, maps None to the personality's error ----------


class Recorder:
    def __init__(self, result: str | None = "shown\n") -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.result = result

    def make(self, fname: str) -> Any:
        def fn(*args: Any, **kwargs: Any) -> str | None:
            self.calls.append((fname, args, kwargs))
            return self.result

        return fn


@pytest.fixture
def rec(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    r = Recorder()
    for fname in (
        "show_interface",
        "show_all",
        "list_names",
        "list_cloners",
        "show_group",
        "show_group_attrs",
        "list_group_members",
    ):
        monkeypatch.setattr(render, fname, r.make(fname))
    return r


def sa(
    aliases: bool = False, up: bool = False, down: bool = False, group: str | None = None
) -> dict[str, bool | str | None]:
    return {"all_aliases": aliases, "up_only": up, "down_only": down, "group": group}


def ln(up: bool = False, group: str | None = None) -> dict[str, bool | str | None]:
    return {"up_only": up, "down_only": False, "group": group}


@pytest.mark.parametrize(
    ("personality", "argv", "fname", "kwargs"),
    [
        ("openbsd", [], "show_all", sa()),
        ("openbsd", ["-a"], "show_all", sa()),
        ("openbsd", ["-A"], "show_all", sa(aliases=True)),
        ("freebsd", ["-au"], "show_all", sa(up=True)),
        ("freebsd", ["-a", "-d", "inet"], "show_all", sa(down=True)),
        ("netbsd", ["-a"], "show_all", sa()),
        ("openbsd", ["carp0"], "show_interface", {"show_key": False}),
        ("freebsd", ["-k", "em0"], "show_interface", {"show_key": os.geteuid() == 0}),
        ("openbsd", ["carp"], "show_group", {}),
        ("openbsd", ["-g", "carp"], "show_group_attrs", {}),
        ("openbsd", ["-a", "-g", "carp"], "show_group_attrs", {}),
        ("openbsd", ["-C"], "list_cloners", {}),
        ("freebsd", ["-l"], "list_names", ln()),
        ("netbsd", ["-l", "-u"], "list_names", ln(up=True)),
        # FreeBSD: -g alone is printgroup(); after -a or -l, a filter (group_member())
        ("freebsd", ["-g", "carp"], "list_group_members", {}),
        ("freebsd", ["-gcarp", "carpdemote", "1"], "list_group_members", {}),
        ("freebsd", ["-g", "carp", "-a"], "list_group_members", {}),
        ("freebsd", ["-a", "-g", "carp"], "show_all", sa(group="carp")),
        ("freebsd", ["-ag", "c*"], "show_all", sa(group="c*")),
        ("freebsd", ["-a", "-g", "lo", "-u", "inet"], "show_all", sa(up=True, group="lo")),
        ("freebsd", ["-l", "-u", "-g", "carp"], "list_names", ln(up=True, group="carp")),
    ],
)
def test_show_dispatch(
    tmp_path: Path,
    rec: Recorder,
    personality: str,
    argv: list[str],
    fname: str,
    kwargs: dict[str, Any],
) -> None:
    h = Host(tmp_path / "run", personality)
    r = h(*argv)
    assert (r.code, r.out, r.err) == (0, "shown\n", "")
    assert [c[0] for c in rec.calls] == [fname]
    assert rec.calls[0][2] == kwargs


def test_show_does_not_write(tmp_path: Path, rec: Recorder) -> None:
    h = Host(tmp_path / "run", "openbsd")
    before = h.raw()
    h("carp0")
    h("-a")
    assert h.raw() == before


def test_show_with_address_family(tmp_path: Path, rec: Recorder) -> None:
    h = Host(tmp_path / "run", "openbsd")
    assert h("carp0", "inet").code == 0
    assert [c[0] for c in rec.calls] == ["show_interface"]


def test_show_missing_maps_none_to_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "show_interface", lambda *a, **k: None)
    monkeypatch.setattr(render, "show_group", lambda *a, **k: None)
    h = Host(tmp_path / "run", "openbsd")
    assert (h("carp3").code, h("carp3").err) == (1, "carp3: no such interface\n")
    assert h("nogroup").err == "nogroup: no such interface\n"
