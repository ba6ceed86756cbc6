"""Could someone paste a sentence of our narrative into a search engine and find the post?

The rule (as in the paper): a narrative may not share a run of more than N consecutive
words (default 6) with any document: its sources, or anything else in the warehouse.
Words are lowercased, apostrophes dropped, split on anything not a letter or digit, so
punctuation and case changes do not hide a copied phrase. Every run of N+1 words of every
document is hashed in DuckDB (vectorized, all cores) and joined against the narrative's
own runs; matches are merged back into maximal spans of the narrative, named with the
documents they came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from miner.db import Warehouse
from miner.incidents import text_relation

DEFAULT_MAX_SHARED_WORDS = 6
_WORD = re.compile(r"[A-Za-z0-9'’]+")


@dataclass(frozen=True)
class SharedSpan:
    text: str            # the narrative's words, as written
    n_words: int
    start: int           # character offsets in the narrative
    end: int
    doc_ids: tuple[str, ...]


def words(text: str) -> list[tuple[str, int, int]]:
    """(normalized word, start, end): the same tokens the SQL below produces."""
    out = []
    for m in _WORD.finditer(text or ""):
        for sub in re.finditer(r"[a-z0-9]+", re.sub(r"['’]", "", m.group(0).lower())):
            out.append((sub.group(0), m.start(), m.end()))
    return out


def _sql_words(expr: str) -> str:
    return f"regexp_extract_all(regexp_replace(lower({expr}), '[''’]', '', 'g'), '[a-z0-9]+')"


def shared_spans(wh: Warehouse, text: str, *, doc_ids: list[str] | None = None,
                 max_shared_words: int = DEFAULT_MAX_SHARED_WORDS) -> list[SharedSpan]:
    """Spans of ``text`` longer than ``max_shared_words`` words that also occur in a document
    (of ``doc_ids`` only, when given; else anywhere in the warehouse)."""
    k = max_shared_words + 1
    toks = words(text)
    if len(toks) < k or doc_ids == []:
        return []
    params: dict = {"w": [t for t, _, _ in toks], "k": k}
    where = "text IS NOT NULL"
    if doc_ids is not None:
        where += " AND doc_id IN (SELECT unnest($ids::VARCHAR[]))"
        params["ids"] = list(doc_ids)
    rows = wh.rows(f"""
        WITH nar AS (
            SELECT i, hash(array_to_string(list_slice($w, i, i + $k - 1), ' ')) AS h
            FROM (SELECT unnest(range(1, len($w) - $k + 2)) AS i)
        ), src AS (
            SELECT doc_id, {_sql_words('text')} AS w FROM ({text_relation()}) WHERE {where}
        ), sh AS (
            SELECT doc_id, hash(array_to_string(list_slice(w, i, i + $k - 1), ' ')) AS h
            FROM (SELECT doc_id, w, unnest(range(1, len(w) - $k + 2)) AS i FROM src)
            WHERE h IN (SELECT h FROM nar)
        )
        SELECT nar.i, list(DISTINCT sh.doc_id ORDER BY sh.doc_id) FROM nar JOIN sh USING (h) GROUP BY nar.i ORDER BY nar.i
    """, params)
    spans: list[SharedSpan] = []
    run: list[tuple[int, list[str]]] = []

    def close() -> None:
        if not run:
            return
        first, last = run[0][0] - 1, run[-1][0] - 1 + k - 1  # 0-based word indices
        docs = sorted({d for _, ds in run for d in ds})
        start, end = toks[first][1], toks[last][2]
        while text[start] in "'’":
            start += 1
        while text[end - 1] in "'’":
            end -= 1
        spans.append(SharedSpan(text[start:end], last - first + 1, start, end, tuple(docs)))
        run.clear()

    for i, docs in rows:
        if run and i != run[-1][0] + 1:
            close()
        run.append((i, docs))
    close()
    return spans
