"""The queue's reading order, materialized when scoring runs, and how to read it fast.

``v_queue`` says what the queue is; it joins scores, documents, texts, duplicate groups, hits,
clusters and evidence, and at a million documents takes seconds to produce its first row.
The order changes only when scoring runs, so :func:`refresh_queue_order` writes it to
``queue_order`` then, and the hot paths (the next item, how many are left) read that table
through :func:`undecided`, checking at read time only what can change between scoring runs:
decisions and deletions at the source.
"""

from __future__ import annotations

from miner.core.db import Warehouse
from miner.triage.care import flag_pending


def refresh_queue_order(wh: Warehouse) -> int:
    """Materialize the reading order of the current scorer (``queue_order``); returns its size.

    The order changes only when scoring runs, so it is computed then, once, instead of on every
    "next item" (see :func:`undecided`). Care flags are brought up to date first: opt-outs
    filter on them at read time, so every item the queue can hand out must have been flagged.
    """
    flag_pending(wh)
    with wh.transaction():
        wh.execute("DELETE FROM queue_order")
        wh.execute(
            "INSERT INTO queue_order "
            "WITH lanes AS (SELECT coalesce(m.canonical_id, h.doc_id) AS doc_id, "
            "               found_by(count(*) FILTER (WHERE h.via = 'sweep'), count(*) FILTER (WHERE h.via <> 'sweep')) "
            "               AS found_by FROM hits h LEFT JOIN dup_members m USING (doc_id) GROUP BY 1) "
            "SELECT s.doc_id, s.priority, lanes.found_by, s.scorer_version "
            "FROM scores s JOIN v_current_scorer USING (scorer_version) LEFT JOIN dup_members g USING (doc_id) "
            "LEFT JOIN lanes USING (doc_id) WHERE coalesce(g.is_canonical, true) ORDER BY s.priority")
    return wh.scalar("SELECT count(*) FROM queue_order")


def order_is_current(wh: Warehouse) -> bool:
    """Does ``queue_order`` hold the current scorer's order (or is there nothing to order)?"""
    current = wh.scalar("SELECT scorer_version FROM v_current_scorer")
    return current is None or wh.scalar("SELECT bool_and(scorer_version = ?) FROM queue_order", [current]) is True


def undecided(all_documents: bool = False) -> str:
    """``FROM ... WHERE ...`` over the materialized order: what ``v_queue`` (or ``v_queue_all``)
    holds now, in milliseconds at a million documents. What changed since scoring is checked
    here: decided items and documents deleted at the source are skipped. Alias ``q``."""
    hits = "" if all_documents else " AND q.found_by IS NOT NULL"
    return ("FROM queue_order q WHERE q.doc_id NOT IN (SELECT doc_id FROM v_annotations_current) "
            f"AND q.doc_id NOT IN (SELECT doc_id FROM documents WHERE state <> 'ok'){hits}")
