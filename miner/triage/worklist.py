"""Several annotators on one queue: who reads what now, and saving their work exactly once.

The queue views (``v_queue``) know what is undecided; they cannot know who is reading what at
this moment. Here an item handed to an annotator is *claimed* (``web_claims``) for a while, so
two people working at once never get the same item (overlap items, meant for several people,
excepted). Items in a care category the annotator opted out of are left for colleagues.

Every form the web app renders carries a key. Saving records the key with the annotation in one
transaction, so a double submit (a double click, a retried request, the back button) is
recognised and writes nothing; a form drawn before the item changed (labelled in another tab,
a cluster re-clustered since) is refused as stale. Each web label gets its own batch id, so
undo is the same append-only mechanism as undoing a cluster label
(:func:`miner.triage.annotations.undo_batch`). Incident forms use the same keys
(:mod:`miner.incidents.forms`).

Callers serialise calls on one warehouse connection (the web app holds a lock).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.process.clean import clean_texts_of
from miner.triage.annotations import label, label_cluster, resolve_doc, undo_batch
from miner.triage.annotators import Annotator
from miner.triage.care import flag_pending, flags
from miner.triage.codebook import Label
from miner.triage.evidence import Span, load_spans
from miner.triage.order import count_undecided, next_in_order, readable
from miner.triage.queue import found_by_of

CLAIM_MINUTES = 20


@dataclass
class Item:
    """One document as the annotator sees it."""

    doc_id: str
    title: str | None
    text: str
    source: str
    kind: str
    community: str | None
    created_at: datetime | None
    score: float | None
    lane: str | None
    cluster_id: str | None
    cluster_keywords: list[str]
    spans: list[Span]
    care: list[str]  # care categories it touches
    mine: dict | None  # this annotator's current label
    others: list[str]  # other annotators whose labels count
    overlap: bool  # sampled for several annotators
    state: str = "ok"
    found_by: str | None = None  # swept | matched a query | both: the queue's two lanes


@dataclass
class Outcome:
    """What happened to a submitted form, in words the annotator reads."""

    status: str  # saved | duplicate | stale | refused
    message: str
    doc_id: str | None = None
    cluster_id: str | None = None
    batch_id: str | None = None
    written: int = 0
    notes: list[str] = field(default_factory=list)


def form_key() -> str:
    return secrets.token_urlsafe(16)


# -- reading ------------------------------------------------------------------------------------
def load_item(wh: Warehouse, doc_id: str, annotator: str) -> Item:
    """The canonical document behind ``doc_id`` (MinerError when there is none)."""
    doc = resolve_doc(wh, doc_id)
    # Every table filtered by the document itself: DuckDB answers each from its index, where a
    # plain join would scan the big ones (a million scores) for one row.
    rows = wh.dicts(
        "SELECT d.doc_id, coalesce(c.title, d.title) AS title, coalesce(c.text, '') AS text, d.source, d.kind, "
        "d.community, d.created_at, coalesce(c.state, 'empty') AS state, q.score, q.lane, q.found_by, "
        "m.cluster_id, k.keywords, o.doc_id IS NOT NULL AS overlap "
        "FROM (SELECT * FROM documents WHERE doc_id = $d) d "
        "LEFT JOIN (SELECT * FROM clean_texts WHERE doc_id = $d) c USING (doc_id) "
        "LEFT JOIN (SELECT * FROM queue_order WHERE doc_id = $d) q USING (doc_id) "
        "LEFT JOIN (SELECT * FROM cluster_members WHERE doc_id = $d) m USING (doc_id) "
        "LEFT JOIN clusters k ON k.cluster_id = m.cluster_id "
        "LEFT JOIN (SELECT * FROM overlap_items WHERE doc_id = $d) o USING (doc_id)", {"d": doc})
    if not rows:
        raise MinerError(f"{doc_id}: no such document")
    r = rows[0]
    flag_pending(wh, [doc])
    cur = wh.dicts("SELECT annotation_id, annotator, decision, reason, product, context, form, phases, refusal_type, "
                   "outcome, first_hand, note, created_at, batch_id FROM v_annotations_current "
                   "WHERE doc_id = ? AND role = 'annotator' ORDER BY created_at", [doc])
    mine = next((a for a in cur if a["annotator"] == annotator), None)
    return Item(doc_id=doc, title=r["title"], text=r["text"], source=r["source"], kind=r["kind"],
                community=r["community"], created_at=r["created_at"], score=r["score"], lane=r["lane"],
                cluster_id=r["cluster_id"], cluster_keywords=list(r["keywords"] or []),
                spans=load_spans(wh, [doc]).get(doc, []), care=flags(wh, [doc]).get(doc, []), mine=mine,
                others=[a["annotator"] for a in cur if a["annotator"] != annotator], overlap=bool(r["overlap"]),
                state=r["state"], found_by=r["found_by"] if r["score"] is not None else found_by_of(wh, doc))


def _filters(view_alias: str = "doc_id") -> str:
    """Held by someone else, or skipped. (Care opt-outs: :func:`miner.triage.order.readable`, by key.)"""
    return (f" AND {view_alias} NOT IN (SELECT doc_id FROM web_claims WHERE annotator <> $me AND expires_at > $now)"
            f" AND {view_alias} NOT IN (SELECT unnest($skip::VARCHAR[]))")


def next_for(wh: Warehouse, who: Annotator, *, skip: list[str] | tuple = (), all_documents: bool = False) -> str | None:
    """The doc_id ``who`` should read next, claimed for them; None when nothing is left for them.

    Order: an item they already hold (a reload must not hand out a second one), then overlap
    items others labelled and they have not (agreement), then the queue in the scorer's order.
    """
    now = now_utc()
    p = {"me": who.name, "now": now, "skip": list(skip)}
    opt = list(who.opt_out)
    # an item still held: claimed by them, decided by nobody (cheaper than asking the queue view)
    held = readable(wh, wh.rows("SELECT doc_id FROM web_claims WHERE annotator = $me AND expires_at > $now "
                                 "AND doc_id NOT IN (SELECT doc_id FROM v_annotations_current) "
                                 f"{_filters()} ORDER BY claimed_at DESC", p), opt)[:1]
    hits = "" if all_documents else "AND c.n_hits > 0"
    row = held
    if not row and wh.scalar("SELECT count(*) FROM overlap_items"):
        row = wh.rows(
            "WITH cur AS (SELECT doc_id, count(*) AS n, bool_or(annotator = $me) AS mine FROM v_annotations_current "
            "             WHERE role = 'annotator' GROUP BY doc_id) "
            "SELECT o.doc_id FROM overlap_items o JOIN cur USING (doc_id) "
            "JOIN (SELECT s.* FROM scores s JOIN v_current_scorer USING (scorer_version)) s USING (doc_id) "
            "JOIN v_canonical_documents c USING (doc_id) JOIN documents d USING (doc_id) "
            f"WHERE d.state = 'ok' AND NOT cur.mine AND cur.n < o.k {hits} {_filters('o.doc_id')} "
            "ORDER BY s.priority, o.doc_id", p)
        row = readable(wh, row, opt)[:1]
    if not row:
        row = next_in_order(wh, all_documents, me=who.name, opt=opt, skip=list(skip), now=now)
    if not row:
        return None
    doc = row[0][0]
    claim(wh, doc, who.name, now)
    return doc


def claim(wh: Warehouse, doc_id: str, annotator: str, now: datetime | None = None) -> None:
    now = now or now_utc()
    wh.insert("web_claims", [{"doc_id": doc_id, "annotator": annotator, "claimed_at": now,
                              "expires_at": now + timedelta(minutes=CLAIM_MINUTES)}],
              on_conflict="(doc_id) DO UPDATE SET annotator = excluded.annotator, claimed_at = excluded.claimed_at, "
                          "expires_at = excluded.expires_at")


def release(wh: Warehouse, doc_id: str, annotator: str) -> None:
    """Give an item back (skipped, or labelled)."""
    wh.execute("DELETE FROM web_claims WHERE doc_id = ? AND annotator = ?", [doc_id, annotator])


def history(wh: Warehouse, annotator: str, limit: int = 500) -> list[str]:
    """Documents ``annotator``'s current labels are on, most recent first (for previous/next)."""
    return [d for (d,) in wh.rows("SELECT doc_id FROM v_annotations_current WHERE annotator = ? AND role = 'annotator' "
                                  "ORDER BY created_at DESC, annotation_id DESC LIMIT ?", [annotator, limit])]


