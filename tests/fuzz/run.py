"""The fuzz loop: corpus first, then mutated inputs, round robin over the targets."""

from __future__ import annotations

from typing import TextIO

from tests.fuzz.corpus_gen import load
from tests.fuzz.harness import Result, run_one
from tests.fuzz.mutate import Mutator
from tests.fuzz.world import targets

RESET_EVERY = 256  # inputs per target between rebuilds: forgets the counters it accepted


def fuzz(inputs: int, seed: int = 1, progress: TextIO | None = None) -> Result:
    """Run `inputs` inputs (the corpus once per target first); deterministic from `seed`."""
    tgts = targets(seed)
    corpus = load()
    mut = Mutator(seed, corpus)
    result = Result()
    seen: set[tuple[str, str]] = set()
    i = 0
    for data in corpus:
        for t in tgts:
            if i >= inputs:
                return result
            t.reset()
            run_one(t, data, result)
            i += 1
    step = max(1, inputs // 20)
    while i < inputs:
        t = tgts[i % len(tgts)]
        if (i // len(tgts)) % RESET_EVERY == 0:
            t.reset()
        data = mut.next(t)
        outcome = run_one(t, data, result)
        if outcome is not None and (t.name, outcome) not in seen:
            seen.add((t.name, outcome))
            mut.add(data)  # a new outcome for this target: worth mutating further
        i += 1
        if progress is not None and i % step == 0:
            progress.write(f"fuzz: {i:,} inputs, {result.crashes} crashes, "
                           f"{result.violations} violations\n")
            progress.flush()
    return result
