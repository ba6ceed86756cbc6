"""Incidents and scenarios: what the study keeps, with codes and an anonymized narrative.

An incident links one or more documents that tell the same story (a post, a comment
retelling it, the same person's repost): many documents to many incidents. Creating one
writes an anonymized *draft* (the source text with pseudonyms) as the annotator's starting
point; the *narrative* is what the annotator rewrites and what exports carry, and it goes
through the same anonymizer with the incident's own pseudonym map, so ``[PERSON_1]`` stays
the same person. Scenarios group incidents under a condensed narrative written by the team.

Source text is the documents' title and body as stored
(:func:`miner.collect.store.document_texts`), the same text the searchability index reads.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from miner.collect.pseudonyms import Pseudonymizer
from miner.collect.store import document_texts, gone_documents
from miner.core.clock import now_utc
from miner.core.config import installation_secret
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.incidents.anonymize import Pseudonyms, anonymize
from miner.incidents.leaks import Known, lower_words
from miner.triage.codebook import CONTEXTS, FAILURE_MODES, FORMS, OUTCOMES, PHASES, REFUSAL_TYPES, SENSITIVE

# Codebook fields of an incident (docs/design.md §5); the vocabularies are the triage codebook's, so
# what an annotator records carries over unchanged. Lists are multi-valued.
CODES: dict[str, tuple[str, ...] | None] = {
    "product": None,  # free text, canonical names (ChatGPT, Claude, Gemini, Character.AI, ...)
    "support_context": CONTEXTS,
    "refusal_form": FORMS,
    "refusal_type": REFUSAL_TYPES,
    "failure_modes": FAILURE_MODES,
    "phases": PHASES,
    "outcome": OUTCOMES,
    "first_hand": None,
    "sensitive": SENSITIVE,
    "notes": None,
}
LIST_CODES = {"refusal_form", "failure_modes", "phases", "sensitive"}


def document_text(wh: Warehouse, doc_id: str) -> str:
    """A document's text (title and body) as incidents see it."""
    text = document_texts(wh, [doc_id]).get(doc_id)
    if text is None:
        raise MinerError(f"{doc_id}: no such document with text (unknown, deleted or purged)")
    return text


# -- pseudonym maps --------------------------------------------------------------------

def keyer(wh: Warehouse) -> Pseudonymizer:
    """The installation's pseudonymizer: what tells a bare username of a source author."""
    return Pseudonymizer(installation_secret(wh.path))


def thread_authors(wh: Warehouse, doc_ids: list[str]) -> frozenset[str]:
    """Author hashes of everyone who wrote in the threads of ``doc_ids`` (the post and every
    comment): the people a narrative must not name by their username."""
    return frozenset(a for (a,) in wh.rows(
        "SELECT DISTINCT author_hash FROM documents WHERE author_hash IS NOT NULL AND coalesce(thread_id, doc_id) IN "
        "(SELECT coalesce(thread_id, doc_id) FROM documents WHERE doc_id IN (SELECT unnest(?)))", [list(doc_ids)]))


def load_pseudonyms(wh: Warehouse, owner_id: str, doc_ids: list[str] | None = None) -> Pseudonyms:
    """The owner's map, knowing the authors of its sources' threads (``doc_ids``, default the
    owner's documents)."""
    docs = incident_documents(wh, owner_id) if doc_ids is None and owner_id.startswith(("inc-", "scn-")) else doc_ids
    return Pseudonyms.from_rows(wh.rows(
        "SELECT entity_type, original, placeholder FROM pseudonym_maps WHERE owner_id = ?", [owner_id]),
        keyer=keyer(wh), authors=thread_authors(wh, docs or []),
        source_words=lower_words(list(document_texts(wh, docs or []).values())))


def warehouse_known(wh: Warehouse) -> Known:
    """What the leak gate looks for in a table export: every author, every pseudonym map."""
    authors = frozenset(a for (a,) in wh.rows("SELECT DISTINCT author_hash FROM documents WHERE author_hash IS NOT NULL"))
    rows = wh.rows("SELECT DISTINCT entity_type, original, placeholder FROM pseudonym_maps")
    return replace(Pseudonyms.from_rows(rows, keyer=keyer(wh), authors=authors).known(), plain_words=False)


def known_for(wh: Warehouse, owner_id: str) -> Known:
    """What the leak gate looks for in an incident's or scenario's exported fields: its own
    map and sources, and for a scenario those of every incident in it too."""
    known = load_pseudonyms(wh, owner_id).known()
    if owner_id.startswith("scn-"):
        for (inc,) in wh.rows("SELECT incident_id FROM scenario_incidents WHERE scenario_id = ?", [owner_id]):
            known = known.merge(load_pseudonyms(wh, inc).known())
    return known


