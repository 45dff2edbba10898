"""Lexer: turn the words after the interface name into grammar tokens.

The shell has already split the command line, and a word may hold anything (a pass
phrase with spaces, an empty string that clears the key), so each argv word is one
token on its own: a keyword when it equals one exactly (BSD uses strcmp), else a WORD.
Two pieces of context are BSD ifconfig's own rules and live here, not in the grammar:

* a keyword that takes an argument consumes the next word whatever it is
  (`pass up` sets the pass phrase "up"), so that word becomes an ARG token;
* `inet` / `inet6` are address families only as the first word; later they are
  ordinary words (and so addresses).

A `carpnodes` argument is the one word split further, into its `vhid:advskew`
entries (`carpnodes_tokens`), so that the grammar can say what such a list is.
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
    "mtu": "MTU",
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

# The pieces of a carpnodes argument (see carpnodes_tokens).
NODE_TOKENS: tuple[str, ...] = ("NUMBER", "COLON", "REST", "BADNODE", "COMMA")

tokens: tuple[str, ...] = tuple(
    sorted({*ARG_KEYWORDS.values(), *FLAG_KEYWORDS.values(), *FAMILIES.values(), "ARG", "WORD"})
    + list(NODE_TOKENS)
)
_RESERVED: dict[str, str] = {**ARG_KEYWORDS, **FLAG_KEYWORDS, **FAMILIES}


def classify(word: str) -> str:
    """The token type of one argv word out of context: its keyword's, else WORD."""
    return _RESERVED.get(word, "WORD")


@record
class Token:
    """One token for the parser; lexpos is the argv index of its word (tokens of one
    word share it), as a ply token carries its position."""

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
            if kind == "CARPNODES":
                out += carpnodes_tokens(words[i + 1], i + 1)
            else:
                out.append(Token("ARG", words[i + 1], lexpos=i + 1))
            i += 1
        i += 1
    return out


def _number_end(text: str, i: int) -> int:
    """Where the number sscanf's %u reads from text[i:] ends, or -1 without digits.

    Blanks, one '+', decimal digits: what the pattern `\\s*\\+?(\\d+)` matches."""
    while i < len(text) and text[i].isspace():
        i += 1
    if text[i : i + 1] == "+":
        i += 1
    start = i
    while i < len(text) and text[i].isdecimal():  # re's \d is isdecimal(), \s isspace()
        i += 1
    return i if i > start else -1


def carpnodes_tokens(word: str, lexpos: int) -> list[Token]:
    """The tokens of a carpnodes argument: its comma-separated entries.

    An entry OpenBSD's sscanf("%u:%u") reads is NUMBER COLON NUMBER, then REST for
    whatever follows the pair (sscanf ignores it); any other entry is one BADNODE,
    which apply reports (`non parsable arg`) in its turn.  The values are the raw
    text, so joined they give the word back: the operation keeps it as typed."""
    out: list[Token] = []
    for n, entry in enumerate(word.split(",")):
        if n:
            out.append(Token("COMMA", ",", lexpos))
        vhid_end = _number_end(entry, 0)
        skew_end = -1
        if vhid_end >= 0 and entry[vhid_end : vhid_end + 1] == ":":
            skew_end = _number_end(entry, vhid_end + 1)
        if skew_end < 0:
            out.append(Token("BADNODE", entry, lexpos))
            continue
        out.append(Token("NUMBER", entry[:vhid_end], lexpos))
        out.append(Token("COLON", ":", lexpos))
        out.append(Token("NUMBER", entry[vhid_end + 1 : skew_end], lexpos))
        if skew_end < len(entry):
            out.append(Token("REST", entry[skew_end:], lexpos))
    return out
