"""FreeBSD's `ifconfig -g GROUP` through the whole front end: the group's members
(ifgroup.c printgroup()), or, after -a or -l, a filter (ifconfig.c group_member()).
OpenBSD's group attributes and NetBSD's usage are in test_ifconfig_errors.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from ifconfig_support import Host, Result


def out(r: Result) -> tuple[int, str, str]:
    return (r.code, r.out, r.err)


@pytest.fixture
def fbsd9(tmp_path: Path) -> Host:
    """A FreeBSD <= 9 host: cloned carp0 and carp1, in group carp as their cloner's name."""
    h = Host(tmp_path / "run", "freebsd")
    for line in ("carp0 create", "carp0 vhid 1 192.168.1.10/24", "carp1 create"):
        assert h(*line.split()).code == 0
    return h


def test_freebsd_lists_members(fbsd9: Host) -> None:
    assert out(fbsd9("-g", "carp")) == (0, "carp0\ncarp1\n", "")


def test_freebsd_missing_group_is_silent(fbsd9: Host) -> None:
    assert out(fbsd9("-g", "nosuch")) == (0, "", "")


def test_freebsd_words_after_the_group_are_never_read(fbsd9: Host) -> None:
    """printgroup() exits inside getopt: no usage, and nothing changes."""
    before = fbsd9.raw()
    assert out(fbsd9("-g", "carp", "carpdemote", "1")) == (0, "carp0\ncarp1\n", "")
    assert fbsd9.raw() == before


def test_freebsd_own_group(fbsd9: Host) -> None:
    assert fbsd9("carp1", "group", "lan").code == 0
    assert fbsd9("-g", "lan").out == "carp1\n"
    assert fbsd9("-g", "carp").out == "carp0\ncarp1\n"


def test_freebsd_all_holds_every_interface(fbsd9: Host) -> None:
    every = fbsd9("-l").out.split()
    assert fbsd9("-g", "all").out.split() == every
    assert "carp0" in every


def test_freebsd_filters_a_and_l(fbsd9: Host) -> None:
    assert fbsd9("-l", "-g", "carp").out == "carp0 carp1\n"
    assert fbsd9("-l", "-g", "c?rp").out == "carp0 carp1\n"  # fnmatch(3) patterns
    assert fbsd9("-l", "-g", "nosuch").out == "\n"
    heads = [ln for ln in fbsd9("-a", "-g", "carp").out.splitlines() if ln[:1] != "\t"]
    assert [h.split(":")[0] for h in heads] == ["carp0", "carp1"]
    assert out(fbsd9("-a", "-g", "nosuch")) == (0, "", "")
