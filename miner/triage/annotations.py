"""Annotations: labels in the codebook's terms (:mod:`miner.triage.codebook`), recorded append-only.

Nothing is ever updated or deleted. A new label by the same annotator supersedes the old one
(``v_annotations_current`` keeps the latest); labelling a whole cluster writes one row per
member under one ``batch_id``, and undoing it appends to ``annotation_undos`` so the batch stops
counting and whatever each annotator said before shows through again. An adjudicator's label
(role ``adjudicator``) is the final decision for a disputed item (``v_decisions``).

Agreement is computed in SQL (``v_agreement``); :func:`cohen_kappa` and
:func:`krippendorff_alpha` are the same measures in Python, for reports and for checking the view.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Hashable, Iterable, Mapping, Sequence

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.triage.codebook import Label


@dataclass
class BatchResult:
    batch_id: str
    cluster_id: str
    written: int
    skipped: list[str] = field(default_factory=list)  # members this annotator had already labelled one by one


def _row(doc_id: str, annotator: str, label: Label, *, role: str = "annotator", batch_id: str | None = None,
         cluster_id: str | None = None, scorer_version: str | None = None, at=None) -> dict:
    return {"doc_id": doc_id, "annotator": annotator, "role": role, "decision": label.decision,
            "reason": label.reason, "product": label.product, "context": label.context, "form": list(label.form),
            "refusal_type": label.refusal_type, "phases": list(label.phases), "outcome": label.outcome,
            "first_hand": label.first_hand, "note": label.note, "batch_id": batch_id, "cluster_id": cluster_id,
            "scorer_version": scorer_version, "created_at": at or now_utc()}


def _check_annotator(annotator: str) -> None:
    if not annotator or not annotator.strip():
        raise MinerError("annotator: give a name (--annotator NAME or $MINER_ANNOTATOR)")


def resolve_doc(wh: Warehouse, doc_id: str) -> str:
    """The canonical document a label is about: labelling a duplicate labels its story."""
    row = wh.rows("SELECT canonical_id FROM v_document_groups WHERE doc_id = ?", [doc_id])
    if not row:
        raise MinerError(f"{doc_id}: no such document")
    return row[0][0]


def label(wh: Warehouse, doc_id: str, annotator: str, lab: Label, *, role: str = "annotator",
          batch_id: str | None = None) -> str:
    """Record one label; returns the canonical doc_id it was recorded for. A ``batch_id`` makes
    the label undoable on its own with :func:`undo_batch` (the web app gives each label one)."""
    _check_annotator(annotator)
    lab.check()
    doc = resolve_doc(wh, doc_id)
    scorer = wh.scalar("SELECT scorer_version FROM v_current_scorer")
    wh.insert("annotations", [_row(doc, annotator, lab, role=role, batch_id=batch_id, scorer_version=scorer)])
    return doc


def label_many(wh: Warehouse, labels: Iterable[tuple[str, Label]], annotator: str) -> int:
    """Bulk labels (already canonical ids): what a replayed annotation session writes."""
    _check_annotator(annotator)
    scorer = wh.scalar("SELECT scorer_version FROM v_current_scorer")
    now = now_utc()
    rows = []
    for d, lab in labels:
        lab.check()
        rows.append(_row(d, annotator, lab, scorer_version=scorer, at=now))
    return wh.insert("annotations", rows)


def adjudicate(wh: Warehouse, doc_id: str, adjudicator: str, lab: Label) -> str:
    """The final decision for an item (usually a disputed one); it overrides the annotators'."""
    return label(wh, doc_id, adjudicator, lab, role="adjudicator")


def label_cluster(wh: Warehouse, cluster_id: str, annotator: str, lab: Label, *, overwrite: bool = False) -> BatchResult:
    """One annotation per current member of ``cluster_id``, as one undoable batch. Members this
    annotator already labelled are left alone unless ``overwrite`` (a careful single decision
    should not be flattened by a bulk one)."""
    _check_annotator(annotator)
    lab.check()
    members = [d for (d,) in wh.rows("SELECT doc_id FROM cluster_members WHERE cluster_id = ? ORDER BY doc_id",
                                     [cluster_id])]
    if not members:
        known = wh.scalar("SELECT count(*) FROM clusters WHERE cluster_id = ?", [cluster_id])
        raise MinerError(f"{cluster_id}: " + ("the cluster has no members now" if known else "no such cluster"))
    done = {d for (d,) in wh.rows("SELECT doc_id FROM v_annotations_current WHERE annotator = ? AND role = 'annotator' "
                                  "AND doc_id IN (SELECT unnest(?))", [annotator, members])}
    skipped = [] if overwrite else sorted(done)
    todo = [d for d in members if d not in set(skipped)]
    now = now_utc()
    batch_id = "b_" + hashlib.sha1(f"{cluster_id}|{annotator}|{now.isoformat()}".encode()).hexdigest()[:12]
    scorer = wh.scalar("SELECT scorer_version FROM v_current_scorer")
    wh.insert("annotations", [_row(d, annotator, lab, batch_id=batch_id, cluster_id=cluster_id,
                                   scorer_version=scorer, at=now) for d in todo])
    return BatchResult(batch_id, cluster_id, len(todo), skipped)


