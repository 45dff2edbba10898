"""The man pages: mandoc-lint clean, renderable, and carp.4 documents every sysctl node."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sysctl import tree

MAN = Path(__file__).resolve().parents[2] / "man"
PAGES = ("carp.4", "carpd.8", "ifconfig.8", "sysctl.8", "netstat.8")

# What carp.4 must document per personality, and what the MIB must therefore have.
EXPECTED_NODES: dict[str, tuple[str, ...]] = {
    "openbsd": ("allow", "preempt", "log", "arpbalance", "stats"),
    "freebsd": ("allow", "preempt", "dscp", "log", "demotion", "ifdown_demotion_factor",
                "senderr_demotion_factor", "arpbalance", "suppress_preempt", "stats"),
    "netbsd": ("allow", "preempt", "log", "arpbalance", "stats"),
}
MAPPED = ("net.inet.ip.forwarding", "net.inet6.ip6.forwarding")
SUBSECTIONS = {"openbsd": "OpenBSD personality", "freebsd": "FreeBSD personality",
               "netbsd": "NetBSD personality", "all": "Every personality"}


def _mandoc() -> str:
    path = shutil.which("mandoc")
    if path is None:
        pytest.fail("mandoc is not installed (`make sysdeps` installs the Debian package)")
    return path


@pytest.mark.parametrize("page", PAGES)
def test_lint_clean(page: str) -> None:
    proc = subprocess.run([_mandoc(), "-Tlint", "-W", "warning", str(MAN / page)],
                          capture_output=True, text=True)
    assert proc.stdout + proc.stderr == ""
    assert proc.returncode == 0


@pytest.mark.parametrize("page", PAGES)
def test_title_matches_file(page: str) -> None:
    name, section = page.rsplit(".", 1)
    text = (MAN / page).read_text()
    assert re.search(rf"^\.Dt {name.upper()} {section}$", text, re.M)
    assert re.search(rf"^\.Nm {re.escape(name)}$", text, re.M)


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed")
def test_man_renders_carp_4() -> None:
    env = {**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"}
    proc = subprocess.run(["man", "-l", str(MAN / "carp.4")], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Common Address Redundancy Protocol" in proc.stdout
    assert "SYSCTL VARIABLES" in proc.stdout


def _documented() -> dict[str, set[str]]:
    """`.It Va name` entries of each `.Ss ... personality` subsection of carp.4."""
    text = (MAN / "carp.4").read_text()
    found: dict[str, set[str]] = {}
    for key, title in SUBSECTIONS.items():
        start = text.index(f".Ss {title}\n")
        end = min(i for i in (text.find("\n.Ss ", start + 1), text.find("\n.Sh ", start + 1))
                  if i > 0)
        found[key] = set(re.findall(r"^\.It Va (\S+)$", text[start:end], re.M))
    return found


@pytest.mark.parametrize("personality", sorted(EXPECTED_NODES))
def test_mib_has_the_documented_nodes(personality: str) -> None:
    mib = set(tree.names(tree.MIB[personality]))
    missing = [f"{tree.CARP}.{n}" for n in EXPECTED_NODES[personality]
               if f"{tree.CARP}.{n}" not in mib]
    assert not missing, f"sysctl/tree.py lacks {missing} for {personality}"
    assert set(MAPPED) <= mib
    assert {tree.LINUX_MAPPED[n] for n in MAPPED} == {
        "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"}


@pytest.mark.parametrize("personality", sorted(EXPECTED_NODES))
def test_carp_4_documents_every_node(personality: str) -> None:
    documented = _documented()
    expected = {f"{tree.CARP}.{n}" for n in EXPECTED_NODES[personality]}
    assert expected <= documented[personality]
    # and every node the MIB has, so a new node cannot go undocumented
    mib = set(tree.names(tree.MIB[personality]))
    undocumented = mib - documented[personality] - documented["all"]
    assert not undocumented, f"carp.4 does not document {sorted(undocumented)}"
    assert set(MAPPED) <= documented["all"]