def _save_pseudonyms(wh: Warehouse, owner_id: str, p: Pseudonyms) -> None:
    wh.insert("pseudonym_maps", [{"owner_id": owner_id, "entity_type": t, "original": o, "placeholder": ph}
                                 for t, o, ph in p.rows()], on_conflict="DO NOTHING")


# -- incidents -------------------------------------------------------------------------

def _require_incident(wh: Warehouse, incident_id: str, *, open_only: bool = True) -> dict:
    rows = wh.dicts("SELECT * FROM incidents WHERE incident_id = ?", [incident_id])
    if not rows:
        raise MinerError(f"{incident_id}: no such incident (incident ids look like inc-0001)")
    if open_only and rows[0]["status"] != "open":
        raise MinerError(f"{incident_id}: merged into {rows[0]['merged_into']}; edit that one")
    return rows[0]


def _draft(texts: list[str], p: Pseudonyms) -> str:
    return "\n\n---\n\n".join(anonymize(t, p).text for t in texts if t.strip())


def create_incident(wh: Warehouse, doc_ids: list[str], *, by: str | None = None,
                    codes: dict[str, Any] | None = None) -> str:
    """A new incident from documents (accepted by an annotator). Returns its id."""
    doc_ids = [d.strip() for d in doc_ids if d.strip()]
    if not doc_ids:
        raise MinerError("an incident needs at least one document id")
    texts = document_texts(wh, doc_ids)
    missing = [d for d in doc_ids if d not in texts]
    if missing:
        raise MinerError(f"{missing[0]}: no such document with text (unknown, deleted or purged)")
    p = Pseudonyms(keyer=keyer(wh), authors=thread_authors(wh, doc_ids), source_words=lower_words(list(texts.values())))
    draft = _draft([texts[d] for d in dict.fromkeys(doc_ids)], p)
    now = now_utc()
    with wh.transaction():
        n = wh.scalar("SELECT nextval('incident_seq')")
        incident_id = f"inc-{n:04d}"
        wh.insert("incidents", [{"incident_id": incident_id, "status": "open", "draft": draft, "created_by": by,
                                 "created_at": now, "updated_at": now}])
        wh.insert("incident_documents", [{"incident_id": incident_id, "doc_id": d, "added_by": by, "added_at": now,
                                          "source_gone_at": None} for d in dict.fromkeys(doc_ids)])
        _save_pseudonyms(wh, incident_id, p)
    if codes:
        set_codes(wh, incident_id, **codes)
    return incident_id


@dataclass
class Accepted:
    """What :func:`incidents_from_annotations` did: new incidents, and documents added to existing ones."""

    created: dict[str, list[str]]  # incident id -> its documents
    extended: dict[str, list[str]]  # existing incident id -> documents added


# Annotation fields -> incident codebook fields. Scalars take the adjudicator's value, else the
# most common among annotators; lists take the union.
_FROM_ANNOTATION = {"product": "product", "context": "support_context", "form": "refusal_form",
                    "refusal_type": "refusal_type", "phases": "phases", "outcome": "outcome",
                    "first_hand": "first_hand"}


def incidents_from_annotations(wh: Warehouse, *, by: str | None = None) -> Accepted:
    """Turn documents the triage decided are incidents into incidents, once each.

    One story, one incident: an accepted comment joins its accepted submission, and the other
    live members of a document's duplicate group (reposts, crossposts) come along, so the
    searchability check also covers them. A story that already has an incident gets the new
    documents added instead. Codes come from the annotations; the annotator still writes the
    narrative (exports refuse an incident without one)."""
    rows = wh.dicts(
        "WITH acc AS (SELECT doc_id FROM v_decisions WHERE decision = 'incident') "
        "SELECT d.doc_id, g.canonical_id, "
        "       CASE WHEN d.kind = 'comment' AND d.thread_id IN (SELECT doc_id FROM acc) THEN d.thread_id "
        "            ELSE d.doc_id END AS story "
        "FROM acc JOIN documents d USING (doc_id) JOIN v_document_groups g USING (doc_id) "
        "WHERE d.state = 'ok' AND d.purged_at IS NULL ORDER BY d.created_at, d.doc_id")
    if not rows:
        return Accepted({}, {})
    # story key: the canonical member of the story's first document's group
    canon = {r["doc_id"]: r["canonical_id"] for r in rows}
    stories: dict[str, list[str]] = {}
    for r in rows:
        stories.setdefault(canon.get(r["story"], r["story"]), []).append(r["doc_id"])
    members: dict[str, list[str]] = {k: [] for k in stories}
    for key, doc_id in wh.rows(
            "SELECT g.canonical_id, g.doc_id FROM v_document_groups g JOIN documents d USING (doc_id) "
            "WHERE g.canonical_id IN (SELECT unnest(?)) AND d.state = 'ok' AND d.purged_at IS NULL "
            "ORDER BY d.created_at, g.doc_id", [list(stories)]):
        members[key].append(doc_id)
    linked = dict(wh.rows("SELECT doc_id, min(l.incident_id) FROM incident_documents l "
                          "JOIN incidents i USING (incident_id) WHERE i.status = 'open' GROUP BY doc_id"))
    out = Accepted({}, {})
    for key, docs in stories.items():
        wanted = list(dict.fromkeys(docs + members[key]))
        existing = next((linked[d] for d in wanted if d in linked), None)
        new = [d for d in wanted if d not in linked]
        if not new:
            continue
        if existing:
            add_documents(wh, existing, new, by=by)
            out.extended[existing] = new
        else:
            incident_id = create_incident(wh, new, by=by, codes=_codes_from_annotations(wh, docs))
            out.created[incident_id] = new
        linked.update({d: existing or incident_id for d in new})
    return out


