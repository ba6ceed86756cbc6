"""Deduplicate: link documents that tell the same story, never delete one (docs/design.md §3).

The paper's 75 queries return the same posts again and again, people repost and crosspost,
and outlets syndicate one wire story. Annotators must read each story once, so documents are
grouped and each group has one *canonical* member that later stages read
(``v_canonical_documents``); the others stay in the warehouse, linked, with the method and
the similarity that tied them in (``dup_links``, ``dup_members``).

Levels, cheapest first:

* **same id**: the harvest's upsert (one row per ``doc_id``), nothing to do here;
* **crosspost**: Reddit's own ``crosspost_parent``;
* **same_text**: identical normalized words (case, punctuation and spacing ignored) of texts
  with at least ``MIN_WORDS`` words: thousands of comments say "Same here." and are not one story;
* **near_text**: Jaccard similarity of word 5-shingles >= ``NEAR_JACCARD`` (0.8). Candidates come
  from datasketch's MinHash LSH (128 permutations, LSH threshold 0.7 so pairs near the line are
  not lost to the estimate's noise); each candidate is then checked with the exact Jaccard. Word
  5-shingles and 0.8 were chosen on the replay corpus (``bench/dedup.py`` prints the figures):
  reposts with an added line or a fixed typo keep 0.7-0.98 of their 5-shingles, while
  templated look-alikes by different people (the same sentence frame with another product or
  place in it) reach 0.8 far less often with 5-shingles than with 2- or 3-shingles;
* **semantic**: embedding cosine, for what rewording hides from shingles. Two cases only:
  news articles published within ``NEWS_WINDOW_DAYS`` of each other with cosine >=
  ``NEWS_COSINE`` that name the same specific person, place or organisation (a rewrite of a
  wire story keeps its names; related stories of the same week do not), and submissions by the
  same (pseudonymized) author with cosine >= ``AUTHOR_COSINE`` (a repost reworded by its own
  writer). Article pairs are also held to the 7-day window for near_text, and near-identical
  articles whose names disagree (the same template about Ontario and about Texas) are not linked.

Groups are the connected components of the links. The canonical member is the earliest
published member that still has text, and never a crosspost when its original is in the
group: the original of a crosspost, the first post of a repost, the first outlet to run a
syndicated story. Ties go to the first seen, then the smallest id.

Incremental: per document the stage keeps a signature (normalized-text hash, MinHash, names)
made from its cleaned text. New or changed documents are compared with the whole warehouse
(same_text by a join on the hash, near_text by querying an LSH index rebuilt from the stored
signatures) and old pairs are never recomputed; a rerun on an unchanged warehouse compares
nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa

from miner.core.clock import now_utc
from miner.core.db import Warehouse

MIN_WORDS = 20
SHINGLE_WORDS = 5
NUM_PERM = 128
LSH_THRESHOLD = 0.7
NEAR_JACCARD = 0.8
NEWS_WINDOW_DAYS = 7
NEWS_COSINE = 0.70
AUTHOR_COSINE = 0.75
# A name found in more than this share of the warehouse's articles (and in more than
# COMMON_NAME_MIN of them) says nothing about which story an article tells.
COMMON_NAME_SHARE = 0.05
COMMON_NAME_MIN = 5
MINHASH_SCHEME = "affine32"
PARAMS = f"dedup-1/w{SHINGLE_WORDS}/p{NUM_PERM}/{MINHASH_SCHEME}/min{MIN_WORDS}"

METHODS = ("crosspost", "same_text", "near_text", "semantic")  # strongest first

_WORDS = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?…:;\"”])\s+|\n+|\s+[-—–]\s+")
_NAME_WORD = re.compile(r"[A-Za-z][\w'’.-]*\w|[A-Za-z]")
_NOT_NAMES = {"the", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january",
              "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december"}


# -- signatures -------------------------------------------------------------------------------
def words(text: str) -> list[str]:
    """Normalized words: case-folded, punctuation and spacing dropped."""
    return _WORDS.findall(text.casefold())


def shingles(tokens: list[str], k: int = SHINGLE_WORDS) -> set[str]:
    if len(tokens) <= k:
        return {" ".join(tokens)}
    return {" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def names(text: str) -> list[str]:
    """Capitalized words that do not start a sentence: who and where a news story is about.

    A plain heuristic (no model): good enough to tell "the same story reworded" (it keeps
    Duluth and Achterberg) from "the same template about another place" (Ontario vs Texas).
    """
    out: set[str] = set()
    for sentence in _SENTENCE.split(text):
        for w in _NAME_WORD.findall(sentence)[1:]:
            if w[0].isupper():
                w = re.sub(r"['’]s$", "", w).rstrip(".").casefold()
                if len(w) >= 3 and w not in _NOT_NAMES:
                    out.add(w)
    return sorted(out)


@dataclass
class Signature:
    norm_hash: str | None
    minhash: np.ndarray | None  # uint32[NUM_PERM]
    names: list[str] | None


def signatures(texts: list[str], kinds: list[str], bodies: list[str | None]) -> list[Signature]:
    """Signatures for a batch of cleaned texts (MinHash computed in bulk)."""
    from datasketch import MinHash  # lazy: datasketch pulls in scipy (0.5 s); most commands never dedup
    toks = [words(t) for t in texts]
    long_enough = [i for i, t in enumerate(toks) if len(t) >= MIN_WORDS]
    hashes = MinHash.bulk(([s.encode() for s in shingles(toks[i])] for i in long_enough),
                          num_perm=NUM_PERM, seed=1, scheme=MINHASH_SCHEME)
    by_index = {i: m.hashvalues.astype(np.uint32) for i, m in zip(long_enough, hashes)}
    out = []
    for i, t in enumerate(toks):
        mh = by_index.get(i)
        out.append(Signature(
            norm_hash=hashlib.sha1(" ".join(t).encode()).hexdigest() if mh is not None else None,
            minhash=mh,
            names=names(bodies[i] or texts[i]) if kinds[i] == "article" else None))
    return out


def update_signatures(wh: Warehouse, *, batch_size: int = 2_000) -> int:
    """Compute signatures for documents whose cleaned text is new or changed.

    A changed text also drops the document's text-based links: they were evidence about
    the old text. Returns how many documents got a new signature.
    """
    done = 0
    while True:
        rows = wh.dicts(
            "SELECT c.doc_id, c.text, c.body, c.text_hash, c.state, d.kind FROM clean_texts c "
            "JOIN documents d USING (doc_id) LEFT JOIN dedup_signatures s USING (doc_id) "
            "WHERE s.doc_id IS NULL OR s.text_hash <> c.text_hash OR s.params <> ? "
            "ORDER BY c.doc_id LIMIT ?", [PARAMS, batch_size])
        if not rows:
            return done
        usable = [r["state"] == "ok" for r in rows]
        sigs = signatures([r["text"] if ok else "" for r, ok in zip(rows, usable)], [r["kind"] for r in rows],
                          [r["body"] if ok else None for r, ok in zip(rows, usable)])
        now = now_utc()
        mh_type = pa.list_(pa.uint32(), NUM_PERM)
        table = pa.table({
            "doc_id": [r["doc_id"] for r in rows],
            "text_hash": [r["text_hash"] for r in rows],
            "params": [PARAMS] * len(rows),
            "norm_hash": [s.norm_hash for s in sigs],
            "minhash": pa.array([s.minhash if s.minhash is not None else None for s in sigs], type=mh_type),
            "names": pa.array([s.names for s in sigs], type=pa.list_(pa.string())),
            "computed_at": [now] * len(rows),
            "linked_at": pa.nulls(len(rows), pa.timestamp("us")),
            "semantic_key": pa.nulls(len(rows), pa.string()),
        })
        ids = table.column("doc_id").to_pylist()
        with wh.transaction():
            wh.execute("DELETE FROM dup_links WHERE method IN ('same_text', 'near_text', 'semantic') AND "
                       "(doc_a IN (SELECT unnest(?)) OR doc_b IN (SELECT unnest(?)))", [ids, ids])
            wh.insert("dedup_signatures", table, on_conflict="(doc_id) DO UPDATE SET " + ", ".join(
                f"{c} = excluded.{c}" for c in table.column_names if c != "doc_id"))
        done += len(rows)


# -- links ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Link:
    doc_a: str
    doc_b: str
    method: str
    similarity: float

    @staticmethod
    def of(a: str, b: str, method: str, similarity: float) -> "Link":
        lo, hi = (a, b) if a < b else (b, a)
        return Link(lo, hi, method, round(float(similarity), 6))


def _save_links(wh: Warehouse, links: list[Link]) -> int:
    unique = {(lk.doc_a, lk.doc_b, lk.method): lk for lk in links if lk.doc_a != lk.doc_b}
    if not unique:
        return 0
    before = wh.scalar("SELECT count(*) FROM dup_links")
    now = now_utc()
    wh.insert("dup_links", [dict(vars(lk), found_at=now) for lk in unique.values()], on_conflict="DO NOTHING")
    return wh.scalar("SELECT count(*) FROM dup_links") - before


def link_crossposts(wh: Warehouse) -> int:
    """A crosspost and its original (when both are in the warehouse). Pure SQL, every run:
    a crosspost harvested before its original is linked the day the original arrives."""
    with wh.transaction():
        wh.execute("DELETE FROM dup_links l WHERE method = 'crosspost' AND NOT EXISTS ("
                   " SELECT 1 FROM documents d JOIN documents p ON p.doc_id = d.crosspost_parent"
                   " WHERE d.state = 'ok' AND p.state = 'ok' AND"
                   " least(d.doc_id, d.crosspost_parent) = l.doc_a AND greatest(d.doc_id, d.crosspost_parent) = l.doc_b)")
        before = wh.scalar("SELECT count(*) FROM dup_links")
        wh.execute("INSERT INTO dup_links SELECT least(d.doc_id, p.doc_id), greatest(d.doc_id, p.doc_id), "
                   "'crosspost', 1.0, ? FROM documents d JOIN documents p ON p.doc_id = d.crosspost_parent "
                   "WHERE d.doc_id <> p.doc_id AND d.state = 'ok' AND p.state = 'ok' ON CONFLICT DO NOTHING", [now_utc()])
        return wh.scalar("SELECT count(*) FROM dup_links") - before


def link_same_text(wh: Warehouse) -> int:
    """Pending documents whose normalized words equal another document's."""
    rows = wh.rows("SELECT s.doc_id, o.doc_id FROM dedup_signatures s JOIN dedup_signatures o "
                   "ON o.norm_hash = s.norm_hash AND o.doc_id <> s.doc_id WHERE s.linked_at IS NULL")
    return _save_links(wh, [Link.of(a, b, "same_text", 1.0) for a, b in rows])