def neighbours(wh: Warehouse, annotator: str, doc_id: str) -> tuple[str | None, str | None]:
    """(previous, next) around ``doc_id`` in the annotator's own history; next None means the queue."""
    h = history(wh, annotator)
    if doc_id in h:
        i = h.index(doc_id)
        return (h[i + 1] if i + 1 < len(h) else None), (h[i - 1] if i > 0 else None)
    return (h[0] if h else None), None


def last_action(wh: Warehouse, annotator: str) -> dict | None:
    """The annotator's latest label or cluster label that still counts (what undo takes back)."""
    rows = wh.dicts(
        "SELECT batch_id, any_value(cluster_id) AS cluster_id, min(doc_id) AS doc_id, any_value(decision) AS decision, "
        "count(*) AS n, max(created_at) AS last_at FROM annotations WHERE annotator = ? AND batch_id IS NOT NULL "
        "AND batch_id NOT IN (SELECT batch_id FROM annotation_undos) GROUP BY batch_id ORDER BY last_at DESC LIMIT 1",
        [annotator])
    return rows[0] if rows else None


# -- writing ------------------------------------------------------------------------------------
def _seen(wh: Warehouse, doc_id: str, annotator: str) -> str:
    v = wh.scalar("SELECT annotation_id FROM v_annotations_current WHERE doc_id = ? AND annotator = ? "
                  "AND role = 'annotator'", [doc_id, annotator])
    return "" if v is None else str(v)


