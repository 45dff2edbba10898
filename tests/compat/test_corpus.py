"""corpus.txt holds every command line of the seeds and of docs/userland.md §9."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compat import corpus
from tests.compat.expected import EXPECT

# Which personality replays each seed (the page's OS).
SEED_PERSONALITY = {
    "000": "netbsd",  # NetBSD carp(4)
    "001": "freebsd",  # FreeBSD 10+ carp(4)
    "002": "freebsd",  # FreeBSD legacy carp(4)
    "003": "openbsd",  # OpenBSD carp(4), carpnodes era
    "004": "openbsd",  # OpenBSD CARP announcement
}
PERSONALITIES = ("openbsd", "freebsd", "netbsd")

# Lines the reference derives rather than quotes: the modes named in OpenBSD carp.4 r1.36,
# and the FreeBSD 10+ form of the read-only `ifconfig carp0`.
DERIVED = {
    ("openbsd", f"ifconfig carp0 192.168.1.10 carpdev em0 carpnodes 1:0,2:100 balancing {m}")
    for m in ("ip-stealth", "ip-unicast", "arp")
} | {("freebsd", "ifconfig em0")}  # "[all] ifconfig carp0 (... FreeBSD 10+: ifconfig em0)"

SHARED = Path("/work/shared")


def _tag_personalities(tag: str) -> tuple[str, ...]:
    if tag == "all":
        return PERSONALITIES
    if tag == "Free/Net":
        return ("freebsd", "netbsd")
    return (tag.split()[0].lower(),)


def _corpus_pairs() -> set[tuple[str, str]]:
    return {(line.personality, corpus.normalize(line.command)) for line in corpus.load()}


def _page_pairs() -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for path in sorted(corpus.SEEDS.glob("*.txt")):
        personality = SEED_PERSONALITY[path.name[:3]]
        pairs.update((personality, c) for c in corpus.scan_seed(path.read_text()))
    for tag, command in corpus.scan_reference(corpus.REFERENCE.read_text()):
        pairs.update((p, command) for p in _tag_personalities(tag))
    return pairs


def test_corpus_is_well_formed() -> None:
    lines = corpus.load()
    assert len(lines) > 100
    for line in lines:
        assert line.personality in PERSONALITIES, line
        assert line.argv[0] in corpus.PROGRAMS, line
        assert line.command == line.command.strip(), line


def test_every_seed_covered() -> None:
    """Each seed yields its commands, and each one is in the corpus for its OS."""
    have = _corpus_pairs()
    for path in sorted(corpus.SEEDS.glob("*.txt")):
        found = corpus.scan_seed(path.read_text())
        assert found, f"{path.name}: no command found; the scanner is broken"
        personality = SEED_PERSONALITY[path.name[:3]]
        missing = [c for c in found if (personality, c) not in have]
        assert not missing, f"{path.name} ({personality}) lines not in corpus.txt: {missing}"


def test_every_sequence_has_an_expectation() -> None:
    # test_replay checks each sequence's end state against expected.EXPECT
    assert set(corpus.sequences(corpus.load())) == set(EXPECT)


def test_seed_004_follow_up_line() -> None:
    # `advskew 100` only makes sense after `vhid 1 192.168.1.10`: same sequence, in order.
    seq = corpus.sequences(corpus.load())["seed004/announce"]
    assert [line.command for line in seq] == [
        "ifconfig carp0 vhid 1 192.168.1.10",
        "ifconfig carp0 advskew 100",
    ]


def test_reference_section_9_covered() -> None:
    have = _corpus_pairs()
    missing = [
        (tag, c)
        for tag, c in corpus.scan_reference(corpus.REFERENCE.read_text())
        if not any((p, c) in have for p in _tag_personalities(tag))
    ]
    assert not missing, f"docs/userland.md §9 lines not in corpus.txt: {missing}"
    # `[all]` lines must be replayed on every personality that has the form.
    for p in PERSONALITIES:
        assert (p, "sysctl net.inet.carp") in have
        assert (p, "netstat -s -p carp") in have


def test_corpus_invents_nothing() -> None:
    """Every corpus line is verbatim from a page (or one of the reference's derived lines)."""
    extra = _corpus_pairs() - _page_pairs() - DERIVED
    assert not extra, f"corpus.txt lines found in no page: {sorted(extra)}"


def test_scanner_joins_continuations_and_splits_prompts() -> None:
    text = (
        "           # ifconfig carp0 vhid 1 pass x 192.168.1.1 \\\n"
        "                   netmask 255.255.255.0\n"
        "\\# ifconfig carp0 192.168.1.1 vhid 1           # ifconfig carp1 192.168.2.1 vhid 2  \n"
        "be done using ifconfig(8), or through the SIOCSVH ioctl.\n"
        "     A carp interface can be created using the ifconfig carpN create command.\n"
    )
    assert corpus.scan_seed(text) == [
        "ifconfig carp0 vhid 1 pass x 192.168.1.1 netmask 255.255.255.0",
        "ifconfig carp0 192.168.1.1 vhid 1",
        "ifconfig carp1 192.168.2.1 vhid 2",
    ]


@pytest.mark.skipif(not SHARED.is_dir(), reason="no /work/shared on this machine")
def test_copies_match_the_shared_originals() -> None:
    for path in sorted((SHARED / "seeds").glob("*.txt")):
        assert (corpus.SEEDS / path.name).read_bytes() == path.read_bytes(), path.name
    ref = (SHARED / "reference" / "bsd-userland.md").read_text()
    section = ref[ref.index("## 9. Man-page command corpus"):]
    assert corpus.REFERENCE.read_text() == section