@dataclass
class _DocMeta:
    kind: str
    created_at: datetime | None
    names: list[str]


def _meta(wh: Warehouse, ids: list[str]) -> dict[str, _DocMeta]:
    rows = wh.rows("SELECT d.doc_id, d.kind, d.created_at, s.names FROM documents d JOIN dedup_signatures s "
                   "USING (doc_id) WHERE d.doc_id IN (SELECT unnest(?))", [ids])
    return {r[0]: _DocMeta(r[1], r[2], r[3] or []) for r in rows}


def _within_window(a: _DocMeta, b: _DocMeta) -> bool:
    if a.created_at is None or b.created_at is None:
        return False
    return abs((a.created_at - b.created_at).total_seconds()) <= NEWS_WINDOW_DAYS * 86_400


def _names_conflict(a: _DocMeta, b: _DocMeta) -> bool:
    """Both articles name someone or somewhere, and never the same: a template, two stories."""
    return bool(a.names) and bool(b.names) and not set(a.names) & set(b.names)


def load_minhashes(wh: Warehouse) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Every stored MinHash: ids, a (n, NUM_PERM) uint32 matrix, and which are pending."""
    tbl = wh.arrow("SELECT doc_id, minhash, linked_at IS NULL AS pending FROM dedup_signatures "
                   "WHERE minhash IS NOT NULL ORDER BY doc_id")
    ids = tbl.column("doc_id").to_pylist()
    col = tbl.column("minhash").combine_chunks()
    matrix = col.flatten().to_numpy(zero_copy_only=False).reshape(len(ids), NUM_PERM) if ids else \
        np.zeros((0, NUM_PERM), dtype=np.uint32)
    return ids, matrix, tbl.column("pending").to_numpy(zero_copy_only=False)


def near_text_candidates(ids: list[str], matrix: np.ndarray, pending: np.ndarray) -> set[tuple[str, str]]:
    """Pairs (pending document, any document) that MinHash LSH says may be near-duplicates."""
    if not pending.any():
        return set()
    from datasketch import LeanMinHash, MinHashLSH  # lazy: see signatures()
    lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for doc_id, hv in zip(ids, matrix):
            session.insert(doc_id, LeanMinHash(seed=1, hashvalues=hv, scheme=MINHASH_SCHEME), check_duplication=False)
    pairs: set[tuple[str, str]] = set()
    for i in np.flatnonzero(pending):
        doc_id = ids[i]
        for other in lsh.query(LeanMinHash(seed=1, hashvalues=matrix[i], scheme=MINHASH_SCHEME)):
            if other != doc_id:
                pairs.add((doc_id, other) if doc_id < other else (other, doc_id))
    return pairs


def link_near_text(wh: Warehouse) -> int:
    """Pending documents whose word 5-shingles overlap another's by NEAR_JACCARD or more."""
    ids, matrix, pending = load_minhashes(wh)
    pairs = near_text_candidates(ids, matrix, pending)
    if not pairs:
        return 0
    involved = sorted({d for p in pairs for d in p})
    texts = dict(wh.rows("SELECT doc_id, text FROM clean_texts WHERE doc_id IN (SELECT unnest(?))", [involved]))
    meta = _meta(wh, involved)
    sh = {d: shingles(words(texts[d])) for d in involved}
    same = {(a, b) for a, b in wh.rows("SELECT doc_a, doc_b FROM dup_links WHERE method = 'same_text'")}
    links = []
    for a, b in pairs:
        if (a, b) in same:
            continue
        ma, mb = meta[a], meta[b]
        if ma.kind == "article" and mb.kind == "article" and (not _within_window(ma, mb) or _names_conflict(ma, mb)):
            continue
        j = jaccard(sh[a], sh[b])
        if j >= NEAR_JACCARD:
            links.append(Link.of(a, b, "near_text", j))
    return _save_links(wh, links)