def item_version(item: Item) -> str:
    """What the form remembers about the item's state when it was drawn (see :func:`submit_label`)."""
    return "" if item.mine is None else str(item.mine["annotation_id"])


def duplicate_submission(wh: Warehouse, key: str) -> dict | None:
    """The earlier submission of the form with this key, if any (then nothing may be written again)."""
    if not key:
        raise MinerError("This form has no key (an old or hand-made page): reload the page and try again.")
    rows = wh.dicts("SELECT * FROM web_submissions WHERE form_key = ?", [key])
    return rows[0] if rows else None


def record_submission(wh: Warehouse, key: str, annotator: str, action: str, **kw) -> None:
    """Remember that the form with this key was accepted (in the transaction that did its work)."""
    wh.insert("web_submissions", [{"form_key": key, "annotator": annotator, "action": action, "doc_id": kw.get("doc_id"),
                                   "cluster_id": kw.get("cluster_id"), "batch_id": kw.get("batch_id"),
                                   "created_at": now_utc()}])


def submit_label(wh: Warehouse, annotator: str, doc_id: str, lab: Label, *, key: str, seen: str,
                 others_seen: int = 0) -> Outcome:
    """Save one label once. ``seen`` is :func:`item_version` when the form was drawn."""
    prior = duplicate_submission(wh, key)
    if prior:
        return Outcome("duplicate", "Already saved: that was a second submit of the same page, nothing was written "
                       "again.", doc_id=prior["doc_id"], batch_id=prior["batch_id"])
    doc = resolve_doc(wh, doc_id)
    lab.check()
    now_seen = _seen(wh, doc, annotator)
    if now_seen != seen:
        return Outcome("stale", "This page was out of date: your label on this item changed since it was drawn "
                       "(another tab or window?). Nothing was saved; here is the item as it stands now.", doc_id=doc)
    batch = "w_" + hashlib.sha1(key.encode()).hexdigest()[:12]
    with wh.transaction():
        label(wh, doc, annotator, lab, batch_id=batch)
        record_submission(wh, key, annotator, "label", doc_id=doc, batch_id=batch)
        release(wh, doc, annotator)
    out = Outcome("saved", f"Saved: {lab.decision}" + (f" ({lab.reason.replace('_', ' ')})" if lab.reason else "") + ".",
                  doc_id=doc, batch_id=batch, written=1)
    others = wh.scalar("SELECT count(*) FROM v_annotations_current WHERE doc_id = ? AND role = 'annotator' "
                       "AND annotator <> ?", [doc, annotator])
    if others > others_seen:
        out.notes.append("Someone else labelled this item while you were reading it; both labels are kept and "
                         "count towards agreement.")
    return out


