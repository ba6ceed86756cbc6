"""Forget what triage derived from documents deleted or removed at the source.

The process stages' own forgetting (:mod:`miner.process.forget`) removes cleaned text and
vectors; this removes what triage made from them: evidence spans (``v_evidence`` quotes the
text through their offsets), the scores and content warnings computed from the text, the
materialized queue order, and cluster membership. Clusters the gone documents were in are brought up to date by the
cluster stage itself (centroid, keywords and exemplars are made from the members' vectors
and texts), so no keyword, exemplar or centroid keeps anything of a deleted text. Cluster ids
stay; a cluster left empty stays with size 0, as the cluster stage leaves it.

Annotations stay: they are the team's decisions, append-only (docs/design.md §3), and the
funnel counts them.
"""

from __future__ import annotations

from dataclasses import dataclass

from miner.collect.store import gone_documents
from miner.core.db import Warehouse
from miner.triage.clusters import cluster_candidates

# Per table: rows of tombstoned documents go (all are keyed by doc_id).
DERIVED_TABLES = ("evidence", "evidence_state", "scores", "care_flags", "queue_order")
CENTROID_DIM = 384  # clusters.centroid is FLOAT[384]


@dataclass
class TriageForgetReport:
    documents: int = 0  # tombstoned documents that still had a triage row
    reclustered: bool = False  # clusters were rebuilt without them


def forget_gone_triage(wh: Warehouse) -> TriageForgetReport:
    """Remove triage rows of documents whose state is not 'ok'; recluster if any was a member.

    Runs after :func:`miner.process.forget.forget_gone` (the cluster stage must no longer see
    their vectors). Idempotent and cheap when there is nothing to forget."""
    tables = [*DERIVED_TABLES, "cluster_members"]
    derived = " UNION ".join(f"SELECT doc_id FROM {t}" for t in tables)
    ids = [r[0] for r in wh.rows(f"SELECT doc_id FROM ({gone_documents()}) WHERE doc_id IN ({derived}) ORDER BY 1")]
    report = TriageForgetReport(documents=len(ids))
    if not ids:
        return report
    with wh.transaction():
        for table in DERIVED_TABLES:
            wh.execute(f"DELETE FROM {table} WHERE doc_id IN (SELECT unnest(?))", [ids])
        if wh.scalar("SELECT count(*) FROM cluster_members WHERE doc_id IN (SELECT unnest(?))", [ids]):
            # The cluster stage sees members that have no vector any more and rebuilds the
            # clusters without them (ids stable), exactly as the next `miner process` would.
            cluster_candidates(wh)
            report.reclustered = True
        # A cluster all of whose members went is kept with size 0 and would keep their
        # keywords, exemplars and centroid: nothing of them stays.
        wh.execute("UPDATE clusters SET keywords = []::VARCHAR[], exemplars = []::VARCHAR[], centroid = ? "
                   "WHERE size = 0 AND len(list_intersect(exemplars, ?)) > 0", [[0.0] * CENTROID_DIM, ids])
    return report