def mark_linked(wh: Warehouse) -> int:
    n = wh.scalar("SELECT count(*) FROM dedup_signatures WHERE linked_at IS NULL")
    wh.execute("UPDATE dedup_signatures SET linked_at = ? WHERE linked_at IS NULL", [now_utc()])
    return n


# -- semantic links (after the embed stage) ----------------------------------------------------
def common_names(wh: Warehouse) -> set[str]:
    n_articles = wh.scalar("SELECT count(*) FROM dedup_signatures WHERE names IS NOT NULL") or 0
    limit = max(COMMON_NAME_MIN, COMMON_NAME_SHARE * n_articles)
    return {r[0] for r in wh.rows("SELECT name, count(*) FROM (SELECT unnest(names) AS name FROM dedup_signatures) "
                                  "GROUP BY name HAVING count(*) > ?", [limit])}


def _vectors(wh: Warehouse, model_id: str, where: str, params: list) -> tuple[list[dict], np.ndarray]:
    tbl = wh.arrow(
        "SELECT d.doc_id, d.kind, d.author_hash, d.created_at, s.names, s.semantic_key, e.vector "
        "FROM dedup_signatures s JOIN documents d USING (doc_id) JOIN clean_texts c USING (doc_id) "
        "JOIN embeddings e ON e.text_hash = c.text_hash AND e.model_id = ? "
        f"WHERE c.state = 'ok' AND ({where}) ORDER BY d.doc_id", [model_id, *params])
    rows = tbl.drop(["vector"]).to_pylist()
    vec = tbl.column("vector").combine_chunks()
    dim = vec.type.list_size if rows else 0
    matrix = vec.flatten().to_numpy(zero_copy_only=False).reshape(len(rows), dim) if rows else np.zeros((0, 0))
    return rows, matrix.astype(np.float32, copy=False)


