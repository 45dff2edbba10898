"""Replay every man-page command verbatim on a fresh namespace host of its personality.

Each corpus sequence runs in its own lab host (em0 192.168.1.2/24, em1 192.168.2.2/24)
through the real `bin/ifconfig`, `bin/sysctl` and `bin/netstat`, with a fresh store
whose personality comes from CARP_PERSONALITY.  carpd does not run: the store holds the
configuration and every carp line reads INIT.  The sequences run in parallel (each in
its own namespaces) so the suite stays fast; each is then judged by two tests: every
command exits 0, and the store and `ifconfig` show what the page describes.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from carp.store import State, Store
from tests.compat import corpus
from tests.compat.expected import EXPECT, Expect, parse_spec

pytestmark = pytest.mark.netns

SEQUENCES = corpus.sequences(corpus.load())
WORKERS = 8


@dataclass
class Ran:
    line: corpus.Line
    code: int
    stdout: str
    stderr: str


@dataclass
class Outcome:
    personality: str
    ran: list[Ran] = field(default_factory=list)
    state: State = field(default_factory=State)  # the store after the sequence
    shows: dict[str, Ran] = field(default_factory=dict)  # per expected if: its block of -a
    sysctls: dict[str, Ran] = field(default_factory=dict)  # `sysctl -n <name>`
    leftovers: list[str] = field(default_factory=list)
    error: str | None = None  # the lab itself failed


def _replay(source: str, lines: list[corpus.Line]) -> Outcome:
    from carp.lab import Lab, netns

    personality = lines[0].personality
    out = Outcome(personality)
    env = {"CARP_PERSONALITY": personality}
    expect = EXPECT.get(source, Expect())

    def run(line: corpus.Line) -> Ran:
        argv = line.argv
        proc = host.run([str(netns.BIN / argv[0]), *argv[1:]], check=False, env=env)
        return Ran(line, proc.returncode, proc.stdout, proc.stderr)

    lab = Lab(hosts=1, lans=2, personality=personality)
    try:
        with lab:
            host = lab.hosts[0]
            out.ran = [run(line) for line in lines]
            out.state = Store(host.rundir).load()
            if expect.ifs:
                # One listing for all interfaces (each program start costs ~0.1 s of CPU);
                # OpenBSD's -a shows only the first alias, -A shows them all.
                flag = "-A" if personality == "openbsd" else "-a"
                listing = run(corpus.Line(personality, source, f"ifconfig {flag}", 0))
                blocks = _blocks(listing.stdout)
                for key in expect.ifs:
                    text = blocks.get(key.split(":")[0], "")
                    out.shows[key] = Ran(listing.line, listing.code, text, listing.stderr)
            for name in expect.sysctl:
                out.sysctls[name] = run(corpus.Line(personality, source, f"sysctl -n {name}", 0))
    except Exception as exc:  # reported by the tests of this sequence
        out.error = f"{type(exc).__name__}: {exc}"
    out.leftovers = lab.leftovers()
    return out


def _blocks(text: str) -> dict[str, str]:
    """`ifconfig -a` output split per interface (a block starts with `NAME: flags=`)."""
    blocks: dict[str, str] = {}
    name = ""
    for line in text.splitlines(keepends=True):
        m = re.match(r"(\S+): flags=", line)
        if m:
            name = m.group(1)
        blocks[name] = blocks.get(name, "") + line
    return blocks


@pytest.fixture(scope="module")
def outcomes() -> Iterator[dict[str, Outcome]]:
    if shutil.which("ip") is None:
        pytest.skip("iproute2 is not installed")
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {src: pool.submit(_replay, src, lines) for src, lines in SEQUENCES.items()}
        yield {src: f.result() for src, f in futures.items()}


def _outcome(outcomes: dict[str, Outcome], source: str) -> Outcome:
    out = outcomes[source]
    assert out.error is None, f"lab failed: {out.error}"
    assert not out.leftovers, f"namespaces left behind: {out.leftovers}"
    return out


@pytest.mark.parametrize("source", list(SEQUENCES))
def test_commands_exit_0(outcomes: dict[str, Outcome], source: str) -> None:
    out = _outcome(outcomes, source)
    failed = [
        f"  corpus.txt:{r.line.lineno} [{out.personality}] {r.line.command} -> exit {r.code}: "
        f"{r.stderr.strip()}"
        for r in out.ran if r.code != 0
    ]
    assert not failed, "commands failed:\n" + "\n".join(failed)


@pytest.mark.parametrize("source", list(SEQUENCES))
def test_state_as_documented(outcomes: dict[str, Outcome], source: str) -> None:
    out = _outcome(outcomes, source)
    expect = EXPECT[source]
    state = out.state
    problems: list[str] = []
    if state.generation > 0 and state.personality != out.personality:
        problems.append(f"store personality {state.personality!r}")
    for key, spec in expect.ifs.items():
        problems += _check_interface(state, key, parse_spec(spec))
        problems += _check_show(out.shows[key], key, parse_spec(spec))
    for name, value in expect.sysctl.items():
        ran = out.sysctls[name]
        if ran.code != 0 or ran.stdout.strip() != str(value):
            problems.append(f"sysctl -n {name}: exit {ran.code}, {ran.stdout.strip()!r} "
                            f"{ran.stderr.strip()!r}; want {value}")
    for group, demote in expect.groups.items():
        have = state.groups.get(group, {}).get("carpdemote", 0)
        if have != demote:
            problems.append(f"group {group}: carpdemote {have}, want {demote}")
    assert not problems, "\n".join(problems)


def _check_interface(state: State, key: str, want: dict[str, str]) -> list[str]:
    ci = state.interfaces.get(key)
    if ci is None:
        return [f"{key}: not in the store (has {sorted(state.interfaces)})"]
    have: dict[str, str] = {
        "style": ci.style,
        "vhid": str(ci.vhid),
        "advskew": str(ci.nodes[0].advskew) if ci.nodes else "-",
        "advbase": str(ci.advbase),
        "nodes": ",".join(f"{n.vhid}:{n.advskew}" for n in ci.nodes),
        "carpdev": str(ci.carpdev),
        "pass": ci.passphrase,
        "balancing": ci.effective_balancing,
        "peer": ci.peer,
        "peer6": ci.peer6,
        "version": str(ci.version),
        "vrrpprio": str(ci.vrrp_prio),
        "vrrpinterval": str(ci.vrrp_interval),
    }
    problems = [
        f"{key}: {k} is {have[k]!r}, want {v!r}"
        for k, v in want.items() if k != "addr" and have[k] != v
    ]
    if "addr" in want:
        wanted = sorted(a for a in want["addr"].split(",") if a)
        with_prefix = any("/" in a for a in wanted)  # the page gave a mask
        got = sorted(f"{a.address}/{a.prefixlen}" if with_prefix else a.address
                     for a in ci.addresses)
        if got != wanted:
            problems.append(f"{key}: addresses {got}, want {wanted}")
    return problems


def _check_show(ran: Ran, key: str, want: dict[str, str]) -> list[str]:
    """The interface's `ifconfig -a` block shows the INIT carp line(s) and the page's addresses."""
    name = key.split(":")[0]
    if ran.code != 0:
        return [f"{ran.line.command}: exit {ran.code}: {ran.stderr.strip()}"]
    text = ran.stdout
    if not text:
        return [f"{ran.line.command}: no {name} in the listing"]
    problems = []
    nodes: list[list[str]] | None = None  # None: the spec says nothing about vhids
    if "nodes" in want:
        nodes = [n.split(":") for n in want["nodes"].split(",") if n]
    elif "vhid" in want:
        nodes = [[want["vhid"], want.get("advskew", r"\d+")]]
    if want.get("version") == "3":
        pattern = (rf"vrrp: INIT vrid {want['vhid']} prio {want['vrrpprio']} "
                   rf"interval {want['vrrpinterval']}\b")
        if not re.search(pattern, text):
            problems.append(f"ifconfig {name}: no line like /{pattern}/ in\n{text}")
    elif nodes is None:
        pass
    elif not nodes:
        if re.search(r"^\s*carp: .*vhid", text, re.M):
            problems.append(f"ifconfig {name}: a carp line although no vhid is set:\n{text}")
    elif len(nodes) == 1:
        vhid, skew = nodes[0]
        advbase = want.get("advbase", r"\d+")
        pattern = rf"\bcarp: INIT\b.*\bvhid {vhid} advbase {advbase} advskew {skew}\b"
        if not re.search(pattern, text):
            problems.append(f"ifconfig {name}: no line like /{pattern}/ in\n{text}")
    else:
        for vhid, skew in nodes:
            pattern = rf"\bstate INIT vhid {vhid} advskew {skew}\b"
            if not re.search(pattern, text):
                problems.append(f"ifconfig {name}: no line like /{pattern}/ in\n{text}")
    for addr in filter(None, want.get("addr", "").split(",")):
        ip = addr.split("/")[0]
        suffix = rf".*\bvhid {want['vhid']}\b" if want.get("style") == "vhid" else ""
        if not re.search(rf"\binet {re.escape(ip)}[ /]{suffix}", text):
            problems.append(f"ifconfig {name}: no inet {ip}{' ... vhid' if suffix else ''} "
                            f"line in\n{text}")
    return problems
