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
from carp.ifconfig.grammar import Item
from carp.personality import policy


def items(words: str | list[str], personality: str = "openbsd") -> list[Item]:
    ws = words.split() if isinstance(words, str) else words
    return list(grammar.parse(ws, policy(personality)).items)


def ops(words: str, personality: str = "openbsd") -> list[o.Op]:
    return list(o.parse_command("carp0", words.split(), policy(personality)).ops)


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
    assert set(o._ARG_OPS) == set(lexer.ARG_KEYWORDS)
    assert set(o._FLAG_OPS) == set(lexer.FLAG_KEYWORDS)


def test_argument_keyword_consumes_any_next_word() -> None:
    # BSD's NEXTARG: `pass up` sets the pass phrase "up"; it does not bring carp0 up.
    assert items("pass up vhid vhid") == [Item("pass", "up", 0), Item("vhid", "vhid", 2)]


def test_words_are_lexed_whole_even_with_spaces_and_empty() -> None:
    assert items(["pass", "two words", ""]) == [Item("pass", "two words", 0), Item(None, "", 2)]
    assert items(["pass", ""]) == [Item("pass", "", 0)]
    assert items(["vhid\n", "1"]) == [Item(None, "vhid\n", 0), Item(None, "1", 1)]


def test_keywords_are_case_sensitive() -> None:
    assert items("VHID 1") == [Item(None, "VHID", 0), Item(None, "1", 1)]


def test_family_only_as_first_word() -> None:
    parsed = grammar.parse("inet vhid 1 alias 192.168.1.50/32".split(), policy("freebsd"))
    assert parsed.family == "inet"
    assert [i.keyword for i in parsed.items] == ["vhid", "alias", None]
    later = grammar.parse("vhid 1 inet6".split(), policy("freebsd"))
    assert later.family is None and later.items[-1] == Item(None, "inet6", 2)
    assert grammar.parse(["inet6"], policy("openbsd")).family == "inet6"


def test_address_order_is_preserved() -> None:
    words = "192.168.1.1/24 carpdev em0 vhid 1"
    assert [type(op) for op in ops(words)] == [o.AddressWord, o.SetCarpdev, o.SetVhid]


def test_minus_carpdev_is_an_address_on_openbsd() -> None:
    assert ops("-carpdev", "openbsd") == [o.AddressWord("", "-carpdev")]
    assert ops("-carpdev", "netbsd") == [o.ClearCarpdev("-carpdev")]


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
