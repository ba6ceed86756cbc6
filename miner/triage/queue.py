"""The triage queue: what to read next, and keeping evidence, scores and clusters up to date.

Refreshing runs three stages in order, each incremental: ``evidence`` (spans for new or
changed texts), ``score`` (the best scorer the current labels allow, see :mod:`miner.triage.score`)
and ``cluster`` (new items join existing clusters, see :mod:`miner.triage.clusters`).
:data:`miner.pipeline.STAGES` runs them after embedding, so ``miner process`` and the nightly
flow keep the queue fresh.

The queue itself is the view ``v_queue`` (``v_queue_all`` with ``--all-documents``): undecided
canonical documents in the current scorer's order. :func:`next_item` adds the one thing a view
cannot know: who is asking. An item sampled for overlap that another annotator has labelled
comes first for someone who has not, so agreement can be measured without a separate workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.process.clean import clean_text_of
from miner.triage.order import count_undecided, next_in_order
from miner.triage.clusters import cluster_candidates
from miner.triage.evidence import Span, extract_pending, load_spans
from miner.triage.score import score_all


@dataclass
class QueueItem:
    doc_id: str
    position: int | None  # in the queue (None for an overlap item already labelled by someone else)
    score: float
    lane: str  # score | explore | overlap
    cluster_id: str | None
    cluster_keywords: list[str]
    cluster_is_new: bool
    title: str | None
    text: str
    source: str
    kind: str
    community: str | None
    spans: list[Span] = field(default_factory=list)
    remaining: int = 0  # undecided items in this queue
    found_by: str | None = None  # swept | matched a query | both (see found_by_of)


def refresh_evidence(wh: Warehouse) -> dict:
    r = extract_pending(wh)
    return {"extracted": r.extracted, "spans": r.spans, "documents": r.total}


def refresh_scores(wh: Warehouse) -> dict:
    r = score_all(wh)
    return {"scorer": r.scorer_version, "labels": r.n_labels, "scored": r.scored}


def refresh_clusters(wh: Warehouse) -> dict:
    r = cluster_candidates(wh)
    return {"items": r.items, "joined_existing": r.assigned, "new_clusters": r.new_clusters,
            "outliers": r.outliers, "clusters": r.clusters}


def refresh(wh: Warehouse, *, score: bool = True, cluster: bool = True) -> dict:
    """Evidence, then scores, then clusters, on an open warehouse (what ``miner triage score`` runs)."""
    out = {"evidence": refresh_evidence(wh)}
    if score:
        out["score"] = refresh_scores(wh)
    if cluster:
        out["cluster"] = refresh_clusters(wh)
    return out


def found_by_of(wh: Warehouse, doc_id: str) -> str | None:
    """How ``doc_id``'s duplicate group reached the queue: "swept", "matched a query" or
    "swept, matched a query" (the ``found_by`` macro of the triage views); None without hits.
    Read from the materialized order when the document is in it (a key lookup, not a scan of
    every hit)."""
    rows = wh.rows("SELECT found_by FROM queue_order WHERE doc_id = ?", [doc_id])
    if rows:
        return rows[0][0]
    return wh.scalar(
        "SELECT found_by(count(*) FILTER (WHERE h.via = 'sweep'), count(*) FILTER (WHERE h.via <> 'sweep')) "
        "FROM hits h LEFT JOIN dup_members m USING (doc_id) WHERE coalesce(m.canonical_id, h.doc_id) = ?", [doc_id])


def _item(wh: Warehouse, row: dict, remaining: int) -> QueueItem:
    text = clean_text_of(wh, row["doc_id"]) or ""
    kw = wh.scalar("SELECT keywords FROM clusters WHERE cluster_id = ?", [row["cluster_id"]]) if row["cluster_id"] else []
    return QueueItem(doc_id=row["doc_id"], position=row.get("position"), score=row["score"], lane=row["lane"],
                     cluster_id=row["cluster_id"], cluster_keywords=list(kw or []),
                     cluster_is_new=bool(row.get("cluster_is_new")), title=row["title"], text=text,
                     source=row["source"], kind=row["kind"], community=row["community"],
                     spans=load_spans(wh, [row["doc_id"]]).get(row["doc_id"], []), remaining=remaining,
                     found_by=found_by_of(wh, row["doc_id"]))


def next_item(wh: Warehouse, annotator: str | None = None, *, all_documents: bool = False) -> QueueItem | None:
    """The item ``annotator`` should read next, or None when the queue is empty."""
    remaining = count_undecided(wh, all_documents)
    if annotator:
        hits = "" if all_documents else "AND c.n_hits > 0"
        overlap = wh.dicts(
            "SELECT s.doc_id, NULL AS position, s.score, 'overlap' AS lane, m.cluster_id, false AS cluster_is_new, "
            "c.title, c.source, c.kind, c.community "
            "FROM overlap_items o JOIN scores s USING (doc_id) JOIN v_current_scorer USING (scorer_version) "
            "JOIN v_canonical_documents c USING (doc_id) JOIN documents d USING (doc_id) "
            "LEFT JOIN cluster_members m USING (doc_id) "
            "JOIN (SELECT doc_id, count(*) AS n, bool_or(annotator = ?) AS mine FROM v_annotations_current "
            "      WHERE role = 'annotator' GROUP BY doc_id) a USING (doc_id) "
            f"WHERE d.state = 'ok' AND NOT a.mine AND a.n < o.k {hits} ORDER BY s.priority, s.doc_id LIMIT 1",
            [annotator])
        if overlap:
            return _item(wh, overlap[0], remaining)
    first = next_in_order(wh, all_documents)
    if not first:
        return None
    doc, priority = first[0]
    row = wh.dicts(
        "SELECT s.doc_id, s.score, s.lane, m.cluster_id, "
        "k.created_run = (SELECT arg_max(run_id, started_at) FROM cluster_runs) AS cluster_is_new, "
        "c.title, d.source, d.kind, d.community "
        "FROM scores s JOIN v_current_scorer USING (scorer_version) JOIN documents d USING (doc_id) "
        "JOIN clean_texts c USING (doc_id) LEFT JOIN cluster_members m USING (doc_id) "
        "LEFT JOIN clusters k ON k.cluster_id = m.cluster_id WHERE s.doc_id = ?", [doc])[0]
    row["position"] = 1 + count_undecided(wh, all_documents, before=priority)
    return _item(wh, row, remaining)


def queue(wh: Warehouse, limit: int = 20, *, all_documents: bool = False) -> list[dict]:
    view = "v_queue_all" if all_documents else "v_queue"
    return wh.dicts(f"SELECT position, doc_id, round(score, 3) AS score, lane, cluster_id, title FROM {view} "
                    "ORDER BY position LIMIT ?", [limit])


def clusters_overview(wh: Warehouse) -> list[tuple]:
    """Every cluster, biggest first: id, size, new, decided, incident, not, keywords."""
    return wh.rows("SELECT cluster_id, size, is_new, n_decided, n_incident, n_not, "
                   "array_to_string(keywords, ', ') FROM v_clusters ORDER BY size DESC, cluster_id")


def cluster_info(wh: Warehouse, cluster_id: str) -> dict:
    """One cluster's row of ``v_clusters`` (size, keywords, exemplars, decisions)."""
    info = wh.dicts("SELECT * FROM v_clusters WHERE cluster_id = ?", [cluster_id])
    if not info:
        raise MinerError(f"{cluster_id}: no such cluster")
    return info[0]


