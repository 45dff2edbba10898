"""Lexer, ply grammar and operations of the ifconfig front end."""

from __future__ import annotations

import functools
import io
import logging
import os
import sys
from pathlib import Path

import ply.yacc as yacc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carp.ifconfig import grammar, lexer, maketables
from carp.ifconfig import operations as o
from carp.ifconfig.errors import IfconfigError
from carp.ifconfig.grammar import VhidClause
from carp.personality import policy


def ops(words: str | list[str], personality: str = "openbsd") -> list[o.Op]:
    ws = words.split() if isinstance(words, str) else words
    return list(o.parse_command("carp0", ws, policy(personality)).ops)


ARG_CASES = [
    ("vhid 1", o.SetVhid),
    ("advbase 2", o.SetAdvbase),
    ("advskew 100", o.SetAdvskew),
    ("pass s3cret", o.SetPass),
    ("carpdev em0", o.SetCarpdev),
    ("state master", o.SetState),
    ("carpnodes 1:0,2:100", o.SetCarpnodes),
    ("balancing ip", o.SetBalancing),
    ("carppeer 10.0.0.2", o.SetCarppeer),
    ("group lan", o.AddGroup),
    ("-group lan", o.DelGroup),
    ("lladdr 00:11:22:33:44:55", o.SetLladdr),
    ("peer 192.168.1.3", o.SetPeer),
    ("peer6 2001:db8::3", o.SetPeer6),
    ("carpver 3", o.SetCarpver),
    ("vrrpprio 100", o.SetVrrpprio),
    ("vrrpinterval 100", o.SetVrrpinterval),
    ("netmask 255.255.255.0", o.Netmask),
    ("prefixlen 24", o.Prefixlen),
    ("broadcast 192.168.1.255", o.Broadcast),
    ("mtu 1400", o.SetMtu),
]

FLAG_CASES = [
    ("create", o.Create),
    ("destroy", o.Destroy),
    ("-carpdev", o.ClearCarpdev),
    ("-carppeer", o.ClearCarppeer),
    ("mcast", o.Mcast),
    ("mcast6", o.Mcast6),
    ("alias", o.Alias),
    ("-alias", o.Unalias),
    ("delete", o.Unalias),
    ("up", o.Up),
    ("down", o.Down),
    ("-inet", o.RemoveFamily),
    ("-inet6", o.RemoveFamily),
]


@pytest.mark.parametrize(("words", "cls"), ARG_CASES)
def test_every_argument_keyword(words: str, cls: type[o.Valued]) -> None:
    (op,) = ops(words, "netbsd")
    assert type(op) is cls
    assert op.word == words.split()[0]
    assert op.value == words.split()[1]


@pytest.mark.parametrize(("word", "cls"), FLAG_CASES)
def test_every_flag_keyword(word: str, cls: type[o.Op]) -> None:
    (op,) = ops(word, "netbsd")
    assert type(op) is cls and op.word == word


def test_lexer_tables_cover_every_keyword() -> None:
    assert set(o.ARG_OPS) == set(lexer.ARG_KEYWORDS)
    assert set(o.FLAG_OPS) == set(lexer.FLAG_KEYWORDS)
    assert {w.split()[0] for w, _ in ARG_CASES} == set(lexer.ARG_KEYWORDS)
    assert {w for w, _ in FLAG_CASES} == set(lexer.FLAG_KEYWORDS)


def test_argument_keyword_consumes_any_next_word() -> None:
    # BSD's NEXTARG: `pass up` sets the pass phrase "up"; it does not bring carp0 up.
    assert ops("pass up vhid vhid") == [o.SetPass("pass", "up"), o.SetVhid("vhid", "vhid")]


