"""The queue's reading order, materialized when scoring runs, and how to read it fast.

``v_queue`` says what the queue is; it joins scores, documents, texts, duplicate groups, hits,
clusters and evidence, and at a million documents takes seconds to produce its first row.
The order changes only when scoring runs, so :func:`refresh_queue_order` writes it to
``queue_order`` then, and the hot paths (the next item, how many are left) read that table
through :func:`undecided`, checking at read time only what can change between scoring runs:
decisions and deletions at the source.
"""

from __future__ import annotations

from datetime import datetime

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.triage.care import flag_pending, flags


def refresh_queue_order(wh: Warehouse) -> int:
    """Materialize the reading order of the current scorer (``queue_order``); returns its size.

    The order changes only when scoring runs, so it is computed then, once, instead of on every
    "next item" (see :func:`undecided`). Care flags are brought up to date first: opt-outs
    filter on them at read time, so every item the queue can hand out must have been flagged.
    """
    flag_pending(wh)
    with wh.transaction():
        wh.execute("DROP INDEX IF EXISTS queue_order_doc")
        wh.execute("DELETE FROM queue_order")
        wh.execute(
            "INSERT INTO queue_order "
            "WITH lanes AS (SELECT coalesce(m.canonical_id, h.doc_id) AS doc_id, "
            "               found_by(count(*) FILTER (WHERE h.via = 'sweep'), count(*) FILTER (WHERE h.via <> 'sweep')) "
            "               AS found_by FROM hits h LEFT JOIN dup_members m USING (doc_id) GROUP BY 1) "
            "SELECT s.doc_id, s.priority, s.score, s.lane, lanes.found_by, coalesce(f.categories, []), "
            "s.scorer_version "
            "FROM scores s JOIN v_current_scorer USING (scorer_version) JOIN documents d USING (doc_id) "
            "LEFT JOIN dup_members g USING (doc_id) LEFT JOIN lanes USING (doc_id) "
            "LEFT JOIN care_flags f USING (doc_id) "
            "WHERE coalesce(g.is_canonical, true) AND d.state = 'ok' ORDER BY s.priority")
        wh.execute("CREATE INDEX queue_order_doc ON queue_order (doc_id)")
    return wh.scalar("SELECT count(*) FROM queue_order")


def order_is_current(wh: Warehouse) -> bool:
    """Does ``queue_order`` hold the current scorer's order (or is there nothing to order)?"""
    current = wh.scalar("SELECT scorer_version FROM v_current_scorer")
    return current is None or wh.scalar("SELECT bool_and(scorer_version = ?) FROM queue_order", [current]) is True


def undecided(all_documents: bool = False) -> str:
    """``FROM ... WHERE ...`` over the materialized order: what ``v_queue`` (or ``v_queue_all``)
    holds now, without a scan of any big table. Decisions made since scoring are skipped here;
    documents deleted at the source since leave ``queue_order`` with their tombstone, and
    :func:`still_ok` checks a candidate by key before it is handed out. Alias ``q``."""
    hits = "" if all_documents else " AND q.found_by IS NOT NULL"
    return f"FROM queue_order q WHERE q.doc_id NOT IN (SELECT doc_id FROM v_annotations_current){hits}"


def count_undecided(wh: Warehouse, all_documents: bool = False, *, before: int | None = None,
                    extra: str = "", params: list | None = None) -> int:
    """How many items the queue holds (ahead of priority ``before``, when given): exact, so
    documents deleted at the source since scoring are left out (one scan of a narrow column)."""
    ahead = " AND q.priority < ?" if before is not None else ""
    return wh.scalar(f"SELECT count(*) {undecided(all_documents)}{ahead}{extra} "
                     "AND q.doc_id NOT IN (SELECT doc_id FROM documents WHERE state <> 'ok')",
                     ([before] if before is not None else []) + (params or []))


def still_ok(wh: Warehouse, doc_id: str) -> bool:
    """Is the document still there at the source (a harvest may have seen it deleted since
    scoring; the tombstone's purge runs with the next deletion check or ``miner process``)?"""
    return wh.scalar("SELECT state = 'ok' FROM documents WHERE doc_id = ?", [doc_id]) is True


def next_in_order(wh: Warehouse, all_documents: bool = False, *, me: str = "", opt: list[str] | None = None,
                  skip: list[str] | None = None, now: datetime | None = None, batch: int = 16) -> list[tuple]:
    """``[(doc_id, priority)]`` of the first undecided item of the order that ``me`` may read:
    not held by someone else, not skipped, not in a care category they opted out of, still
    there at the source; ``[]`` when none is left. Reads a few candidates at a time by position."""
    sql = (f"SELECT q.doc_id, q.priority {undecided(all_documents)} AND NOT list_has_any(q.care, $opt::VARCHAR[]) "
           "AND q.doc_id NOT IN (SELECT doc_id FROM web_claims WHERE annotator <> $me AND expires_at > $now) "
           "AND q.doc_id NOT IN (SELECT unnest($skip::VARCHAR[])) ORDER BY q.priority LIMIT $n OFFSET $off")
    p = {"me": me, "opt": list(opt or []), "skip": list(skip or []), "now": now or now_utc(), "n": batch}
    off = 0
    while True:
        rows = wh.rows(sql, {**p, "off": off})
        ok = readable(wh, [r for r in rows if still_ok(wh, r[0])], p["opt"])
        if ok or len(rows) < batch:
            return ok[:1]
        off += batch


def readable(wh: Warehouse, rows: list[tuple], opt_out: list[str]) -> list[tuple]:
    """``rows`` (doc_id first) in no care category the annotator opted out of, checked by key
    against the care flags themselves: a text flagged only after the order was written (an
    upgraded warehouse, a re-cleaned text) is flagged now, before anyone is shown it."""
    if not rows or not opt_out:
        return rows
    ids = [r[0] for r in rows]
    flag_pending(wh, ids)
    cats = flags(wh, ids)
    return [r for r in rows if not set(cats.get(r[0], [])) & set(opt_out)]