def _codes_from_annotations(wh: Warehouse, doc_ids: list[str]) -> dict[str, Any]:
    cols = ", ".join(_FROM_ANNOTATION)
    rows = wh.dicts(f"SELECT role, {cols} FROM v_annotations_current "
                    "WHERE decision = 'incident' AND doc_id IN (SELECT unnest(?)) "
                    "ORDER BY role = 'adjudicator' DESC, created_at DESC", [doc_ids])
    codes: dict[str, Any] = {}
    for field, code in _FROM_ANNOTATION.items():
        values = [r[field] for r in rows if r[field] not in (None, [])]
        if not values:
            continue
        if code in LIST_CODES:
            codes[code] = list(dict.fromkeys(v for vs in values for v in vs))
        elif rows[0]["role"] == "adjudicator" and rows[0][field] is not None:
            codes[code] = rows[0][field]
        else:
            codes[code] = max(dict.fromkeys(values), key=values.count)  # most common; ties: most recent
    return codes


def add_documents(wh: Warehouse, incident_id: str, doc_ids: list[str], *, by: str | None = None) -> None:
    """Link more documents; the draft is rebuilt with the same pseudonyms."""
    _require_incident(wh, incident_id)
    texts = document_texts(wh, doc_ids)
    missing = [d for d in doc_ids if d not in texts]
    if missing:
        raise MinerError(f"{missing[0]}: no such document with text (unknown, deleted or purged)")
    with wh.transaction():
        wh.insert("incident_documents", [{"incident_id": incident_id, "doc_id": d, "added_by": by,
                                          "added_at": now_utc()} for d in dict.fromkeys(doc_ids)],
                  on_conflict="DO NOTHING")
        _rebuild_draft(wh, incident_id)


def _rebuild_draft(wh: Warehouse, incident_id: str) -> None:
    ids = [d for (d,) in wh.rows("SELECT doc_id FROM incident_documents WHERE incident_id = ? ORDER BY added_at, doc_id",
                                 [incident_id])]
    texts = document_texts(wh, ids)
    p = load_pseudonyms(wh, incident_id)
    draft = _draft([texts[d] for d in ids if d in texts], p)
    wh.execute("UPDATE incidents SET draft = ?, updated_at = ? WHERE incident_id = ?", [draft, now_utc(), incident_id])
    _save_pseudonyms(wh, incident_id, p)


def set_codes(wh: Warehouse, incident_id: str, **codes: Any) -> None:
    """Set codebook fields; unknown fields or values raise MinerError naming them."""
    _require_incident(wh, incident_id)
    sets, params = [], []
    for name, value in codes.items():
        if name not in CODES:
            raise MinerError(f"{name}: not a codebook field (fields: {', '.join(CODES)})")
        vocab = CODES[name]
        if name in LIST_CODES:
            value = [v for v in ([value] if isinstance(value, str) else list(value or [])) if v]
            value = [x.strip() for v in value for x in v.split(",") if x.strip()]
        for v in (value if isinstance(value, list) else [value]):
            if vocab and v is not None and v not in vocab:
                raise MinerError(f"{name}: {v!r} is not one of {', '.join(vocab)}")
        if name == "first_hand" and isinstance(value, str):
            value = value.lower() in ("1", "true", "yes", "y")
        sets.append(f"{name} = ?")
        params.append(value)
    if not sets:
        return
    wh.execute(f"UPDATE incidents SET {', '.join(sets)}, updated_at = ? WHERE incident_id = ?",
               [*params, now_utc(), incident_id])


