"""The ifconfig command language (ply yacc rules), every BSD dialect at once.

What follows the interface name, as the p_* rules below say it:

    command      : family params vhids
    family       : INET | INET6 | <empty>
    params       : params param | <empty>
    param        : address_param | vhid_param | carp_param | link_param

    vhids        : vhids vhid_clause | <empty>
    vhid_clause  : VHID ARG params                  (FreeBSD 10+: see VhidClause)

    address_param: WORD                             (the address, then the dest_address)
                 | NETMASK ARG | PREFIXLEN ARG | BROADCAST ARG
                 | ALIAS | NOALIAS | DELETE | NOINET | NOINET6
    vhid_param   : ADVBASE ARG | ADVSKEW ARG | PASS ARG | STATE ARG
                 | CARPVER ARG | VRRPPRIO ARG | VRRPINTERVAL ARG
                 | PEER ARG | PEER6 ARG | MCAST | MCAST6
    carp_param   : CARPDEV ARG | NOCARPDEV | BALANCING ARG | CARPPEER ARG | NOCARPPEER
                 | CARPNODES nodes
    nodes        : node | nodes COMMA node
    node         : NUMBER COLON NUMBER              (vhid:advskew)
                 | NUMBER COLON NUMBER REST | BADNODE
    link_param   : CREATE | DESTROY | UP | DOWN | LLADDR ARG | GROUP ARG | NOGROUP ARG
                 | MTU ARG

The lexer (lexer.py) decides which word is which token: a keyword's argument is
always the next word (ARG), `inet`/`inet6` are a family only as the first word, and
a carpnodes argument comes split into its entries.

The grammar accepts every command the lexer tokenizes: what is wrong in a command
(a value out of range, a FreeBSD `advskew` before any `vhid`, a third address) is
reported by `apply`, in command-line order and in the personality's words, as BSD
ifconfig reports it while walking argv.  So the parse keeps every parameter, as an
`operations.Op` still holding the text typed, and `Parsed.ops()` gives them back in
command-line order.

The p_* rules are the grammar's source.  ply turns them into LALR tables ahead of
time (`make tables` writes grammar_tables.py; a unit test fails when that is stale)
and `lr` runs those tables, so ifconfig never pays for importing ply and building
the tables (~20 ms) at start-up.
"""

from __future__ import annotations

from carp.ifconfig import errors, lr
from carp.ifconfig import operations as o
from carp.ifconfig.lexer import ARG_KEYWORDS, FLAG_KEYWORDS, tokenize, tokens
from carp.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.ifconfig.lexer import Token
    from carp.ifconfig.lr import Production as P
    from carp.personality import Policy

__all__ = ["Parsed", "VhidClause", "parse", "tokens"]


@record(frozen=True)
class VhidClause:
    """`vhid N` and the parameters after it, up to the next `vhid`.

    FreeBSD 10+ keeps one vhid per command: advskew, advbase, pass, state, carpver,
    vrrpprio and vrrpinterval must follow a `vhid` (else `... requires vhid`), and
    they and peer, peer6, mcast and mcast6 all go to the last vhid named.  On a
    cloned carpN, `vhid` is one more parameter of the interface."""

    vhid: o.SetVhid
    params: tuple[o.Op, ...]


@record(frozen=True)
class Parsed:
    family: str | None  # "inet" / "inet6" when given as the first word
    params: tuple[o.Op, ...]  # before the first `vhid`
    vhids: tuple[VhidClause, ...]

    def ops(self) -> tuple[o.Op, ...]:
        """Every parameter in command-line order, as apply walks them."""
        out = list(self.params)
        for clause in self.vhids:
            out.append(clause.vhid)
            out += clause.params
        return tuple(out)


# -- the command --------------------------------------------------------------------


def p_command(p: P) -> None:
    "command : family params vhids"
    p[0] = Parsed(p[1], tuple(p[2]), tuple(p[3]))


def p_family(p: P) -> None:
    """family : INET
    | INET6"""
    p[0] = p[1]


def p_family_empty(p: P) -> None:
    "family :"
    p[0] = None


def p_params(p: P) -> None:
    "params : params param"
    p[0] = p[1]
    p[0].append(p[2])


def p_params_empty(p: P) -> None:
    "params :"
    p[0] = []


def p_param(p: P) -> None:
    """param : address_param
    | vhid_param
    | carp_param
    | link_param"""
    p[0] = p[1]


def p_vhids(p: P) -> None:
    "vhids : vhids vhid_clause"
    p[0] = p[1]
    p[0].append(p[2])


def p_vhids_empty(p: P) -> None:
    "vhids :"
    p[0] = []


def p_vhid_clause(p: P) -> None:
    "vhid_clause : VHID ARG params"
    p[0] = VhidClause(o.SetVhid(p[1], p[2]), tuple(p[3]))


