"""The LR parse loop of ply's yacc, driving tables ply generated ahead of time.

Importing ply costs ~10 ms (it loads inspect) and building its LALR tables ~10 ms
more, at every start of ifconfig.  So ply runs only when the grammar changes
(`make tables` writes grammar_tables.py), and this loop runs the committed tables:
shift, reduce (calling the grammar's p_* rule), accept, and on an error the
grammar's p_error, which must raise (there is no error recovery).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any, Protocol, TypeVar

    class Token(Protocol):
        type: str
        value: Any

    # The caller's token class: its error function is handed one of its own tokens.
    Tok = TypeVar("Tok", bound=Token)

    # (left-hand side, length, rule) per production; ACTION and GOTO rows per state.
    Productions = Sequence[tuple[str, int, Callable[["Production"], None] | None]]
    Table = Mapping[int, Mapping[str, int]]
    Defaults = Mapping[int, int]


class _Symbol:
    """A nonterminal on the stack (or the bottom marker): its type and its value."""

    __slots__ = ("type", "value")

    def __init__(self, type_: str) -> None:
        self.type = type_
        self.value: Any = None


class Production:
    """What a p_* rule is handed, as ply's YaccProduction: p[i], p[0] = v, len(p), p.slice."""

    __slots__ = ("slice",)

    def __init__(self, symbols: list[Any]) -> None:
        self.slice = symbols

    def __getitem__(self, n: int) -> Any:
        return self.slice[n].value

    def __setitem__(self, n: int, value: Any) -> None:
        self.slice[n].value = value

    def __len__(self) -> int:
        return len(self.slice)


def parse(
    productions: Productions,
    action: Table,
    goto: Table,
    defaults: Defaults,
    tokens: Sequence[Tok],
    error: Callable[[Tok | None], None],
) -> Any:
    """The start symbol's value for tokens; error(token or None at the end) must raise.

    action[state][terminal] is > 0 to shift to that state, < 0 to reduce by that
    production, 0 to accept (ply's encoding); goto[state][nonterminal] is the state.
    defaults[state] is the reduction a state makes without reading the next token, as
    in ply's "defaulted states" (ply defaults only the rows of a single entry)."""
    pending = iter(tokens)
    end = _Symbol("$end")
    states = [0]
    symbols: list[Any] = [end]
    lookahead: Any = None
    while True:
        t = defaults.get(states[-1])
        if t is None:
            if lookahead is None:
                lookahead = next(pending, end)
            t = action[states[-1]].get(lookahead.type)
            if t is None:
                error(None if lookahead is end else lookahead)
                raise SyntaxError("the grammar's error function returned")
        if t > 0:
            states.append(t)
            symbols.append(lookahead)
            lookahead = None
        elif t < 0:
            name, length, rule = productions[-t]
            result = _Symbol(name)
            if length:
                rhs = symbols[-length:]
                del symbols[-length:], states[-length:]
            else:
                rhs = []
            assert rule is not None  # only the augmented start production has none
            rule(Production([result, *rhs]))
            symbols.append(result)
            states.append(goto[states[-1]][name])
        else:
            return symbols[-1].value