def set_narrative(wh: Warehouse, incident_id: str, text: str) -> str:
    """Store the annotator's narrative, anonymized with the incident's pseudonyms. Returns it."""
    _require_incident(wh, incident_id)
    return _set_owner_narrative(wh, "incidents", "incident_id", incident_id, text)


def _set_owner_narrative(wh: Warehouse, table: str, key: str, owner_id: str, text: str) -> str:
    if not text or not text.strip():
        raise MinerError(f"{owner_id}: the narrative is empty")
    p = load_pseudonyms(wh, owner_id)
    result = anonymize(text.strip(), p)
    with wh.transaction():
        wh.execute(f"UPDATE {table} SET narrative = ?, updated_at = ? WHERE {key} = ?",
                   [result.text, now_utc(), owner_id])
        _save_pseudonyms(wh, owner_id, p)
    return result.text


def get_incident(wh: Warehouse, incident_id: str) -> dict:
    inc = _require_incident(wh, incident_id, open_only=False)
    inc["documents"] = [d for (d,) in wh.rows(
        "SELECT doc_id FROM incident_documents WHERE incident_id = ? ORDER BY doc_id", [incident_id])]
    return inc


def overview(wh: Warehouse) -> list[dict]:
    """Open incidents (``v_incidents``): codes, documents, check state, the narrative's start."""
    return wh.dicts("SELECT incident_id, product, support_context, refusal_form, n_documents, first_month, checks, "
                    "check_current, left(narrative, 60) AS narrative, narrative IS NOT NULL AS has_narrative "
                    "FROM v_incidents")


def incident_documents(wh: Warehouse, owner_id: str) -> list[str]:
    """Source documents of an incident, or of every incident of a scenario."""
    return [d for (d,) in wh.rows(
        "SELECT DISTINCT doc_id FROM incident_documents WHERE incident_id = ? "
        "OR incident_id IN (SELECT incident_id FROM scenario_incidents WHERE scenario_id = ?) ORDER BY doc_id",
        [owner_id, owner_id])]


def merge_incidents(wh: Warehouse, keep: str, others: list[str], *, by: str | None = None) -> None:
    """Fold ``others`` into ``keep``: their documents move over, they are marked merged (kept
    for the record), and ``keep``'s draft is rebuilt with its own pseudonyms."""
    _require_incident(wh, keep)
    for o in others:
        if o == keep:
            raise MinerError(f"{o}: cannot merge an incident into itself")
        _require_incident(wh, o)
    now = now_utc()
    with wh.transaction():
        wh.execute(
            "INSERT INTO incident_documents SELECT ?, doc_id, ?, ?, source_gone_at FROM incident_documents "
            "WHERE incident_id IN (SELECT unnest(?)) ON CONFLICT DO NOTHING", [keep, by, now, others])
        wh.execute("UPDATE incidents SET status = 'merged', merged_into = ?, updated_at = ? "
                   "WHERE incident_id IN (SELECT unnest(?))", [keep, now, others])
        wh.execute("INSERT INTO scenario_incidents SELECT scenario_id, ? FROM scenario_incidents "
                   "WHERE incident_id IN (SELECT unnest(?)) ON CONFLICT DO NOTHING", [keep, others])
        wh.execute("DELETE FROM scenario_incidents WHERE incident_id IN (SELECT unnest(?))", [others])
        _rebuild_draft(wh, keep)


def forget_deleted(wh: Warehouse) -> int:
    """Honour deletions at the source inside incidents: a document deleted or removed since it
    was linked leaves the incident's draft, its words leave the searchability index, and
    pseudonym-map entries that only it mentioned are dropped (placeholders already written
    stay, so narratives keep their meaning). The link itself stays, as provenance counts.
    Returns the number of incidents touched."""
    gone = wh.rows("SELECT x.incident_id, x.doc_id FROM incident_documents x JOIN documents d USING (doc_id) "
                   "WHERE d.state <> 'ok' AND x.source_gone_at IS NULL")
    wh.execute(f"DELETE FROM doc_shingles WHERE doc_id IN ({gone_documents()})")
    wh.execute(f"DELETE FROM shingle_docs WHERE doc_id IN ({gone_documents()})")
    touched = sorted({i for i, _ in gone})
    for incident_id in touched:
        with wh.transaction():
            wh.execute(f"UPDATE incident_documents SET source_gone_at = ? WHERE incident_id = ? AND doc_id IN "
                       f"({gone_documents()})", [now_utc(), incident_id])
            _rebuild_draft(wh, incident_id)
            remaining = " ".join(document_texts(wh, incident_documents(wh, incident_id))).lower()
            stale = [o for _, o, _ in load_pseudonyms(wh, incident_id).rows() if o not in remaining]
            wh.execute("DELETE FROM pseudonym_maps WHERE owner_id = ? AND original IN (SELECT unnest(?))",
                       [incident_id, stale])
    return len(touched)


