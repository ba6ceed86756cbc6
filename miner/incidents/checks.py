"""The privacy checks an incident or scenario must pass before it may leave the warehouse.

1. It has a narrative (the draft, copied source text, never leaves).
2. No personal information is left in it (the detector finds nothing but our placeholders),
   nor anything the leak gate finds (:mod:`miner.incidents.leaks`: a source author's
   username written bare, a source's name in lower case, an e-mail spelled out, ...).
3. No source id or link is in it.
4. Searchability: no run of more than N words in common with its own source documents,
   nor with any document in the warehouse (:mod:`miner.incidents.searchability`).
5. Every quasi-identifier flag has been reviewed by an annotator (a flag is never silently
   kept; rewriting the narrative so the detail is gone also clears it).

Each run is recorded in ``privacy_checks`` (what failed, which span, which documents), so
``v_incidents`` shows the state and exports can say why an incident was left out.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.incidents import leaks, pii
from miner.incidents.anonymize import quasi_identifiers
from miner.incidents.incidents import incident_documents, known_for, narrative_of
from miner.incidents.searchability import DEFAULT_MAX_SHARED_WORDS, shared_spans

_SOURCE_ID = re.compile(r"(?i)\b(?:reddit:t[13]_[a-z0-9]+|news:[0-9a-f]{12,40}|t[13]_[a-z0-9]{4,10})\b")


@dataclass(frozen=True)
class Problem:
    check: str          # narrative | pii | leak | source_id | searchable_source | searchable_warehouse | quasi_identifier
    detail: str
    span: str | None = None
    documents: tuple[str, ...] = ()


@dataclass
class CheckResult:
    owner_id: str
    max_shared_words: int
    problems: list[Problem] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def reason(self) -> str:
        """One line for an export's "left out" list."""
        if self.passed:
            return "passed"
        first = self.problems[0]
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"{first.check}: {first.detail}{more}"


def reviewed_flags(wh: Warehouse, owner_id: str) -> set[str]:
    return {k for (k,) in wh.rows("SELECT flag_key FROM quasi_identifier_reviews WHERE owner_id = ?", [owner_id])}


def review_flags(wh: Warehouse, owner_id: str, keys: list[str] | None = None, *, by: str | None = None) -> list[str]:
    """Mark quasi-identifier flags as reviewed (all current ones when ``keys`` is None)."""
    current = [f.key for f in quasi_identifiers(narrative_of(wh, owner_id) or "")]
    keys = current if keys is None else keys
    unknown = [k for k in keys if k not in current]
    if unknown:
        raise MinerError(f"{owner_id}: no current flag {unknown[0]!r} (flags: {', '.join(current) or 'none'})")
    wh.insert("quasi_identifier_reviews", [{"owner_id": owner_id, "flag_key": k, "reviewed_by": by,
                                            "reviewed_at": now_utc()} for k in keys], on_conflict="DO NOTHING")
    return keys


def check(wh: Warehouse, owner_id: str, *, max_shared_words: int = DEFAULT_MAX_SHARED_WORDS,
          record: bool = True) -> CheckResult:
    """Run every check on an incident's (``inc-``) or scenario's (``scn-``) narrative."""
    narrative = narrative_of(wh, owner_id)
    result = CheckResult(owner_id, max_shared_words)
    probs = result.problems
    if not narrative or not narrative.strip():
        probs.append(Problem("narrative", "no narrative yet (the draft is never exported; write one)"))
    else:
        detected = pii.detect(narrative)
        for e in detected:
            probs.append(Problem("pii", f"possible {e.type} left in the narrative", e.text))
        for x in leaks.scan(narrative, known_for(wh, owner_id)):
            if not any(x.start < e.end and e.start < x.end for e in detected):
                probs.append(Problem("leak", f"narrative: {x.what} (not shown)"))
        for m in _SOURCE_ID.finditer(narrative):
            probs.append(Problem("source_id", "a source id in the narrative", m.group(0)))
        sources = incident_documents(wh, owner_id)
        own = shared_spans(wh, narrative, doc_ids=sources, max_shared_words=max_shared_words)
        for s in own:
            probs.append(Problem("searchable_source", f"{s.n_words} words in a row copied from a source document "
                                 f"(more than {max_shared_words})", s.text, s.doc_ids))
        own_spans = {(s.start, s.end) for s in own}
        for s in shared_spans(wh, narrative, max_shared_words=max_shared_words):
            if (s.start, s.end) not in own_spans:
                probs.append(Problem("searchable_warehouse", f"{s.n_words} words in a row found in "
                                     f"{len(s.doc_ids)} warehouse document(s)", s.text, s.doc_ids))
        seen = reviewed_flags(wh, owner_id)
        for f in quasi_identifiers(narrative):
            result.flags.append({"kind": f.kind, "text": f.text, "why": f.why, "key": f.key,
                                 "reviewed": f.key in seen})
            if f.key not in seen:
                probs.append(Problem("quasi_identifier", f"{f.kind} not reviewed ({f.why})", f.text))
    if record:
        wh.insert("privacy_checks", [{
            "owner_id": owner_id, "checked_at": now_utc(),
            "narrative_sha1": hashlib.sha1((narrative or "").encode()).hexdigest(),
            "max_shared_words": max_shared_words, "passed": result.passed,
            "problems": json.dumps([asdict(p) for p in probs]), "flags": json.dumps(result.flags)}])
    return result