def cluster_size(wh: Warehouse, cluster_id: str) -> int:
    return wh.scalar("SELECT count(*) FROM cluster_members WHERE cluster_id = ?", [cluster_id])


def submit_cluster(wh: Warehouse, annotator: str, cluster_id: str, lab: Label, *, key: str, size_seen: int) -> Outcome:
    """Label every member of a cluster once (one undoable batch); refused if the cluster changed."""
    prior = duplicate_submission(wh, key)
    if prior:
        return Outcome("duplicate", "Already done: that was a second submit of the same confirmation, nothing was "
                       "written again.", cluster_id=cluster_id, batch_id=prior["batch_id"])
    size = cluster_size(wh, cluster_id)
    if size != size_seen:
        if not wh.scalar("SELECT count(*) FROM clusters WHERE cluster_id = ?", [cluster_id]):
            raise MinerError(f"{cluster_id}: no such cluster")
        return Outcome("stale", f"The cluster changed since the page was drawn ({size_seen} members then, {size} now). "
                       "Nothing was labelled; look again and confirm.", cluster_id=cluster_id)
    with wh.transaction():
        res = label_cluster(wh, cluster_id, annotator, lab)
        record_submission(wh, key, annotator, "cluster", cluster_id=cluster_id, batch_id=res.batch_id)
    kept = f"; {len(res.skipped)} you had labelled one by one were kept" if res.skipped else ""
    return Outcome("saved", f"Labelled {res.written} items of {cluster_id} as {lab.decision}"
                   + (f" ({lab.reason.replace('_', ' ')})" if lab.reason else "") + kept + ".",
                   cluster_id=cluster_id, batch_id=res.batch_id, written=res.written)


def submit_undo(wh: Warehouse, annotator: str, batch_id: str, *, key: str) -> Outcome:
    """Take back one of the annotator's own labels or cluster labels, once."""
    prior = duplicate_submission(wh, key)
    if prior:
        return Outcome("duplicate", "Already undone: that was a second submit, nothing changed again.",
                       doc_id=prior["doc_id"], cluster_id=prior["cluster_id"], batch_id=batch_id)
    rows = wh.dicts("SELECT any_value(annotator) AS annotator, min(doc_id) AS doc_id, any_value(cluster_id) AS "
                    "cluster_id, count(*) AS n FROM annotations WHERE batch_id = ?", [batch_id])
    if not rows or not rows[0]["n"]:
        raise MinerError(f"{batch_id}: nothing to undo here")
    r = rows[0]
    if r["annotator"] != annotator:
        return Outcome("refused", "That label is someone else's; you can only undo your own.")
    if wh.scalar("SELECT count(*) FROM annotation_undos WHERE batch_id = ?", [batch_id]):
        return Outcome("stale", "That was already undone (in another tab?). Nothing changed.",
                       doc_id=r["doc_id"], cluster_id=r["cluster_id"])
    with wh.transaction():
        n = undo_batch(wh, batch_id, annotator)
        record_submission(wh, key, annotator, "undo", doc_id=r["doc_id"], cluster_id=r["cluster_id"], batch_id=batch_id)
        if not r["cluster_id"]:
            claim(wh, r["doc_id"], annotator)
    what = f"the cluster label on {r['cluster_id']} ({n} items)" if r["cluster_id"] else "your label"
    return Outcome("saved", f"Undone: {what}. Whatever was there before counts again.", doc_id=r["doc_id"],
                   cluster_id=r["cluster_id"], batch_id=batch_id, written=n)


