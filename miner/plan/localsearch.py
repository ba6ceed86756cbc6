"""Local search: a plan's Reddit queries applied to text here, with live search's meaning.

Archive imports (:mod:`miner.collect.archive`) match dump lines with it, and plan evaluation
(:mod:`miner.tuning.evaluate`) matches labelled documents with it, so a query means the same
whether Reddit runs it, a backfill applies it to a dump, or an evaluation predicts what it finds.
Matching is :mod:`miner.plan.query`'s (the matcher the replay server uses for Reddit search);
scopes are the queries' subreddits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from miner.plan.plan import PlannedQuery
from miner.plan.query import IndexedText, Matcher, compile_query, needle_clauses, parse, quote_operand


@dataclass(frozen=True)
class _Compiled:
    query: PlannedQuery
    match: Matcher
    key: frozenset[str]  # its most selective needle clause: a text must contain one of these
    rest: tuple[frozenset[str], ...]  # its other clauses
    subreddits: frozenset[str]


class LocalSearch:
    """A plan's Reddit queries (live or archive twins) as one local search over items of text.

    Each query is indexed by a key needle clause that every text it matches must satisfy:
    the clause of its product (every template has one, and product names are rare words),
    else its clause with the longest needles. A text is stemmed and indexed only when it
    contains, for some query, its key and a needle of each other clause.
    """

    def __init__(self, queries: Iterable[PlannedQuery]) -> None:
        compiled = []
        for q in queries:
            node = parse(q.rendered)
            clauses = needle_clauses(node)
            product = needle_clauses(parse(quote_operand(q.product)))[:1] if q.product else []
            key = product[0] if product and product[0] in clauses else \
                max(clauses, key=lambda cl: min(map(len, cl)), default=frozenset())
            compiled.append(_Compiled(q, compile_query(node), key, tuple(c for c in clauses if c is not key),
                                      frozenset(s.lower() for s in q.scope.split("+"))))
        self.subreddits: frozenset[str] = frozenset().union(*(c.subreddits for c in compiled))
        # subreddit -> key needle -> (position, query); "" holds queries without a key
        self._index: dict[str, dict[str, list[tuple[int, _Compiled]]]] = {}
        for i, c in enumerate(compiled):
            for sub in c.subreddits:
                for n in c.key or {""}:
                    self._index.setdefault(sub, {}).setdefault(n, []).append((i, c))
        # Needles one of which every matching text contains; None when some query needs
        # no word at all (``NOT x``), so that no text can be ruled out without matching it.
        self.key_needles: frozenset[str] | None = \
            None if any(not c.key for c in compiled) else frozenset().union(*(c.key for c in compiled))

    def search(self, subreddit: str, text: str) -> list[PlannedQuery]:
        """The queries whose scope holds ``subreddit`` and whose terms match ``text``."""
        index = self._index.get(subreddit.lower())
        if index is None or not text:
            return []
        low = text.lower()
        candidates = {i: c for n, queries in index.items() if n in low for i, c in queries}
        if not candidates:
            return []
        seen: dict[str, bool] = {}

        def has(n: str) -> bool:
            if n not in seen:
                seen[n] = n in low
            return seen[n]

        doc = None
        found = []
        for _, c in sorted(candidates.items()):
            if all(any(has(n) for n in cl) for cl in c.rest):
                doc = doc or IndexedText(text)
                if c.match(doc):
                    found.append(c.query)
        return found


