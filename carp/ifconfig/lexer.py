"""Lexer: turn the words after the interface name into grammar tokens.

The shell has already split the command line, and a word may hold anything (a pass
phrase with spaces, an empty string that clears the key), so each argv word is lexed
on its own by a ply lexer that classifies it (keyword or WORD).  Two pieces of context
are BSD ifconfig's own rules and live here, not in the grammar:

* a keyword that takes an argument consumes the next word whatever it is
  (`pass up` sets the pass phrase "up"), so that word becomes an ARG token;
* `inet` / `inet6` are address families only as the first word; later they are
  ordinary words (and so addresses).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import ply.lex as lex

from carp.ifconfig import errors

# keyword -> token type, for keywords that consume the next word.
ARG_KEYWORDS: dict[str, str] = {
    "vhid": "VHID",
    "advbase": "ADVBASE",
    "advskew": "ADVSKEW",
    "pass": "PASS",
    "carpdev": "CARPDEV",
    "state": "STATE",
    "carpnodes": "CARPNODES",
    "balancing": "BALANCING",
    "carppeer": "CARPPEER",
    "group": "GROUP",
    "-group": "NOGROUP",
    "lladdr": "LLADDR",
    "peer": "PEER",
    "peer6": "PEER6",
    "carpver": "CARPVER",
    "vrrpprio": "VRRPPRIO",
    "vrrpinterval": "VRRPINTERVAL",
    "netmask": "NETMASK",
    "prefixlen": "PREFIXLEN",
    "broadcast": "BROADCAST",
}

# keyword -> token type, for keywords that stand alone.
FLAG_KEYWORDS: dict[str, str] = {
    "create": "CREATE",
    "destroy": "DESTROY",
    "-carpdev": "NOCARPDEV",
    "-carppeer": "NOCARPPEER",
    "mcast": "MCAST",
    "mcast6": "MCAST6",
    "alias": "ALIAS",
    "-alias": "NOALIAS",
    "delete": "DELETE",
    "up": "UP",
    "down": "DOWN",
    "-inet": "NOINET",
    "-inet6": "NOINET6",
}

FAMILIES: dict[str, str] = {"inet": "INET", "inet6": "INET6"}

# Words a personality's ifconfig does not know: there they are plain words (addresses).
UNKNOWN_TO: dict[str, frozenset[str]] = {
    "openbsd": frozenset({"-carpdev"}),
}

tokens: tuple[str, ...] = tuple(
    sorted({*ARG_KEYWORDS.values(), *FLAG_KEYWORDS.values(), *FAMILIES.values(), "ARG", "WORD"})
)
_RESERVED: dict[str, str] = {**ARG_KEYWORDS, **FLAG_KEYWORDS, **FAMILIES}


def t_WORD(t: lex.LexToken) -> lex.LexToken:
    r".+"
    # Keywords are matched exactly (BSD uses strcmp); anything else is a word.
    t.type = _RESERVED.get(t.value, "WORD")
    return t


def t_error(t: lex.LexToken) -> None:  # pragma: no cover - t_WORD matches everything
    t.lexer.skip(1)


_word_lexer: lex.Lexer | None = None


def _classifier() -> lex.Lexer:
    global _word_lexer
    if _word_lexer is None:
        import sys

        _word_lexer = lex.lex(
            module=sys.modules[__name__], optimize=False, debug=False, reflags=re.DOTALL
        )
    return _word_lexer


def classify(word: str) -> str:
    """The token type of one argv word out of context."""
    if word == "":
        return "WORD"
    lx = _classifier()
    lx.input(word)
    tok = lx.token()
    return tok.type if tok is not None and tok.value == word else "WORD"


@dataclass
class Token:
    """What ply's parser needs from a token; lexpos is the argv index (for messages)."""

    type: str
    value: str
    lineno: int = 1
    lexpos: int = 0


class ArgvLexer:
    """A ply-compatible lexer over a list of words (input() then token() until None)."""

    def __init__(self, personality: str) -> None:
        self.personality = personality
        self._tokens: Iterator[Token] = iter(())

    def input(self, words: list[str]) -> None:
        self._tokens = iter(self.tokenize(words))

    def token(self) -> Token | None:
        return next(self._tokens, None)

    def tokenize(self, words: list[str]) -> list[Token]:
        unknown = UNKNOWN_TO.get(self.personality, frozenset())
        out: list[Token] = []
        i = 0
        while i < len(words):
            word = words[i]
            kind = "WORD" if word in unknown else classify(word)
            if kind in FAMILIES.values() and i != 0:
                kind = "WORD"
            out.append(Token(kind, word, lexpos=i))
            if word in ARG_KEYWORDS and kind != "WORD":
                if i + 1 >= len(words):
                    raise errors.requires_argument(self.personality, word)
                out.append(Token("ARG", words[i + 1], lexpos=i + 1))
                i += 1
            i += 1
        return out