@dataclass(frozen=True)
class MergeSuggestion:
    incident_a: str
    incident_b: str
    score: float  # 0..1
    reason: str


def suggest_merges(wh: Warehouse, *, min_score: float = 0.35) -> list[MergeSuggestion]:
    """Pairs of open incidents that may tell the same story, most similar first; the annotator
    confirms with :func:`merge_incidents`. Text similarity (TF-IDF cosine over the source
    documents' words) plus one strong signal: the same (pseudonymous) author in both."""
    rows = wh.rows(
        "SELECT x.incident_id, list(x.doc_id ORDER BY x.doc_id), list(DISTINCT d.author_hash) "
        "FROM incident_documents x JOIN incidents i USING (incident_id) JOIN documents d USING (doc_id) "
        "WHERE i.status = 'open' GROUP BY x.incident_id ORDER BY x.incident_id")
    if len(rows) < 2:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    texts = document_texts(wh, [d for _, ids, _ in rows for d in ids])
    corpus = [" ".join(texts.get(d, "") for d in ids) for _, ids, _ in rows]
    sims = cosine_similarity(TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(corpus))
    authors = [{a for a in hashes if a} for _, _, hashes in rows]
    out = []
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            score, reason = float(sims[i, j]), f"text similarity {sims[i, j]:.2f}"
            if authors[i] & authors[j]:
                score, reason = max(score, 0.5) + 0.25, reason + "; same author"
            if score >= min_score:
                out.append(MergeSuggestion(rows[i][0], rows[j][0], round(min(score, 1.0), 3), reason))
    return sorted(out, key=lambda s: -s.score)


# -- scenarios -------------------------------------------------------------------------

def create_scenario(wh: Warehouse, title: str, incident_ids: list[str], narrative: str | None = None) -> str:
    if not title.strip():
        raise MinerError("a scenario needs a title")
    for i in incident_ids:
        _require_incident(wh, i)
    now = now_utc()
    with wh.transaction():
        n = wh.scalar("SELECT nextval('scenario_seq')")
        scenario_id = f"scn-{n:02d}"
        p = Pseudonyms(keyer=keyer(wh))
        wh.insert("scenarios", [{"scenario_id": scenario_id, "title": anonymize(title.strip(), p).text,
                                 "created_at": now, "updated_at": now}])
        _save_pseudonyms(wh, scenario_id, p)
        wh.insert("scenario_incidents", [{"scenario_id": scenario_id, "incident_id": i}
                                         for i in dict.fromkeys(incident_ids)])
    if narrative:
        set_scenario_narrative(wh, scenario_id, narrative)
    return scenario_id


def _require_scenario(wh: Warehouse, scenario_id: str) -> dict:
    rows = wh.dicts("SELECT * FROM scenarios WHERE scenario_id = ?", [scenario_id])
    if not rows:
        raise MinerError(f"{scenario_id}: no such scenario (scenario ids look like scn-01)")
    return rows[0]


def set_scenario_narrative(wh: Warehouse, scenario_id: str, text: str) -> str:
    _require_scenario(wh, scenario_id)
    return _set_owner_narrative(wh, "scenarios", "scenario_id", scenario_id, text)


def add_to_scenario(wh: Warehouse, scenario_id: str, incident_ids: list[str]) -> None:
    _require_scenario(wh, scenario_id)
    for i in incident_ids:
        _require_incident(wh, i)
    wh.insert("scenario_incidents", [{"scenario_id": scenario_id, "incident_id": i} for i in incident_ids],
              on_conflict="DO NOTHING")


def narrative_of(wh: Warehouse, owner_id: str) -> str | None:
    """The narrative of an incident or a scenario (ids never collide: inc-/scn- prefixes)."""
    if not owner_id.startswith(("inc-", "scn-")):
        raise MinerError(f"{owner_id}: not an incident id (inc-0001) or a scenario id (scn-01)")
    if owner_id.startswith("scn-"):
        s = _require_scenario(wh, owner_id)
        return f"{s['title']}\n\n{s['narrative']}" if s["narrative"] else None
    return _require_incident(wh, owner_id, open_only=False)["narrative"]

