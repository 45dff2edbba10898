"""The man pages: mandoc-lint clean, renderable, carp.4 documents every sysctl node and the
master-down interval of each personality as carp/vhost.py computes it, and carpd.8 every
option of carpd."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from carp import mib
from carp.daemon.main import build_parser
from carp.personality import policy
from carp.vhost import Env, Params, VirtualHost
from carp.wire import hmac_key

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
def test_groff_renders_without_a_warning(page: str) -> None:
    """man-db renders with groff, whose mdoc is stricter than mandoc in places (the BSD
    versions it knows, for one); lintian reports its warnings in the Debian package."""
    groff = shutil.which("groff")
    if groff is None:
        pytest.fail("groff is not installed (man-db brings it: `make sysdeps`)")
    proc = subprocess.run([groff, "-mandoc", "-Tutf8", "-ww", "-z", str(MAN / page)],
                          capture_output=True, text=True)
    assert proc.stdout + proc.stderr == ""


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
    names = set(mib.names(mib.mib(policy(personality))))
    missing = [f"{mib.CARP}.{n}" for n in EXPECTED_NODES[personality]
               if f"{mib.CARP}.{n}" not in names]
    assert not missing, f"the {personality} policy's carp_sysctl_nodes lack {missing}"
    assert set(MAPPED) <= names
    assert {mib.LINUX_MAPPED[n] for n in MAPPED} == {
        "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"}


@pytest.mark.parametrize("personality", sorted(EXPECTED_NODES))
def test_carp_4_documents_every_node(personality: str) -> None:
    documented = _documented()
    expected = {f"{mib.CARP}.{n}" for n in EXPECTED_NODES[personality]}
    assert expected <= documented[personality]
    # and every node the MIB has, so a new node cannot go undocumented
    names = set(mib.names(mib.mib(policy(personality))))
    undocumented = names - documented[personality] - documented["all"]
    assert not undocumented, f"carp.4 does not document {sorted(undocumented)}"
    assert set(MAPPED) <= documented["all"]


def _render(page: str) -> str:
    """The page as a reader sees it, on one line: overstrike and line breaks removed."""
    proc = subprocess.run([_mandoc(), "-T", "ascii", str(MAN / page)],
                          capture_output=True, text=True, check=True)
    return " ".join(re.sub(r".\x08", "", proc.stdout).split())


def _master_down(personality: str, advbase: int, advskew: int) -> float:
    """Seconds, from the state machine itself."""
    params = Params("carp0", "carp0", "em0", 1, ("192.168.1.1",), (), hmac_key("x"),
                    "00:00:5e:00:01:01")
    return VirtualHost(Env(personality), params, advbase, advskew).master_down_us() / 1e6


def _formula(text: str, pattern: str) -> tuple[str, bool]:
    """The `3 x ...` expression after `pattern`, and whether a 3/256 s floor is stated."""
    m = re.search(pattern + r" (3 x [^;:,]+?) seconds([^.]*at least 3/256)?", text)
    assert m, f"carp.4 does not state the master-down interval after {pattern!r}"
    return m.group(1), m.group(2) is not None


def _evaluate(formula: str, advbase: int, advskew: int) -> float:
    expr = formula.replace(" x ", " * ")
    assert re.fullmatch(r"[\d\s*+/()advbseknw]+", expr), expr  # arithmetic on two names
    return float(eval(expr, {"__builtins__": {}}, {"advbase": advbase, "advskew": advskew}))


# (personality, how carp.4 introduces its formula, advbase values it covers)
MASTER_DOWN = [
    ("openbsd", r"\bOpenBSD", (0, 1, 2, 255)),
    ("freebsd", r"FreeBSD and NetBSD", (1, 2, 255)),
    ("netbsd", r"FreeBSD and NetBSD", (1, 2, 255)),
    ("netbsd", r"NetBSD with advbase 0 waits", (0,)),
]


@pytest.mark.parametrize(("personality", "intro", "advbases"), MASTER_DOWN)
def test_carp_4_master_down_formula_per_personality(
    personality: str, intro: str, advbases: tuple[int, ...]
) -> None:
    formula, floor = _formula(_render("carp.4"), intro)
    for advbase in advbases:
        for advskew in (0, 1, 100, 254):
            stated = _evaluate(formula, advbase, advskew)
            if floor:
                stated = max(stated, 3 / 256)
            # the kernels compute the skew in whole microseconds, rounding down
            assert abs(stated - _master_down(personality, advbase, advskew)) < 4e-6, (
                personality, formula, advbase, advskew)


@pytest.mark.parametrize(("intro", "personality"),
                         [("OpenBSD", "openbsd"), ("FreeBSD and NetBSD", "freebsd")])
def test_carp_4_master_down_example_numbers(intro: str, personality: str) -> None:
    text = _render("carp.4")
    m = re.search(intro + r" 3 x [^.]+\. With advbase 1 and advskew 100 it is ([\d.]+) seconds",
                  text)
    assert m, intro
    assert float(m.group(1)) == round(_master_down(personality, 1, 100), 2)


def _mdoc_flag(option: str) -> str:
    return "Fl " + option[1:]  # "-h" -> "Fl h", "--root" -> "Fl -root"


def _section(text: str, name: str) -> str:
    start = text.index(f"\n.Sh {name}\n")
    return text[start:text.index("\n.Sh ", start + 1)]


@pytest.mark.parametrize("action", build_parser()._actions, ids=lambda a: a.option_strings[0])
def test_carpd_8_documents_every_option(action: object) -> None:
    options: list[str] = action.option_strings  # type: ignore[attr-defined]
    text = (MAN / "carpd.8").read_text()
    synopsis = _section(text, "SYNOPSIS")
    assert re.search(rf"\b{re.escape(_mdoc_flag(options[0]))}\b", synopsis), (
        f"the SYNOPSIS of carpd.8 lacks {options[0]}")
    items = re.findall(r"^\.It (Fl .*)$", _section(text, "DESCRIPTION"), re.M)
    assert any(all(re.search(rf"{re.escape(_mdoc_flag(o))}(?![\w-])", item) for o in options)
               for item in items), f"carpd.8 has no .It entry for {' '.join(options)}"
