"""Lexer: turn the words after the interface name into grammar tokens.

The shell has already split the command line, and a word may hold anything (a pass
phrase with spaces, an empty string that clears the key), so each argv word is one
token on its own: a keyword when it equals one exactly (BSD uses strcmp), else a WORD.
Two pieces of context are BSD ifconfig's own rules and live here, not in the grammar:

* a keyword that takes an argument consumes the next word whatever it is
  (`pass up` sets the pass phrase "up"), so that word becomes an ARG token;
* `inet` / `inet6` are address families only as the first word; later they are
  ordinary words (and so addresses).
"""

from __future__ import annotations

from carp.ifconfig import errors
from carp.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.personality import Policy

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

tokens: tuple[str, ...] = tuple(
    sorted({*ARG_KEYWORDS.values(), *FLAG_KEYWORDS.values(), *FAMILIES.values(), "ARG", "WORD"})
)
_RESERVED: dict[str, str] = {**ARG_KEYWORDS, **FLAG_KEYWORDS, **FAMILIES}


def classify(word: str) -> str:
    """The token type of one argv word out of context: its keyword's, else WORD."""
    return _RESERVED.get(word, "WORD")


@record
class Token:
    """One token for the parser; lexpos is the argv index (for messages)."""

    type: str
    value: str
    lexpos: int = 0


def tokenize(words: list[str], pol: Policy) -> list[Token]:
    """The tokens of the words after the interface name (IfconfigError if one is missing).

    A keyword the personality's ifconfig does not know is a plain word (an address)."""
    unknown = pol.plain_words
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
                raise errors.requires_argument(pol, word)
            out.append(Token("ARG", words[i + 1], lexpos=i + 1))
            i += 1
        i += 1
    return out
