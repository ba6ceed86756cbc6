"""Search queries: one small boolean language, rendered per source and matched locally.

A plan writes queries the way people type them into a search box: words, "quoted phrases",
``AND`` / ``OR`` / ``NOT`` (any case, so the paper's ``{product} and deny`` reads as
intended), parentheses, and adjacency meaning AND. One parse tree serves three uses:

* :func:`render_reddit` and :func:`render_newsapi` write it in each API's syntax;
* :func:`compile_query` matches it against local text (archive dumps, the replay server)
  with the same meaning those search engines give it: case-insensitive, inflections match
  (Snowball English stemmer on both sides), punctuation splits words, and a phrase matches
  its words in order.

Keeping the three in one module is what makes "the archive finds what live search finds"
a testable claim instead of a hope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Union

import snowballstemmer

from miner.core.errors import MinerError

_WORD = re.compile(r"[a-z0-9]+")
_STEMMER = snowballstemmer.stemmer("english")


_STEMS: dict[str, str] = {}  # a plain dict: cheaper per call than lru_cache, and words repeat
_STEMS_MAX = 200_000


def stem(word: str) -> str:
    s = _STEMS.get(word)
    if s is None:
        s = _STEMMER.stemWord(word)
        if len(_STEMS) < _STEMS_MAX:
            _STEMS[word] = s
    return s


def tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric runs: "Character.AI" -> ["character", "ai"]."""
    return _WORD.findall(text.lower())


def stems(text: str) -> list[str]:
    cache = _STEMS
    return [cache.get(t) or stem(t) for t in tokens(text)]


# -- the tree -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Term:
    text: str  # as written, for rendering

    @property
    def stems(self) -> tuple[str, ...]:
        return tuple(stems(self.text))


@dataclass(frozen=True)
class Phrase:
    text: str

    @property
    def stems(self) -> tuple[str, ...]:
        return tuple(stems(self.text))


@dataclass(frozen=True)
class And:
    parts: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    parts: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    part: "Node"


Node = Union[Term, Phrase, And, Or, Not]


class QuerySyntaxError(MinerError):
    pass


# -- parsing ------------------------------------------------------------------------------
_TOKEN = re.compile(r'\s*(?:(?P<phrase>"[^"]*")|(?P<open>\()|(?P<close>\))|(?P<word>[^\s()"]+))')