def link_semantic(wh: Warehouse, model_id: str) -> tuple[int, int]:
    """Compare documents not yet compared under ``model_id`` with their candidates.

    Returns (documents compared, links added). Candidates are few by construction: other
    articles of the same fortnight, or the same author's other submissions.
    """
    rows, X = _vectors(wh, model_id, "d.kind = 'article' OR (d.kind = 'submission' AND d.author_hash IS NOT NULL)", [])
    pending = [i for i, r in enumerate(rows) if r["semantic_key"] != model_id]
    if not pending:
        return 0, 0
    common = common_names(wh)
    articles = [i for i, r in enumerate(rows) if r["kind"] == "article"]
    art_times = np.array([rows[i]["created_at"].timestamp() if rows[i]["created_at"] else np.nan for i in articles])
    by_author: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r["kind"] == "submission":
            by_author[r["author_hash"]].append(i)
    links: list[Link] = []
    for i in pending:
        r = rows[i]
        if r["kind"] == "article":
            if r["created_at"] is None:
                continue
            near = np.abs(art_times - r["created_at"].timestamp()) <= NEWS_WINDOW_DAYS * 86_400
            cands = [articles[k] for k in np.flatnonzero(near) if articles[k] != i]
            threshold = NEWS_COSINE
        else:
            cands = [k for k in by_author[r["author_hash"]] if k != i]
            threshold = AUTHOR_COSINE
        if not cands:
            continue
        sims = X[cands] @ X[i]
        for k, sim in zip(cands, sims):
            if sim < threshold:
                continue
            o = rows[k]
            if r["kind"] == "article" and not (set(r["names"] or ()) & set(o["names"] or ()) - common):
                continue
            links.append(Link.of(r["doc_id"], o["doc_id"], "semantic", min(float(sim), 1.0)))
    with wh.transaction():
        added = _save_links(wh, links)
        wh.execute("UPDATE dedup_signatures SET semantic_key = ? WHERE doc_id IN (SELECT unnest(?))",
                   [model_id, [rows[i]["doc_id"] for i in pending]])
    return len(pending), added


