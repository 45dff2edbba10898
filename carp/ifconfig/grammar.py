"""The ifconfig parameter grammar (ply yacc rules), every BSD dialect at once.

    command : family items
    family  : INET | INET6 | <empty>
    items   : items item | <empty>
    item    : <keyword taking an argument> ARG | <stand-alone keyword> | WORD

Meaning (ranges, error texts, which personality accepts what) is not the grammar's
job: it only shapes the words into `Item`s in command-line order; `operations` and
`apply` give them meaning.

The p_* rules are the grammar's source.  ply turns them into LALR tables ahead of
time (`make tables` writes grammar_tables.py; a unit test fails when that is stale)
and `lr` runs those tables, so ifconfig never pays for importing ply and building
the tables (~20 ms) at start-up.
"""

from __future__ import annotations

from carp.ifconfig import errors, lr
from carp.ifconfig.lexer import ARG_KEYWORDS, FLAG_KEYWORDS, tokenize, tokens
from carp.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.ifconfig.lexer import Token
    from carp.ifconfig.lr import Production as P
    from carp.personality import Policy

__all__ = ["Item", "Parsed", "parse", "tokens"]


@record(frozen=True)
class Item:
    """One parameter: the keyword as typed (or None for a bare word) and its value."""

    keyword: str | None
    value: str | None
    pos: int


@record(frozen=True)
class Parsed:
    family: str | None  # "inet" / "inet6" when given as the first word
    items: tuple[Item, ...]


def p_command(p: P) -> None:
    "command : family items"
    p[0] = Parsed(p[1], tuple(p[2]))


def p_family(p: P) -> None:
    """family : INET
    | INET6"""
    p[0] = p[1]


def p_family_empty(p: P) -> None:
    "family :"
    p[0] = None


def p_items(p: P) -> None:
    "items : items item"
    p[0] = p[1] + [p[2]]


def p_items_empty(p: P) -> None:
    "items :"
    p[0] = []


def p_item_arg(p: P) -> None:
    "item : argkw ARG"
    p[0] = Item(p[1][0], p[2], p[1][1])


def p_item_flag(p: P) -> None:
    "item : flag"
    p[0] = Item(p[1][0], None, p[1][1])


def p_item_word(p: P) -> None:
    "item : WORD"
    p[0] = Item(None, p[1], p.lexpos(1))


# The keyword alternatives are generated from the lexer's tables so the two never drift.
def p_argkw(p: P) -> None:
    p[0] = (p[1], p.lexpos(1))


def p_flag(p: P) -> None:
    p[0] = (p[1], p.lexpos(1))


p_argkw.__doc__ = "argkw : " + "\n| ".join(sorted(set(ARG_KEYWORDS.values())))
p_flag.__doc__ = "flag : " + "\n| ".join(sorted(set(FLAG_KEYWORDS.values())))


class _SyntaxError(Exception):
    def __init__(self, tok: Token | None) -> None:
        super().__init__(tok)
        self.tok = tok


def p_error(tok: Token | None) -> None:
    raise _SyntaxError(tok)


def parse(words: list[str], pol: Policy) -> Parsed:
    """Parse the words after the interface name; raise IfconfigError on a bad command."""
    try:
        return parse_tokens(tokenize(words, pol))
    except _SyntaxError as exc:
        # Only reachable with an ARG out of place, which the lexer never produces;
        # report it the BSD way rather than with a traceback.
        word = exc.tok.value if exc.tok is not None else (words[-1] if words else "")
        raise errors.bad_value(pol, word) from None


def parse_tokens(toks: list[Token]) -> Parsed:
    """Run the committed LR tables over toks (_SyntaxError when they do not fit)."""
    # Imported here so that ply can build fresh tables from this module without them.
    from carp.ifconfig import grammar_tables as tables

    # The tables name each production's rule; bind the names to the functions above.
    rules = [(lhs, n, globals()[rule] if rule else None) for lhs, n, rule in tables.PRODUCTIONS]
    result: Parsed = lr.parse(rules, tables.ACTION, tables.GOTO, toks, p_error)
    return result