def test_words_are_lexed_whole_even_with_spaces_and_empty() -> None:
    assert ops(["pass", "two words", ""]) == [o.SetPass("pass", "two words"), o.AddressWord("", "")]
    assert ops(["pass", ""]) == [o.SetPass("pass", "")]
    assert ops(["vhid\n", "1"]) == [o.AddressWord("", "vhid\n"), o.AddressWord("", "1")]


def test_keywords_are_case_sensitive() -> None:
    assert ops("VHID 1") == [o.AddressWord("", "VHID"), o.AddressWord("", "1")]


def test_family_only_as_first_word() -> None:
    parsed = grammar.parse("inet vhid 1 alias 192.168.1.50/32".split(), policy("freebsd"))
    assert parsed.family == "inet"
    assert [type(op) for op in parsed.ops()] == [o.SetVhid, o.Alias, o.AddressWord]
    later = grammar.parse("vhid 1 inet6".split(), policy("freebsd"))
    assert later.family is None and later.ops()[-1] == o.AddressWord("", "inet6")
    assert grammar.parse(["inet6"], policy("openbsd")).family == "inet6"


def test_address_order_is_preserved() -> None:
    words = "192.168.1.1/24 carpdev em0 vhid 1"
    assert [type(op) for op in ops(words)] == [o.AddressWord, o.SetCarpdev, o.SetVhid]


def test_minus_carpdev_is_an_address_on_openbsd() -> None:
    assert ops("-carpdev", "openbsd") == [o.AddressWord("", "-carpdev")]
    assert ops("-carpdev", "netbsd") == [o.ClearCarpdev("-carpdev")]


def test_vhid_clause_holds_the_parameters_after_it() -> None:
    words = "advskew 5 192.168.1.1/24 vhid 1 advskew 100 pass x up vhid 2 state master"
    parsed = grammar.parse(words.split(), policy("freebsd"))
    assert parsed.params == (o.SetAdvskew("advskew", "5"), o.AddressWord("", "192.168.1.1/24"))
    assert parsed.vhids == (
        VhidClause(
            o.SetVhid("vhid", "1"),
            (o.SetAdvskew("advskew", "100"), o.SetPass("pass", "x"), o.Up("up")),
        ),
        VhidClause(o.SetVhid("vhid", "2"), (o.SetState("state", "master"),)),
    )
    assert parsed.ops() == (
        *parsed.params,
        o.SetVhid("vhid", "1"),
        *parsed.vhids[0].params,
        o.SetVhid("vhid", "2"),
        *parsed.vhids[1].params,
    )
    assert grammar.parse(["up"], policy("openbsd")).vhids == ()


def _types(word: str) -> list[str]:
    toks = lexer.tokenize(["carpnodes", word], policy("openbsd"))
    assert toks[0].type == "CARPNODES"
    return [t.type for t in toks[1:]]


def test_carpnodes_are_lexed_into_entries() -> None:
    pair = ["NUMBER", "COLON", "NUMBER"]
    assert _types("3:0,4:0,6:100") == [*pair, "COMMA", *pair, "COMMA", *pair]
    assert _types(" +1: +2x") == [*pair, "REST"]  # sscanf skips blanks and '+', stops after
    assert _types("1:0,x,") == [*pair, "COMMA", "BADNODE", "COMMA", "BADNODE"]
    assert _types("") == ["BADNODE"]
    assert _types("-1:0") == _types("1 :0") == _types("1:") == _types("++1:0") == ["BADNODE"]
    nodes = (o.Carpnode(" +1:0x", "1", "0"), o.Carpnode(""), o.Carpnode("y"))
    assert ops(["carpnodes", " +1:0x,,y"]) == [o.SetCarpnodes("carpnodes", " +1:0x,,y", nodes)]


NODE_TEXT = st.text(st.sampled_from("0123456789:, +x\t\x1c\u0663-"), max_size=12)


