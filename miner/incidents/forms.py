"""Incident edits from the web app's forms, each saved exactly once.

The same mechanism as triage labels (:mod:`miner.triage.worklist`): every form carries a key,
a second submit of the same key writes nothing, and a narrative changed by someone else since
the page was drawn is refused as stale instead of overwritten.
"""

from __future__ import annotations

import hashlib

from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.incidents import checks, incidents
from miner.triage.worklist import Outcome, duplicate_submission, record_submission


def narrative_version(narrative: str | None) -> str:
    """What the incident form remembers about the narrative it showed (see :func:`submit_narrative`)."""
    return hashlib.sha1((narrative or "").encode()).hexdigest()[:16]


def submit_narrative(wh: Warehouse, annotator: str, incident_id: str, text: str, *, key: str, seen: str) -> Outcome:
    """Save a rewritten narrative once (anonymized on the way in, as ``miner incident narrative``).
    Refused as stale when someone changed the narrative since the page was drawn, so two
    annotators never silently overwrite each other's rewrite."""
    prior = duplicate_submission(wh, key)
    if prior:
        return Outcome("duplicate", "Already saved: that was a second submit of the same page, nothing was written "
                       "again.", doc_id=prior["doc_id"])
    current = incidents.get_incident(wh, incident_id)
    if current["status"] != "open":
        raise MinerError(f"{incident_id}: merged into {current['merged_into']}; edit that one")
    if narrative_version(current["narrative"]) != seen:
        return Outcome("stale", "Not saved: someone changed this narrative since your page was drawn. Your text "
                       "is still in the box; compare it with the stored narrative below and save again.",
                       doc_id=incident_id)
    incidents.set_narrative(wh, incident_id, text)  # its own transaction (they do not nest); a crash
    record_submission(wh, key, annotator, "narrative", doc_id=incident_id)  # between the two makes a resubmit "stale"
    return Outcome("saved", "Narrative saved (anonymized on the way in) and checked.", doc_id=incident_id, written=1)


def submit_review_flags(wh: Warehouse, annotator: str, incident_id: str, *, key: str) -> Outcome:
    """Mark the narrative's current quasi-identifier flags as reviewed by ``annotator``, once."""
    if duplicate_submission(wh, key):
        return Outcome("duplicate", "Already done: that was a second submit, nothing was written again.",
                       doc_id=incident_id)
    with wh.transaction():
        done = checks.review_flags(wh, incident_id, by=annotator)
        record_submission(wh, key, annotator, "review_flags", doc_id=incident_id)
    return Outcome("saved", f"{len(done)} flag(s) marked reviewed.", doc_id=incident_id, written=len(done))


def submit_incidents_from_annotations(wh: Warehouse, annotator: str, *, key: str) -> Outcome:
    """Turn accepted items into incidents (:func:`miner.incidents.incidents.incidents_from_annotations`), once per form."""
    if duplicate_submission(wh, key):
        return Outcome("duplicate", "Already done: that was a second submit, nothing was written again.")
    res = incidents.incidents_from_annotations(wh, by=annotator)
    record_submission(wh, key, annotator, "incidents_from_annotations")
    if not res.created and not res.extended:
        return Outcome("saved", "Nothing new: every accepted item already belongs to an incident.")
    grown = f"; {len(res.extended)} existing incident(s) got more documents" if res.extended else ""
    return Outcome("saved", f"{len(res.created)} new incident(s){grown}. Write each one's narrative.",
                   written=len(res.created) + len(res.extended))