# -- addresses ----------------------------------------------------------------------
# The parts of the command's one address change, wherever they stand: BSD ifconfig
# checks each where it meets it and makes the change (SIOCAIFADDR) after every other
# parameter.  A word that is no keyword is the address (addr[/len]), a second one the
# destination address, a third an error; netmask, prefixlen and broadcast set the
# address's mask and broadcast, alias adds it beside the others, -alias and delete
# remove it, -inet and -inet6 remove every address of the family.


def p_address(p: P) -> None:
    "address_param : WORD"
    p[0] = o.AddressWord("", p[1])


def p_address_modifier(p: P) -> None:
    """address_param : NETMASK ARG
    | PREFIXLEN ARG
    | BROADCAST ARG
    | ALIAS
    | NOALIAS
    | DELETE
    | NOINET
    | NOINET6"""
    p[0] = _op(p)


# -- carp ---------------------------------------------------------------------------
# A vhid's parameters: a cloned carpN's (of its one vhid) or, on FreeBSD 10+, those
# of the vhid named before them (see VhidClause).


def p_vhid_param(p: P) -> None:
    """vhid_param : ADVBASE ARG
    | ADVSKEW ARG
    | PASS ARG
    | STATE ARG
    | CARPVER ARG
    | VRRPPRIO ARG
    | VRRPINTERVAL ARG
    | PEER ARG
    | PEER6 ARG
    | MCAST
    | MCAST6"""
    p[0] = _op(p)


# Only a cloned carpN has these (carpdev: OpenBSD and NetBSD; the rest: OpenBSD).
# FreeBSD 10+ takes such a word for an address, and apply says `bad value`.
def p_carp_param(p: P) -> None:
    """carp_param : CARPDEV ARG
    | NOCARPDEV
    | BALANCING ARG
    | CARPPEER ARG
    | NOCARPPEER"""
    p[0] = _op(p)


def p_carpnodes(p: P) -> None:
    "carp_param : CARPNODES nodes"
    nodes: list[o.Carpnode] = p[2]
    p[0] = o.SetCarpnodes(p[1], ",".join(n.text for n in nodes), tuple(nodes))


def p_nodes_one(p: P) -> None:
    "nodes : node"
    p[0] = [p[1]]


def p_nodes(p: P) -> None:
    "nodes : nodes COMMA node"
    p[0] = p[1]
    p[0].append(p[3])


# OpenBSD's `vhid:advskew`, read by sscanf("%u:%u"), which ignores what follows the
# pair (REST).  An entry it cannot read is a BADNODE, which apply reports in its turn.
# A node keeps its text as typed, so that the operation holds the word whole.
def p_node(p: P) -> None:
    """node : NUMBER COLON NUMBER
    | NUMBER COLON NUMBER REST"""
    text = "".join(p[i] for i in range(1, len(p)))
    p[0] = o.Carpnode(text, _digits(p[1]), _digits(p[3]))


def p_node_bad(p: P) -> None:
    "node : BADNODE"
    p[0] = o.Carpnode(p[1])


def _digits(number: str) -> str:
    """What %u converts of a NUMBER: it skips the blanks and the '+' before the digits."""
    return number.lstrip().lstrip("+")


# -- the link -----------------------------------------------------------------------


def p_link_param(p: P) -> None:
    """link_param : CREATE
    | DESTROY
    | UP
    | DOWN
    | LLADDR ARG
    | GROUP ARG
    | NOGROUP ARG
    | MTU ARG"""
    p[0] = _op(p)


# token type -> the operation its keyword stands for
_ARG_OPS = {kind: o.ARG_OPS[word] for word, kind in ARG_KEYWORDS.items()}
_FLAG_OPS = {kind: o.FLAG_OPS[word] for word, kind in FLAG_KEYWORDS.items()}


def _op(p: P) -> o.Op:
    """`KEYWORD [ARG]` as the keyword's operation."""
    kind = p.slice[1].type
    if len(p) == 3:
        return _ARG_OPS[kind](p[1], p[2])
    return _FLAG_OPS[kind](p[1])


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
        # Only reachable with a token out of place, which the lexer never produces;
        # report it the BSD way rather than with a traceback.
        word = exc.tok.value if exc.tok is not None else (words[-1] if words else "")
        raise errors.bad_value(pol, word) from None


def parse_tokens(toks: list[Token]) -> Parsed:
    """Run the committed LR tables over toks (_SyntaxError when they do not fit)."""
    # Imported here so that ply can build fresh tables from this module without them.
    from carp.ifconfig import grammar_tables as tables

    # The tables name each production's rule; bind the names to the functions above.
    rules = [(lhs, n, globals()[rule] if rule else None) for lhs, n, rule in tables.PRODUCTIONS]
    result: Parsed = lr.parse(rules, tables.ACTION, tables.GOTO, tables.DEFAULT, toks, p_error)
    return result
