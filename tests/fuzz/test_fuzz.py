"""The fuzz target in `make test`: the corpus with hand-written answers, and a short run.

`make fuzz` runs the same loop for a million inputs (python -m tests.fuzz)."""

from __future__ import annotations

import pytest

from tests.fuzz import oracle
from tests.fuzz.corpus_gen import CORPUS, entries
from tests.fuzz.harness import Result, run_one
from tests.fuzz.run import fuzz
from tests.fuzz.world import Target, targets

ENTRIES = entries()
TARGETS = targets()


def test_the_checked_in_corpus_is_what_the_generator_writes() -> None:
    on_disk = {p.stem: p.read_bytes() for p in CORPUS.glob("*.bin")}
    assert on_disk == {name: data for name, (data, _) in ENTRIES.items()}


def _outcome(target: Target, data: bytes) -> str:
    pkt = oracle.split(data)
    if not pkt.delivered:
        return "undelivered"
    if pkt.ip_drop:
        return pkt.ip_drop
    cookies = {v: target.cookie(v) for v in range(1, 7)}
    exp = oracle.expect(target.personality, target.state, target.preempt, pkt,
                        target.running(), cookies, target.senders)
    return exp.drop or "accept"


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_corpus_entry_meets_its_answer_on_every_target(name: str) -> None:
    """The oracle agrees with the hand-written answer, and the code with the oracle."""
    data, answers = ENTRIES[name]
    result = Result()
    for t in TARGETS:
        t.reset()
        assert _outcome(t, data) == answers[t.personality], t.name
        run_one(t, data, result)
    assert result.failures == []


def test_a_short_run_finds_nothing_and_reaches_every_outcome() -> None:
    result = fuzz(6000, seed=7)
    assert [f.detail for f in result.failures] == []
    assert result.inputs == 6000 and result.crashes == result.violations == 0
    reached = set(result.outcomes)
    drops = {"badif", "badttl", "hdrops", "badsum", "badver", "badlen", "badauth", "badvhid"}
    assert drops <= reached
    accepts = {f"accept:{a}->{b}" for a in ("MASTER", "BACKUP") for b in ("MASTER", "BACKUP")}
    assert accepts <= reached


def test_the_fuzzer_is_deterministic() -> None:
    assert fuzz(800, seed=3).outcomes == fuzz(800, seed=3).outcomes