@given(NODE_TEXT)
def test_carpnodes_entries_are_what_apply_reads(word: str) -> None:
    # apply reads the entries the grammar makes of the lexer's tokens: they must be what
    # sscanf("%u:%u") reads, as this pattern models it, and the tokens and the
    # operation must give the word back.
    import re

    toks = lexer.carpnodes_tokens(word, 1)
    assert "".join(t.value for t in toks) == word
    entries: list[list[lexer.Token]] = [[]]
    for t in toks:
        if t.type == "COMMA":
            entries.append([])
        else:
            entries[-1].append(t)
    for text, entry in zip(word.split(","), entries, strict=True):
        m = re.match(r"\s*\+?(\d+):\s*\+?(\d+)", text)
        if m is None:
            assert [(t.type, t.value) for t in entry] == [("BADNODE", text)]
        else:
            assert [t.type for t in entry][:3] == ["NUMBER", "COLON", "NUMBER"]
            assert entry[0].value.lstrip().lstrip("+") == m.group(1)
            assert entry[2].value.lstrip().lstrip("+") == m.group(2)
            assert "".join(t.value for t in entry[:3]) == m.group(0)
    (op,) = ops(["carpnodes", word])
    assert isinstance(op, o.SetCarpnodes) and op.value == word
    for text, node in zip(word.split(","), op.nodes, strict=True):
        m = re.match(r"\s*\+?(\d+):\s*\+?(\d+)", text)
        assert node.text == text
        assert (node.vhid, node.advskew) == (m.groups() if m else (None, None))


def _sketch() -> set[tuple[str, tuple[str, ...]]]:
    """The productions the module docstring's sketch of the grammar names."""
    lines = (grammar.__doc__ or "").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    command "))
    rules: set[tuple[str, tuple[str, ...]]] = set()
    lhs = ""
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break  # the prose after the indented sketch
        line = line.split("(")[0].strip()  # a trailing (note)
        if not line:
            continue
        if ":" in line:
            lhs, line = (part.strip() for part in line.split(":", 1))
        else:
            line = line.lstrip("|")
        for alt in line.split("|"):
            rhs = tuple(w for w in alt.split() if w != "<empty>")
            rules.add((lhs, rhs))
    return rules


def test_docstring_sketch_is_the_grammar() -> None:
    # A reader learns the language from the sketch at the top of grammar.py.
    built = {(p.name, tuple(p.prod)) for p in maketables.build_parser().productions[1:]}
    assert _sketch() == built


@pytest.mark.parametrize("personality", ["openbsd", "freebsd"])
@pytest.mark.parametrize("keyword", sorted(lexer.ARG_KEYWORDS))
def test_missing_argument(personality: str, keyword: str) -> None:
    with pytest.raises(IfconfigError) as exc:
        grammar.parse(["vhid", "1", keyword], policy(personality))
    assert exc.value.text == f"ifconfig: '{keyword}' requires argument\n"
    assert exc.value.code == 1


def test_missing_argument_netbsd_is_usage() -> None:
    with pytest.raises(IfconfigError) as exc:
        grammar.parse(["advskew"], policy("netbsd"))
    assert exc.value.text == policy("netbsd").ifconfig_usage and exc.value.code == 1


def test_grammar_has_no_conflicts_and_writes_nothing(tmp_path: Path) -> None:
    stream = io.StringIO()
    log = yacc.PlyLogger(stream)
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        yacc.yacc(
            module=sys.modules[grammar.__name__],
            write_tables=False,
            debug=False,
            tabmodule="carp.ifconfig._no_parsetab",
            errorlog=log,
        )
    finally:
        os.chdir(cwd)
    assert "conflict" not in stream.getvalue()
    assert "WARNING" not in stream.getvalue()
    assert list(tmp_path.iterdir()) == []
    pkg = Path(grammar.__file__).parent
    assert not (pkg / "parsetab.py").exists() and not (pkg / "parser.out").exists()


def test_committed_tables_are_what_ply_builds_now() -> None:
    # Stale after a change to a p_* rule or a keyword: run `make tables`.
    with open(maketables.TABLES_PATH) as fh:
        assert fh.read() == maketables.render()


