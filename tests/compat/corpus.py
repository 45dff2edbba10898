"""The man-page command corpus (corpus.txt) and the scanners that check it is complete.

The seeds and docs/userland.md §9 are copied beside this file (seeds/,
reference-section9.md) so the suite runs from a clean clone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus.txt"
SEEDS = HERE / "seeds"
REFERENCE = HERE / "reference-section9.md"

PROGRAMS = ("ifconfig", "sysctl", "netstat")
# A command starts a line (after an optional `#` or `\#` prompt) or follows a `# `
# prompt mid-line (one rendering of seed 003 puts two commands on one line).
_COMMAND = re.compile(
    r"(?:^|\#\s)\s*((?:" + "|".join(PROGRAMS) + r")\s[^#]*?)\s*(?=\s\#\s|$)"
)
_REF_LINE = re.compile(r"^\[([^\]]+)\]\s+(\S.*?)\s*$")


@dataclass(frozen=True)
class Line:
    personality: str
    source: str
    command: str
    lineno: int

    @property
    def argv(self) -> list[str]:
        # Corpus commands are plain words: no shell quoting appears in any page.
        return self.command.split()


def load(path: Path = CORPUS) -> list[Line]:
    lines: list[Line] = []
    for n, raw in enumerate(path.read_text().splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        personality, source, command = raw.split("\t")
        lines.append(Line(personality, source, command, n))
    return lines


def sequences(lines: list[Line]) -> dict[str, list[Line]]:
    """Lines grouped by source, in corpus order: one fresh host per sequence."""
    out: dict[str, list[Line]] = {}
    for line in lines:
        out.setdefault(line.source, []).append(line)
    return out


def normalize(command: str) -> str:
    return " ".join(command.split())


def _joined(text: str) -> list[str]:
    """Physical lines with backslash continuations joined, as a shell would."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        if raw.rstrip().endswith("\\") and not raw.rstrip().endswith("\\\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        out.append(pending + raw)
        pending = ""
    if pending:
        out.append(pending)
    return out


def scan_seed(text: str) -> list[str]:
    """Every ifconfig/sysctl/netstat command line of one seed page, normalized."""
    found: list[str] = []
    for line in _joined(text):
        line = line.replace("\\#", "#")
        for match in _COMMAND.finditer(line):
            found.append(normalize(match.group(1)))
    return found


def scan_reference(text: str) -> list[tuple[str, str]]:
    """(tag, command) for every tagged line of docs/userland.md §9.

    Trailing parenthesised notes are dropped; the synopsis `carpN` means carp0."""
    found: list[tuple[str, str]] = []
    for raw in text.splitlines():
        match = _REF_LINE.match(raw)
        if not match:
            continue
        tag, command = match.groups()
        command = re.sub(r"\s+\(.*\)$", "", command)
        if command.split()[0] not in PROGRAMS:
            continue
        found.append((tag, normalize(command.replace("carpN", "carp0"))))
    return found