def _lex(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QuerySyntaxError(f"cannot read the query at position {pos}: {text!r}")
        pos = m.end()
        if m.group("phrase") is not None:
            inner = m.group("phrase")[1:-1].strip()
            if not inner:
                raise QuerySyntaxError(f"empty quoted phrase in {text!r}")
            out.append(("phrase", inner))
        elif m.group("open"):
            out.append(("(", "("))
        elif m.group("close"):
            out.append((")", ")"))
        else:
            w = m.group("word")
            up = w.upper()
            out.append(("op", up) if up in ("AND", "OR", "NOT") else ("word", w))
    if text.count('"') % 2:
        raise QuerySyntaxError(f"unbalanced quote in {text!r}")
    return out


def parse(text: str) -> Node:
    """Parse a query string; raises :class:`QuerySyntaxError` with what is wrong."""
    toks = _lex(text)
    if not toks:
        raise QuerySyntaxError("empty query")
    pos = 0

    def peek() -> tuple[str, str] | None:
        return toks[pos] if pos < len(toks) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        tok = toks[pos]
        pos += 1
        return tok

    def parse_or() -> Node:
        parts = [parse_and()]
        while peek() == ("op", "OR"):
            take()
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and() -> Node:
        parts = [parse_unary()]
        while True:
            tok = peek()
            if tok is None or tok[0] == ")" or tok == ("op", "OR"):
                break
            if tok == ("op", "AND"):
                take()
            parts.append(parse_unary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_unary() -> Node:
        tok = peek()
        if tok is None:
            raise QuerySyntaxError(f"query ends after an operator: {text!r}")
        if tok == ("op", "NOT"):
            take()
            return Not(parse_unary())
        if tok[0] == "word" and tok[1].startswith("-") and len(tok[1]) > 1:
            take()
            return Not(_word_node(tok[1][1:]))
        return parse_atom()

    def parse_atom() -> Node:
        kind, value = take()
        if kind == "(":
            node = parse_or()
            if peek() != (")", ")"):
                raise QuerySyntaxError(f"missing ')' in {text!r}")
            take()
            return node
        if kind == "phrase":
            return Phrase(value)
        if kind == "word":
            return _word_node(value)
        raise QuerySyntaxError(f"unexpected {value!r} in {text!r}")

    node = parse_or()
    if pos != len(toks):
        raise QuerySyntaxError(f"unexpected {toks[pos][1]!r} in {text!r}")
    return node


def _word_node(word: str) -> Node:
    """A word that punctuation splits ("Character.AI", "GPT-4") matches as a phrase."""
    if not tokens(word):
        raise QuerySyntaxError(f"{word!r} has no letters or digits to search for")
    return Term(word) if len(tokens(word)) == 1 else Phrase(word)


def quote_operand(text: str) -> str:
    """How a product name goes into a template: quoted unless it is one plain word."""
    return text if re.fullmatch(r"[A-Za-z0-9]+", text) else f'"{text}"'


# -- rendering ----------------------------------------------------------------------------
def _render(node: Node, *, top: bool = True) -> str:
    if isinstance(node, Term):
        return node.text
    if isinstance(node, Phrase):
        return f'"{node.text}"'
    if isinstance(node, Not):
        return f"NOT {_render(node.part, top=False)}"
    joiner = " AND " if isinstance(node, And) else " OR "
    inner = joiner.join(_render(p, top=False) for p in node.parts)
    return inner if top else f"({inner})"


def render_reddit(node: Node) -> str:
    """Reddit search: uppercase boolean operators, quoted phrases; every term explicit.

    Reddit treats lowercase ``and`` as an ordinary (ignored) word, so the paper's
    ``ChatGPT and deny`` is sent as ``ChatGPT AND deny``.
    """
    return _render(node)


NEWSAPI_MAX_Q = 500


def render_newsapi(node: Node) -> str:
    """NewsAPI ``q``: the same boolean syntax, at most 500 characters (the API's limit)."""
    q = _render(node)
    if len(q) > NEWSAPI_MAX_Q:
        raise QuerySyntaxError(f"NewsAPI queries are limited to {NEWSAPI_MAX_Q} characters; this one has {len(q)}")
    return q


RENDERERS: dict[str, Callable[[Node], str]] = {"reddit": render_reddit, "news": render_newsapi}


# -- matching -----------------------------------------------------------------------------
class IndexedText:
    """Stems of one text, built once and shared by every query.

    Word positions (for phrases) are indexed only when a phrase asks: most texts are only
    ever asked about single words, which a set answers.
    """

    __slots__ = ("stems", "_set", "_positions")

    def __init__(self, text: str) -> None:
        self.stems = stems(text)
        self._set = set(self.stems)
        self._positions: dict[str, list[int]] | None = None

    @property
    def positions(self) -> dict[str, list[int]]:
        if self._positions is None:
            positions: dict[str, list[int]] = {}
            for i, s in enumerate(self.stems):
                positions.setdefault(s, []).append(i)
            self._positions = positions
        return self._positions

    def has(self, seq: tuple[str, ...]) -> bool:
        if not seq or seq[0] not in self._set:
            return False
        if len(seq) == 1:
            return True
        if any(s not in self._set for s in seq[1:]):
            return False
        n = len(seq)
        words = self.stems
        return any(tuple(words[i:i + n]) == seq for i in self.positions[seq[0]])


Matcher = Callable[[IndexedText], bool]


def compile_query(node: Node) -> Matcher:
    """A predicate over :class:`IndexedText` with the search engines' meaning."""
    if isinstance(node, (Term, Phrase)):
        seq = node.stems
        return lambda doc: doc.has(seq)
    if isinstance(node, Not):
        inner = compile_query(node.part)
        return lambda doc: not inner(doc)
    parts = [compile_query(p) for p in node.parts]
    if isinstance(node, And):
        return lambda doc: all(p(doc) for p in parts)
    return lambda doc: any(p(doc) for p in parts)


def required_stems(node: Node) -> set[str] | None:
    """Stems of which at least one must occur for a match (a cheap prefilter), or None."""
    if isinstance(node, (Term, Phrase)):
        return {node.stems[0]} if node.stems else None
    if isinstance(node, Not):
        return None
    if isinstance(node, And):
        options = [required_stems(p) for p in node.parts]
        options = [o for o in options if o]
        return min(options, key=len) if options else None
    sets = [required_stems(p) for p in node.parts]
    if any(s is None for s in sets):
        return None
    return set().union(*sets)  # type: ignore[arg-type]


# -- prefiltering -------------------------------------------------------------------------
def needle(stem_: str) -> str:
    """A substring that every word with this stem contains (lower-cased), for a cheap
    ``in`` test before the real match.

    The Snowball stem is usually a prefix of the word, but it can end in letters the word
    does not have: ``deny`` -> ``deni``, ``dying`` -> ``die``, ``skies`` -> ``sky``,
    ``planibility`` -> ``planibl``. Those invented endings are a final ``e``, ``i`` or ``y``
    (``ie`` at most), or the ``l`` of a final ``bl``, so dropping them leaves a substring of
    every word with that stem. ``tests/test_query.py`` checks this over the corpus's
    vocabulary with the suffixes the stemmer handles. An empty needle means "cannot tell".
    """
    if stem_.endswith("ie"):
        return stem_[:-2]
    if stem_.endswith(("e", "i", "y", "bl")):
        return stem_[:-1]
    return stem_


MIN_NEEDLE = 3  # shorter needles ("ai" -> "a", "4") occur in nearly every text: no use


def needle_clauses(node: Node) -> list[frozenset[str]]:
    """What a matching text must contain: every clause needs one of its needles present.

    A conservative summary of the query (it may let through texts that do not match, never
    the reverse): terms and phrase words are needed (if their needle is long enough to
    tell), ``NOT`` needs nothing, ``AND`` needs all its parts, ``OR`` needs one of its parts'
    first clauses.
    """
    if isinstance(node, (Term, Phrase)):
        return [frozenset({n}) for n in map(needle, node.stems) if len(n) >= MIN_NEEDLE]
    if isinstance(node, Not):
        return []
    parts = [needle_clauses(p) for p in node.parts]
    if isinstance(node, And):
        return [c for p in parts for c in p]
    if any(not p for p in parts):
        return []
    return [frozenset().union(*(p[0] for p in parts))]