def stats(wh: Warehouse) -> dict:
    """Where triage stands: queue sizes, decisions, the scorer, clusters, agreement."""
    return {
        "queue": wh.scalar("SELECT count(*) FROM v_queue"),
        "queue_all_documents": wh.scalar("SELECT count(*) FROM v_queue_all"),
        "queue_by_lane": dict(wh.rows("SELECT found_by, count(*) FROM v_queue GROUP BY ALL ORDER BY ALL")),
        "decisions": dict(wh.rows("SELECT coalesce(decision, 'disputed'), count(*) FROM v_decisions GROUP BY ALL "
                                  "ORDER BY ALL")),
        "reasons": dict(wh.rows("SELECT reason, count(*) FROM v_decisions WHERE reason IS NOT NULL GROUP BY ALL "
                                "ORDER BY ALL")),
        "annotators": dict(wh.rows("SELECT annotator, count(*) FROM v_annotations_current GROUP BY ALL ORDER BY ALL")),
        "scorer": (wh.dicts("SELECT * FROM v_current_scorer") or [None])[0],
        "clusters": wh.scalar("SELECT count(*) FROM v_clusters"),
        "new_clusters": wh.scalar("SELECT count(*) FROM v_clusters WHERE is_new"),
        "outliers": wh.scalar("SELECT count(*) FROM cluster_members WHERE cluster_id IS NULL"),
        "agreement": wh.dicts("SELECT * FROM v_agreement ORDER BY measure, annotator_a, annotator_b"),
    }
