"""Honouring deletions at the source (Reddit's terms require it): what collection does.

``recheck_at_source`` re-checks known Reddit ids in bulk (``/api/info``, 100 ids a request)
and tombstones documents their authors deleted or moderators removed: text, title, URL and
the title's slug in the permalink are purged, while the id, counts and lineage (hits) stay
so the funnel still adds up. In the same transaction ``purge_gone`` scrubs the same items out
of the stored raw payloads, which would otherwise keep the text, and the caller's ``forget``
removes what later stages derived from them (collection cannot know those stages:
:func:`miner.pipeline.refresh_deletions` passes :func:`miner.pipeline.forget_derived`). So
the text is gone everywhere at once, or (a crash) nowhere yet and found again next time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from miner.collect.normalize import comment_state, submission_state
from miner.collect.sources import sources_for
from miner.collect.sources.base import SourceError
from miner.collect.store import save_requests
from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.core.records import RequestLog

INFO_BATCH = 100
_TEXT_FIELDS = ("title", "selftext", "selftext_html", "body", "body_html", "url", "url_overridden_by_dest")
# /r/sub/comments/<id>/<the_title_as_a_slug>/...: Reddit answers the same link with "_" for the slug.
_SLUG = re.compile(r"(/comments/[0-9a-z]+/)[^/?#]+")
_SLUG_SQL = r"regexp_replace(permalink, '(/comments/[0-9a-z]+/)[^/?#]+', '\1_')"

Forget = Callable[[Warehouse], object]  # removes what later stages derived from tombstoned documents


@dataclass
class DeletionCheck:
    checked: int = 0
    tombstoned: int = 0
    requests: int = 0
    purged: int = 0
    skipped: bool = False
    error: str | None = None


def due(wh: Warehouse, min_interval: timedelta = timedelta(hours=20)) -> bool:
    """At most about once a day: the nightly flow asks before spending requests on it."""
    last = wh.scalar("SELECT max(checked_at) FROM deletion_checks")
    return last is None or now_utc() - last >= min_interval


def recheck_at_source(wh: Warehouse, reddit, *, run_id: str | None = None, forget: Forget | None = None
                      ) -> DeletionCheck:
    """Re-check every live Reddit document at the source and tombstone what is gone.

    Items missing from the reply (purged accounts, banned communities) count as deleted.
    What is found gone is tombstoned and purged at the end, in one transaction (also when the
    check stops early): a check killed halfway tombstones nothing and the next one finds it all
    again, since every live document is re-checked each time.
    """
    result = DeletionCheck()
    found: dict[str, str] = {}
    rows = wh.rows("SELECT native_id, doc_id FROM documents WHERE source = 'reddit' AND state = 'ok' "
                   "ORDER BY doc_id")
    try:
        for i in range(0, len(rows), INFO_BATCH):
            batch = dict(rows[i:i + INFO_BATCH])
            fetched = reddit.info(list(batch))
            result.requests += 1
            save_requests(wh, [RequestLog(run_id or "refresh-deletions", None, "reddit", fetched.endpoint,
                                          json.dumps({"ids": len(batch)}), fetched.status, None,
                                          len(fetched.data["data"]["children"]), None, fetched.started_at,
                                          fetched.elapsed_ms)])
            seen: dict[str, str] = {}
            for child in fetched.data["data"]["children"]:
                data = child.get("data") or {}
                state = submission_state(data) if child.get("kind") == "t3" else comment_state(data)
                seen[data.get("name", "")] = state
            found |= {batch[name]: seen.get(name, "deleted") for name in batch if seen.get(name, "deleted") != "ok"}
            result.checked += len(batch)
    except SourceError as exc:
        result.error = str(exc)
    with wh.transaction():
        earlier = purge_gone(wh)  # tombstoned before (by a re-harvest) and not yet scrubbed
        result.tombstoned = tombstone(wh, found, forget)
        result.purged = earlier + result.tombstoned
        wh.insert("deletion_checks", [{"checked_at": now_utc(), "run_id": run_id, "checked": result.checked,
                                       "tombstoned": result.tombstoned, "requests": result.requests}])
    return result


def tombstone(wh: Warehouse, states: dict[str, str], forget: Forget | None = None) -> int:
    """Mark documents deleted/removed and drop their text (the permalink keeps its id, not
    the title's slug); an author who deleted their own post also loses the pseudonymous
    link to it. In the same transaction: the raw payloads are scrubbed and ``forget``
    removes what later stages derived from them."""
    if not states:
        return 0
    with wh.transaction():
        for state in ("deleted", "removed"):
            ids = [d for d, s in states.items() if s == state]
            if ids:
                wh.execute(
                    "UPDATE documents SET state = ?, title = NULL, body = NULL, url = NULL, purged_at = NULL, "
                    f"permalink = {_SLUG_SQL}, "
                    "author_hash = CASE WHEN ? = 'deleted' THEN NULL ELSE author_hash END "
                    "WHERE doc_id IN (SELECT unnest(?))", [state, state, ids])
        purge_gone(wh)
        if forget is not None:
            forget(wh)
    return len(states)


def purge_gone(wh: Warehouse) -> int:
    """Scrub deleted and removed items out of every stored payload that contains them.

    A payload keeps its id (the hash of the body as first stored) after scrubbing.
    """
    gone = dict(wh.rows("SELECT native_id, state FROM documents WHERE source = 'reddit' "
                        "AND state IN ('deleted', 'removed') AND purged_at IS NULL"))
    if not gone:
        return 0
    names = list(gone)
    for i in range(0, len(names), 500):
        chunk = names[i:i + 500]
        pattern = '"name":"(' + "|".join(chunk) + ')"'
        payloads = wh.rows("SELECT payload_id, body FROM raw_payloads WHERE regexp_matches(body::VARCHAR, ?)",
                           [pattern])
        updates = []
        for payload_id, body in payloads:
            doc = json.loads(body)
            if _scrub(doc, gone):
                updates.append({"payload_id": payload_id, "body": json.dumps(doc, sort_keys=True,
                                                                             separators=(",", ":"))})
        with wh.transaction():
            for u in updates:
                wh.execute("UPDATE raw_payloads SET body = ? WHERE payload_id = ?", [u["body"], u["payload_id"]])
            wh.execute("UPDATE documents SET purged_at = ? WHERE native_id IN (SELECT unnest(?)) "
                       "AND source = 'reddit'", [now_utc(), chunk])
    return len(gone)


def _scrub(obj, gone: dict[str, str]) -> bool:
    """Replace the text of every thing whose fullname is in ``gone``; True if anything changed."""
    changed = False
    if isinstance(obj, dict):
        name = obj.get("name")
        # a thing's data: in listings, and nested (a crosspost carries its parent's data)
        if isinstance(name, str) and name in gone and any(f in obj for f in _TEXT_FIELDS):
            marker = f"[{gone[name]}]"
            for f in _TEXT_FIELDS:
                if obj.get(f):
                    obj[f] = marker
            if isinstance(obj.get("permalink"), str):
                obj["permalink"] = _SLUG.sub(r"\1_", obj["permalink"])
            if gone[name] == "deleted":
                obj["author"] = "[deleted]"
            changed = True
        for v in obj.values():
            changed |= _scrub(v, gone)
    elif isinstance(obj, list):
        for v in obj:
            changed |= _scrub(v, gone)
    return changed


def check_deletions(warehouse_path: str, endpoints, run_id: str | None = None, *, force: bool = False,
                    requests_per_minute: float | None = 100, throttle=None, forget: Forget | None = None
                    ) -> DeletionCheck:
    """Open the warehouse and re-check at the source, unless a check ran in the last ~day.

    Collection only: :func:`miner.pipeline.refresh_deletions` (what the CLI and the flow call)
    runs this with ``forget``, which removes what later stages derived from tombstoned documents."""
    with Warehouse.open(warehouse_path) as wh:
        if not force and not due(wh):
            return DeletionCheck(skipped=True, purged=purge_gone(wh))
        reddit = sources_for(endpoints, "reddit", requests_per_minute, throttle)
        return recheck_at_source(wh, reddit, run_id=run_id, forget=forget)