# -- clusters and progress -----------------------------------------------------------------------
def cluster_list(wh: Warehouse) -> list[dict]:
    return wh.dicts("SELECT v.cluster_id, count(m.doc_id) AS size, v.keywords, v.exemplars, v.is_new, v.n_decided, "
                    "v.n_incident, v.n_not FROM v_clusters v LEFT JOIN cluster_members m USING (cluster_id) "
                    "GROUP BY ALL ORDER BY v.is_new DESC, size DESC, v.cluster_id")


def cluster_detail(wh: Warehouse, cluster_id: str, annotator: str) -> dict:
    rows = [c for c in wh.dicts("SELECT * FROM v_clusters WHERE cluster_id = ?", [cluster_id])]
    if not rows:
        raise MinerError(f"{cluster_id}: no such cluster")
    c = rows[0]
    flag_pending(wh, list(c["exemplars"] or []))
    c["size"] = cluster_size(wh, cluster_id)
    ex = list(c["exemplars"] or [])
    texts = clean_texts_of(wh, ex)
    care = flags(wh, ex)
    c["exemplar_items"] = [{"doc_id": d, "text": texts.get(d, ""), "care": care.get(d, [])} for d in ex]
    c["mine"] = wh.dicts("SELECT batch_id, decision, reason, count(*) AS n, min(created_at) AS started FROM annotations "
                         "WHERE cluster_id = ? AND annotator = ? AND batch_id NOT IN "
                         "(SELECT batch_id FROM annotation_undos) GROUP BY ALL ORDER BY started DESC", [cluster_id, annotator])
    return c


def left(wh: Warehouse, *, all_documents: bool = False) -> int:
    """Undecided items in the queue."""
    return count_undecided(wh, all_documents)


def progress(wh: Warehouse, who: Annotator, *, all_documents: bool = False) -> dict:
    """Done today, left, incidents found, and this annotator's agreement with the others."""
    today = now_utc().replace(hour=0, minute=0, second=0, microsecond=0)
    me, opt = who.name, list(who.opt_out)
    mine = "FROM v_annotations_current WHERE annotator = ? AND role = 'annotator'"
    return {
        "done_today": wh.scalar(f"SELECT count(*) {mine} AND created_at >= ?", [me, today]),
        "done_total": wh.scalar(f"SELECT count(*) {mine}", [me]),
        "my_incidents": wh.scalar(f"SELECT count(*) {mine} AND decision = 'incident'", [me]),
        "left": left(wh, all_documents=all_documents),
        "held_back": count_undecided(wh, all_documents, extra=" AND list_has_any(q.care, ?::VARCHAR[])", params=[opt]),
        "incidents": wh.scalar("SELECT count(*) FROM v_decisions WHERE decision = 'incident'"),
        "disputed": wh.scalar("SELECT count(*) FROM v_decisions WHERE status = 'disputed'"),
        "annotators_today": wh.rows("SELECT annotator, count(*) FROM v_annotations_current WHERE role = 'annotator' "
                                    "AND created_at >= ? GROUP BY ALL ORDER BY 2 DESC, 1", [today]),
        "agreement": wh.dicts("SELECT CASE WHEN annotator_a = $me THEN annotator_b ELSE annotator_a END AS other, "
                              "n_items, observed, value FROM v_agreement WHERE measure = 'cohen_kappa' "
                              "AND $me IN (annotator_a, annotator_b) ORDER BY other", {"me": me}),
        "alpha": (wh.dicts("SELECT n_items, observed, value FROM v_agreement WHERE measure = 'krippendorff_alpha'")
                  or [None])[0],
    }
