"""Could someone paste a sentence of our narrative into a search engine and find the post?

The rule (as in the paper): a narrative may not share a run of more than N consecutive
words (default 6) with any document: its sources, or anything else in the warehouse.
Words are lowercased, apostrophes dropped, split on anything not a letter or digit, so
punctuation and case changes do not hide a copied phrase.

How it stays fast: every run of 7 words ("shingle") of every document is hashed once into
``doc_shingles`` with its position (refreshed incrementally: only new, changed or purged
documents are touched). A check hashes the narrative's own 7-word runs and joins: a few
hundred hashes against the index, milliseconds. A run of m shared words shows up as m-6
matches on one "diagonal" (document position minus narrative position), so longer limits
(N > 6) need that many consecutive matches; shorter ones (N < 6) scan the text directly.
Matches are merged back into maximal spans of the narrative, named with their documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from miner.collect.store import text_relation
from miner.core.db import Warehouse

DEFAULT_MAX_SHARED_WORDS = 6
INDEX_K = DEFAULT_MAX_SHARED_WORDS + 1
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


def _shingles_sql(words_expr: str, k: str) -> str:
    """(pos, h) of every k-word run of the list ``words_expr`` (to be unnested per row)."""
    return (f"unnest(range(1, len({words_expr}) - {k} + 2)) AS pos")


def refresh_index(wh: Warehouse) -> int:
    """Bring ``doc_shingles`` up to date with the documents' text; returns documents (re)indexed."""
    with wh.transaction():
        wh.execute(f"""
            CREATE OR REPLACE TEMP TABLE _cur AS SELECT doc_id, md5(text) AS text_md5, text
            FROM ({text_relation()}) WHERE text IS NOT NULL""")
        wh.execute("""CREATE OR REPLACE TEMP TABLE _stale AS
            SELECT s.doc_id FROM shingle_docs s LEFT JOIN _cur c USING (doc_id)
            WHERE c.doc_id IS NULL OR c.text_md5 <> s.text_md5""")
        wh.execute("DELETE FROM doc_shingles WHERE doc_id IN (SELECT doc_id FROM _stale)")
        wh.execute("DELETE FROM shingle_docs WHERE doc_id IN (SELECT doc_id FROM _stale)")
        wh.execute("""CREATE OR REPLACE TEMP TABLE _new AS
            SELECT c.* FROM _cur c ANTI JOIN shingle_docs s USING (doc_id)""")
        n = wh.scalar("SELECT count(*) FROM _new")
        if n:
            wh.execute(f"""
                INSERT INTO doc_shingles
                SELECT doc_id, pos, md5_number_lower(array_to_string(list_slice(w, pos, pos + {INDEX_K} - 1), ' '))
                FROM (SELECT doc_id, w, {_shingles_sql('w', str(INDEX_K))}
                      FROM (SELECT doc_id, {_sql_words('text')} AS w FROM _new))""")
            wh.execute("INSERT INTO shingle_docs SELECT doc_id, text_md5 FROM _new")
        for t in ("_cur", "_stale", "_new"):
            wh.execute(f"DROP TABLE IF EXISTS {t}")
    return n


def shared_spans(wh: Warehouse, text: str, *, doc_ids: list[str] | None = None,
                 max_shared_words: int = DEFAULT_MAX_SHARED_WORDS) -> list[SharedSpan]:
    """Spans of ``text`` longer than ``max_shared_words`` words that also occur in a document
    (of ``doc_ids`` only, when given; else anywhere in the warehouse)."""
    toks = words(text)
    if len(toks) <= max_shared_words or doc_ids == []:
        return []
    use_index = max_shared_words >= DEFAULT_MAX_SHARED_WORDS and not wh.read_only
    k = INDEX_K if use_index else max_shared_words + 1
    params: dict = {"w": [t for t, _, _ in toks], "k": k, "min_len": max_shared_words + 2 - k}
    only = ""
    if doc_ids is not None:
        only = "WHERE doc_id IN (SELECT unnest($ids::VARCHAR[]))"
        params["ids"] = list(doc_ids)
    if use_index:
        refresh_index(wh)
        source = f"SELECT doc_id, pos, h FROM doc_shingles {only}"
    else:
        source = f"""SELECT doc_id, pos, md5_number_lower(array_to_string(list_slice(w, pos, pos + $k - 1), ' ')) AS h
                     FROM (SELECT doc_id, w, {_shingles_sql('w', '$k')}
                           FROM (SELECT doc_id, {_sql_words('text')} AS w FROM ({text_relation()}) {only}))"""
    rows = wh.rows(f"""
        WITH nar AS (
            SELECT pos AS i, md5_number_lower(array_to_string(list_slice($w, pos, pos + $k - 1), ' ')) AS h
            FROM (SELECT {_shingles_sql('$w', '$k')})
        ), m AS (
            SELECT nar.i, sh.doc_id, sh.pos - nar.i AS diag
            FROM nar JOIN ({source}) sh USING (h)
        ), isl AS (
            SELECT doc_id, diag, i, i - row_number() OVER (PARTITION BY doc_id, diag ORDER BY i) AS grp FROM m
        )
        SELECT min(i), max(i), doc_id FROM isl GROUP BY doc_id, diag, grp HAVING count(*) >= $min_len
        ORDER BY 1, 2, 3
    """, params)
    # Runs as word ranges; overlapping runs (from any documents) merge into one span.
    spans: list[SharedSpan] = []
    cur: list = []  # [first_word, last_word, docs]
    for first_i, last_i, doc_id in rows:
        a, b = first_i - 1, last_i - 1 + k - 1
        if cur and a <= cur[1]:
            cur[1] = max(cur[1], b)
            cur[2].add(doc_id)
            continue
        if cur:
            spans.append(_span(text, toks, *cur))
        cur = [a, b, {doc_id}]
    if cur:
        spans.append(_span(text, toks, *cur))
    return spans


def _span(text: str, toks: list[tuple[str, int, int]], first: int, last: int, docs: set[str]) -> SharedSpan:
    start, end = toks[first][1], toks[last][2]
    while text[start] in "'’":
        start += 1
    while text[end - 1] in "'’":
        end -= 1
    return SharedSpan(text[start:end], last - first + 1, start, end, tuple(sorted(docs)))