class _PlyLexer:
    """ply's lexer interface over a ready list of tokens."""

    def __init__(self, toks: list[lexer.Token]) -> None:
        self._toks = iter(toks)

    def input(self, _: object) -> None:
        pass

    def token(self) -> lexer.Token | None:
        return next(self._toks, None)


@functools.cache
def _ply_parser() -> yacc.LRParser:
    return maketables.build_parser()


def _by_ply(toks: list[lexer.Token]) -> object:
    try:
        return _ply_parser().parse("", lexer=_PlyLexer(toks))
    except grammar._SyntaxError as exc:
        return ("error", exc.tok)


def _by_tables(toks: list[lexer.Token]) -> object:
    try:
        return grammar.parse_tokens(toks)
    except grammar._SyntaxError as exc:
        return ("error", exc.tok)


WORDS = st.sampled_from(
    [*lexer.ARG_KEYWORDS, *lexer.FLAG_KEYWORDS, *lexer.FAMILIES, "", "1", "em0", "a b"]
    + ["1:0,2:100", "1:0x", "x,1:0"]
)


@given(st.lists(WORDS, max_size=8), st.sampled_from(["openbsd", "freebsd", "netbsd"]))
def test_committed_tables_parse_as_ply_does(words: list[str], personality: str) -> None:
    try:
        toks = lexer.tokenize(words, policy(personality))
    except IfconfigError:
        return  # a keyword without its argument: the lexer's error, before any parsing
    assert _by_tables(toks) == _by_ply(toks)


TYPES = st.sampled_from(lexer.tokens)


@given(st.lists(TYPES, max_size=6))
def test_token_streams_the_lexer_never_makes_fail_as_with_ply(types: list[str]) -> None:
    # Syntax errors (an ARG out of place, a keyword without its ARG) call p_error with
    # the same token, or None at the end, as ply's own parser does.
    toks = [lexer.Token(t, t.lower(), i) for i, t in enumerate(types)]
    assert _by_tables(toks) == _by_ply(toks)


@pytest.mark.parametrize(
    "types",
    [["UP", "ARG"], ["ADVSKEW", "ARG", "ARG"], ["CARPNODES", "NUMBER", "COLON", "NUMBER", "ARG"]],
)
def test_a_default_reduction_reports_the_same_token(types: list[str]) -> None:
    # The state after each parameter reduces without reading the next token (a
    # DEFAULT); the token that cannot follow is still the one p_error is given.
    toks = [lexer.Token(t, t.lower(), i) for i, t in enumerate(types)]
    assert _by_tables(toks) == _by_ply(toks) == ("error", toks[-1])


def test_most_states_reduce_by_default() -> None:
    from carp.ifconfig import grammar_tables as tables

    assert set(tables.DEFAULT).isdisjoint(tables.ACTION)
    assert len(tables.DEFAULT) > len(tables.ACTION)


def test_write_path_does_not_import_ply() -> None:
    import subprocess

    code = (
        "import sys\n"
        "from carp.ifconfig.operations import parse_command\n"
        "from carp.personality import policy\n"
        "parse_command('carp0', 'inet vhid 1 pass up 192.168.1.1/24'.split(), policy('openbsd'))\n"
        "assert not any(m.startswith('ply') for m in sys.modules), sorted(sys.modules)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "ok\n"


def test_show_path_does_not_import_ply() -> None:
    import subprocess

    code = (
        "import sys, io\n"
        "from carp.ifconfig import cli\n"
        "assert 'ply' not in sys.modules and 'ply.yacc' not in sys.modules\n"
        "assert 'pyroute2' not in sys.modules and 'tabulate' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "ok\n"


def test_parse_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        grammar.parse("vhid 1 advskew 100".split(), policy("openbsd"))
    assert caplog.records == []
