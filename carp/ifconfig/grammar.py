"""The ifconfig parameter grammar (ply yacc), every BSD dialect at once.

    command : family items
    family  : INET | INET6 | <empty>
    items   : items item | <empty>
    item    : <keyword taking an argument> ARG | <stand-alone keyword> | WORD

Meaning (ranges, error texts, which personality accepts what) is not the grammar's
job: it only shapes the words into `Item`s in command-line order; `operations` and
`apply` give them meaning.  Tables are built in memory once per process
(write_tables=False, no parser.out): the grammar is small, so this costs ~ms.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import ply.yacc as yacc

from carp.ifconfig import errors
from carp.ifconfig.lexer import ARG_KEYWORDS, FLAG_KEYWORDS, ArgvLexer, tokens

__all__ = ["Item", "Parsed", "parse", "tokens"]


@dataclass(frozen=True)
class Item:
    """One parameter: the keyword as typed (or None for a bare word) and its value."""

    keyword: str | None
    value: str | None
    pos: int


@dataclass(frozen=True)
class Parsed:
    family: str | None  # "inet" / "inet6" when given as the first word
    items: tuple[Item, ...]


def p_command(p: Any) -> None:
    "command : family items"
    p[0] = Parsed(p[1], tuple(p[2]))


def p_family(p: Any) -> None:
    """family : INET
    | INET6"""
    p[0] = p[1]


def p_family_empty(p: Any) -> None:
    "family :"
    p[0] = None


def p_items(p: Any) -> None:
    "items : items item"
    p[0] = p[1] + [p[2]]


def p_items_empty(p: Any) -> None:
    "items :"
    p[0] = []


def p_item_arg(p: Any) -> None:
    "item : argkw ARG"
    p[0] = Item(p[1][0], p[2], p[1][1])


def p_item_flag(p: Any) -> None:
    "item : flag"
    p[0] = Item(p[1][0], None, p[1][1])


def p_item_word(p: Any) -> None:
    "item : WORD"
    p[0] = Item(None, p[1], p.lexpos(1))


# The keyword alternatives are generated from the lexer's tables so the two never drift.
def p_argkw(p: Any) -> None:
    p[0] = (p[1], p.lexpos(1))


def p_flag(p: Any) -> None:
    p[0] = (p[1], p.lexpos(1))


p_argkw.__doc__ = "argkw : " + "\n| ".join(sorted(set(ARG_KEYWORDS.values())))
p_flag.__doc__ = "flag : " + "\n| ".join(sorted(set(FLAG_KEYWORDS.values())))


class _SyntaxError(Exception):
    def __init__(self, tok: Any) -> None:
        super().__init__(tok)
        self.tok = tok


def p_error(tok: Any) -> None:
    raise _SyntaxError(tok)


_parser: Any = None


def _get_parser() -> Any:
    global _parser
    if _parser is None:
        _parser = yacc.yacc(
            module=sys.modules[__name__],
            write_tables=False,
            debug=False,
            # An absent module name: never pick up a stray parsetab.py from sys.path.
            tabmodule="carp.ifconfig._no_parsetab",
            errorlog=yacc.NullLogger(),
        )
    return _parser


def parse(words: list[str], personality: str) -> Parsed:
    """Parse the words after the interface name; raise IfconfigError on a bad command."""
    lexer = ArgvLexer(personality)
    try:
        result: Parsed = _get_parser().parse(words, lexer=lexer)
    except _SyntaxError as exc:
        # Only reachable with an ARG out of place, which the lexer never produces;
        # report it the BSD way rather than with a traceback.
        word = exc.tok.value if exc.tok is not None else (words[-1] if words else "")
        raise errors.bad_value(personality, word) from None
    return result