# -- groups -----------------------------------------------------------------------------------
def components(links: list[tuple[str, str]]) -> list[set[str]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, set[str]] = defaultdict(set)
    for x in parent:
        groups[find(x)].add(x)
    return list(groups.values())


def canonical_key(m: dict) -> tuple:
    """Sort key: the first member is the canonical one (see the module docstring)."""
    never = datetime.max
    return (m["state"] != "ok", m["crosspost_of_member"], m["created_at"] or never, m["first_seen_at"] or never,
            m["doc_id"])


def regroup(wh: Warehouse) -> tuple[int, int]:
    """Rebuild ``dup_members`` from ``dup_links`` (only when something changed).

    Returns (groups, documents in groups). Cheap: it reads the links and the members'
    metadata, not the texts.
    """
    links = wh.rows("SELECT doc_a, doc_b, method, similarity FROM dup_links")
    groups = components([(a, b) for a, b, _, _ in links])
    members = sorted({d for g in groups for d in g})
    meta = {r["doc_id"]: r for r in wh.dicts(
        "SELECT d.doc_id, coalesce(c.state, d.state) AS state, d.crosspost_parent, d.created_at, d.first_seen_at "
        "FROM documents d LEFT JOIN clean_texts c USING (doc_id) WHERE d.doc_id IN (SELECT unnest(?))", [members])}
    by_doc: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for a, b, method, sim in links:
        by_doc[a].append((b, method, sim))
        by_doc[b].append((a, method, sim))
    rank = {m: i for i, m in enumerate(METHODS)}
    rows = []
    for g in groups:
        for d in g:
            parent = meta[d]["crosspost_parent"]
            meta[d]["crosspost_of_member"] = parent is not None and parent in g
        ordered = sorted((meta[d] for d in g), key=canonical_key)
        canon = ordered[0]["doc_id"]
        for m in ordered:
            d = m["doc_id"]
            if d == canon:
                rows.append((d, canon, True, None, None, len(g)))
                continue
            own = by_doc[d]
            direct = [x for x in own if x[0] == canon]
            _, method, sim = min(direct or own, key=lambda x: (rank[x[1]], -x[2]))
            rows.append((d, canon, False, method, sim, len(g)))
    current = set(wh.rows("SELECT doc_id, canonical_id, is_canonical, method, similarity, group_size FROM dup_members"))
    if current != set(rows):
        now = now_utc()
        cols = ("doc_id", "canonical_id", "is_canonical", "method", "similarity", "group_size")
        with wh.transaction():
            wh.execute("DELETE FROM dup_members")
            wh.insert("dup_members", [dict(zip(cols, r), updated_at=now) for r in rows])
    return len(groups), len(rows)


# -- the stages ---------------------------------------------------------------------------------
@dataclass
class DedupReport:
    signatures: int = 0  # documents (re)signed this run
    compared: int = 0  # documents compared with the warehouse
    links_added: int = 0
    groups: int = 0
    grouped_documents: int = 0

    def counts(self) -> Counter:
        return Counter({k: v for k, v in vars(self).items() if v})


def dedup_text(wh: Warehouse) -> DedupReport:
    """Crossposts, same text and near-same text for every document not yet compared."""
    report = DedupReport(signatures=update_signatures(wh))
    report.links_added += link_crossposts(wh)
    report.links_added += link_same_text(wh)
    report.links_added += link_near_text(wh)
    report.compared = mark_linked(wh)
    report.groups, report.grouped_documents = regroup(wh)
    return report


def dedup_semantic(wh: Warehouse, model_id: str) -> DedupReport:
    """Semantic links for documents with a vector not yet compared under ``model_id``."""
    report = DedupReport()
    report.compared, report.links_added = link_semantic(wh, model_id)
    report.groups, report.grouped_documents = regroup(wh)
    return report