def undo_batch(wh: Warehouse, batch_id: str, by: str) -> int:
    """Stop a cluster label from counting; returns how many annotations it covered."""
    n = wh.scalar("SELECT count(*) FROM annotations WHERE batch_id = ?", [batch_id])
    if not n:
        raise MinerError(f"{batch_id}: no such batch (see `miner triage batches`)")
    if wh.scalar("SELECT count(*) FROM annotation_undos WHERE batch_id = ?", [batch_id]):
        raise MinerError(f"{batch_id}: already undone")
    wh.insert("annotation_undos", [{"batch_id": batch_id, "undone_by": by, "undone_at": now_utc()}])
    return n


def batches(wh: Warehouse, annotator: str | None = None) -> list[dict]:
    sql = ("SELECT a.batch_id, any_value(a.cluster_id) AS cluster_id, any_value(a.annotator) AS annotator, "
           "any_value(a.decision) AS decision, any_value(a.reason) AS reason, count(*) AS n, "
           "min(a.created_at) AS created_at, any_value(u.undone_at) AS undone_at "
           "FROM annotations a LEFT JOIN annotation_undos u USING (batch_id) WHERE a.batch_id IS NOT NULL ")
    params: list = []
    if annotator:
        sql += "AND a.annotator = ? "
        params.append(annotator)
    return wh.dicts(sql + "GROUP BY a.batch_id ORDER BY created_at DESC", params)


# -- overlap ------------------------------------------------------------------------------------
def sample_overlap(wh: Warehouse, share: float, k: int = 2, seed: int = 0, *, all_documents: bool = False) -> int:
    """Mark a deterministic ``share`` of the queue's candidates for ``k`` annotators each (the
    sample agreement is measured on). Hash-based, so the same items are picked on every run and
    new candidates are sampled at the same rate as they arrive. Returns how many were added."""
    if not 0 <= share <= 1 or k < 2:
        raise MinerError(f"overlap: share must be in 0..1 and k at least 2 (got share={share}, k={k})")
    view = "v_queue_all" if all_documents else "v_queue"
    ids = [d for (d,) in wh.rows(f"SELECT doc_id FROM {view}")]
    picked = [d for d in ids if int(hashlib.sha1(f"{seed}|{d}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share]
    return wh.insert("overlap_items", [{"doc_id": d, "k": k, "sampled_at": now_utc()} for d in picked],
                     on_conflict="DO NOTHING")


# -- agreement ----------------------------------------------------------------------------------
def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two annotators' labels on the same items (None if undefined)."""
    if len(a) != len(b) or not a:
        raise ValueError("cohen_kappa needs two equally long, non-empty label lists")
    n = len(a)
    p_o = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[c] * cb[c] for c in ca) / (n * n)
    return None if p_e == 1 else (p_o - p_e) / (1 - p_e)


def krippendorff_alpha(units: Mapping[Hashable, Iterable[Hashable]]) -> float | None:
    """Krippendorff's alpha (nominal) from the values each unit received (missing values are
    simply absent); units with fewer than two values do not count."""
    pairable = [Counter(v) for v in (list(vs) for vs in units.values()) if len(v) >= 2]
    if not pairable:
        return None
    totals: Counter = Counter()
    d_o = 0.0
    for c in pairable:
        m = sum(c.values())
        d_o += (m * m - sum(x * x for x in c.values())) / (m - 1)
        totals.update(c)
    n = sum(totals.values())
    d_e = n * n - sum(x * x for x in totals.values())
    return None if d_e == 0 else 1 - (n - 1) * d_o / d_e


def agreement(wh: Warehouse) -> list[dict]:
    return wh.dicts("SELECT * FROM v_agreement ORDER BY measure, annotator_a, annotator_b")


def disputed(wh: Warehouse) -> list[dict]:
    return wh.dicts("SELECT doc_id, annotators, n_annotators FROM v_decisions WHERE status = 'disputed' ORDER BY doc_id")
