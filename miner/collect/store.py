"""The store: runs, pages, documents and hits as every collection path writes them, and the
reads of ``documents`` other stages share.

The live harvest (:mod:`miner.collect.harvest`) and the archive import
(:mod:`miner.collect.archive`) write their runs, documents and hits through here, and the replay
loader its documents, so a document, a hit or a run means the same whichever path brought it
(an import's own bookkeeping, ``archive_*``, and the tombstones of :mod:`miner.collect.deletions`
stay with those modules):

* **runs**: a plan is registered once per version, a run is opened (closing runs of processes
  that died as ``interrupted``), each query's outcome is recorded, and the run is closed with
  its status;
* **pages**: the documents, raw payloads, request log and hits of one page of results, written
  in the caller's transaction together with the query's cursor;
* **documents** are upserted by id (one row per ``doc_id``; an archive import never overwrites),
  **hits** keep their first run and rank;
* **query cursors** (high-water mark, resume point, failures), the **harvest lock** (one writer of
  runs and cursors per warehouse) and what the budget planner needs to know about past runs.

Later stages read documents through :func:`text_relation` / :func:`document_texts` (the source
text of live documents) and :func:`gone_documents` (what was deleted or removed at the source).
"""

from __future__ import annotations

import fcntl
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.core.records import Document, Hit, RawPayload, RequestLog
from miner.plan.budget import QueryHistory
from miner.plan.plan import Plan, PlannedQuery, harvest_queries


# -- plans and runs ------------------------------------------------------------------------
def new_run_id() -> str:
    return "run_" + now_utc().strftime("%Y%m%dT%H%M%S") + "_" + secrets.token_hex(3)


def register_plan(wh: Warehouse, plan: Plan, queries: list[PlannedQuery]) -> None:
    """Record the plan text and its queries (once; editing a plan makes a new plan id)."""
    with wh.transaction():
        wh.insert("plans", [{"plan_id": plan.plan_id, "name": plan.name, "path": str(plan.path),
                             "sha256": plan.sha256, "body": plan.text, "first_used_at": now_utc()}],
                  on_conflict="DO NOTHING")
        wh.insert("queries", [{"query_id": q.query_id, "source": q.source, "scope": q.scope, "text": q.text,
                               "rendered": q.rendered, "product": q.product, "template": q.template}
                              for q in _unique(queries)], on_conflict="DO NOTHING")
        wh.insert("plan_queries", [{"plan_id": plan.plan_id, "query_id": q.query_id, "priority": q.priority,
                                    "max_items": q.limit} for q in _unique(queries)],
                  on_conflict="(plan_id, query_id) DO UPDATE SET priority = excluded.priority, "
                              "max_items = excluded.max_items")


def _unique(queries: list[PlannedQuery]) -> list[PlannedQuery]:
    seen: dict[str, PlannedQuery] = {}
    for q in queries:
        seen.setdefault(q.query_id, q)
    return list(seen.values())


def start_run(wh: Warehouse, plan: Plan, *, endpoint: str, flow_run_id: str | None = None) -> str:
    """Open a run. Runs still marked 'running' belong to a process that died (the caller holds
    the harvest lock), so they are closed as 'interrupted'; their work resumes in this run."""
    run_id = new_run_id()
    wh.execute("UPDATE harvest_runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
               [now_utc()])
    register_plan(wh, plan, harvest_queries(plan))
    wh.insert("harvest_runs", [{"run_id": run_id, "plan_id": plan.plan_id, "started_at": now_utc(),
                                "finished_at": None, "status": "running", "endpoint": endpoint,
                                "flow_run_id": flow_run_id}])
    return run_id


@dataclass
class QueryOutcome:
    query_id: str
    source: str
    status: str  # ok | failed | deferred (budget spent mid-way) | skipped (left for the next run)
    requests: int = 0
    hits: int = 0
    new_documents: int = 0
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


def record_outcomes(wh: Warehouse, run_id: str, outcomes: list[QueryOutcome]) -> None:
    wh.insert("run_queries", [{"run_id": run_id, "query_id": o.query_id, "source": o.source, "status": o.status,
                               "requests": o.requests, "hits": o.hits, "new_documents": o.new_documents,
                               "error": o.error, "started_at": o.started_at, "finished_at": o.finished_at}
                              for o in outcomes],
              on_conflict="(run_id, query_id) DO UPDATE SET status = excluded.status, requests = excluded.requests, "
                          "hits = excluded.hits, new_documents = excluded.new_documents, error = excluded.error, "
                          "finished_at = excluded.finished_at")


def finish_run(wh: Warehouse, run_id: str, outcomes: Sequence[QueryOutcome], note: str | None = None) -> str:
    """ok when every query ran to the end; partial when some failed or wait for budget;
    failed when none succeeded (the only case the CLI exits non-zero). An archive import
    passes one outcome per file."""
    done = [o for o in outcomes if o.status == "ok"]
    status = "ok" if len(done) == len(outcomes) else ("partial" if done else "failed")
    wh.execute("UPDATE harvest_runs SET finished_at = ?, status = ?, note = coalesce(?, note) WHERE run_id = ?",
               [now_utc(), status, note, run_id])
    return status


def recent_runs(wh: Warehouse, limit: int = 20) -> tuple[list[str], list[tuple]]:
    """The latest runs, newest first (``v_runs``): status, queries ok/failed/deferred, requests,
    new documents, the planner's note. Column names and rows."""
    return wh.query(
        "SELECT run_id, started_at, finished_at, status, queries_ok, queries_failed, queries_deferred, "
        "requests, new_documents, note FROM v_runs ORDER BY started_at DESC LIMIT ?", [limit])


def news_requests_today(wh: Warehouse) -> int:
    """NewsAPI counts requests per UTC day, whatever their outcome."""
    return wh.scalar("SELECT count(*) FROM requests WHERE source = 'news' AND started_at >= current_date")


# -- pages of results ------------------------------------------------------------------------
@dataclass
class Page:
    """Everything one page of results writes, in one transaction."""

    docs: list[Document] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    payloads: list[RawPayload] = field(default_factory=list)
    requests: list[RequestLog] = field(default_factory=list)
    comments_fetched: list[str] = field(default_factory=list)  # submission doc_ids
    lost_windows: list["LostWindow"] = field(default_factory=list)


@dataclass
class LostWindow:
    """Time a sweep could not read: between the previous pass's newest item and the oldest
    item this pass's listing still reached (Reddit stops a listing at about 1,000 items)."""

    query_id: str
    community: str
    listing: str  # submissions | comments
    run_id: str
    window_from: datetime
    window_to: datetime


def save_page(wh: Warehouse, page: Page, run_id: str) -> tuple[int, int]:
    """Write a page; returns (new documents, hits). Call it inside the transaction that also
    saves the query's cursor, so a page and its cursor are committed together or not at all."""
    new = save_documents(wh, page.docs, run_id)
    save_payloads(wh, page.payloads)
    save_requests(wh, page.requests)
    hits = save_hits(wh, page.hits, run_id)
    if page.comments_fetched:
        wh.execute("UPDATE documents SET comments_fetched_at = ? WHERE doc_id IN (SELECT unnest(?))",
                   [now_utc(), page.comments_fetched])
    if page.lost_windows:
        wh.insert("lost_windows", [{**vars(w), "recorded_at": now_utc()} for w in page.lost_windows],
                  on_conflict="DO NOTHING")
    return new, hits


def observed_per_day(wh: Warehouse, query_ids: list[str], days: int = 7) -> dict[str, float]:
    """Items a day each sweep found over its last ``days`` days of items (by creation time),
    for queries with at least one full day of history."""
    rows = wh.rows(
        "WITH h AS (SELECT h.query_id, d.created_at FROM hits h JOIN documents d USING (doc_id) "
        "           WHERE h.query_id IN (SELECT unnest(?)) AND d.created_at IS NOT NULL), "
        "s AS (SELECT query_id, max(created_at) AS newest, min(created_at) AS oldest FROM h GROUP BY 1) "
        "SELECT s.query_id, count(*), "
        "       date_diff('second', greatest(s.oldest, s.newest - to_days(?)), s.newest) / 86400.0 "
        "FROM h JOIN s USING (query_id) WHERE h.created_at >= s.newest - to_days(?) "
        "GROUP BY s.query_id, s.newest, s.oldest", [query_ids, days, days])
    return {q: n / span for q, n, span in rows if span and span >= 1}


def lost_windows(wh: Warehouse, run_id: str | None = None) -> list[LostWindow]:
    """Windows sweeps could not read (of one run, or all), oldest first."""
    where, args = ("WHERE run_id = ?", [run_id]) if run_id else ("", [])
    return [LostWindow(*r) for r in wh.rows(
        "SELECT query_id, community, listing, run_id, window_from, window_to FROM lost_windows "
        f"{where} ORDER BY window_from", args)]


def save_payloads(wh: Warehouse, payloads: Iterable[RawPayload]) -> None:
    """Raw payloads are content-addressed: one stored twice is stored once."""
    wh.insert("raw_payloads", list(payloads), on_conflict="DO NOTHING")


def save_requests(wh: Warehouse, requests: Iterable[RequestLog]) -> None:
    wh.insert("requests", list(requests))


def requests_in_run(wh: Warehouse, run_id: str, source: str) -> int:
    return wh.scalar("SELECT count(*) FROM requests WHERE run_id = ? AND source = ?", [run_id, source])


# -- documents and hits ----------------------------------------------------------------------
_DOC_UPDATE = ["source", "kind", "native_id", "thread_id", "parent_id", "community", "author_hash", "title",
               "body", "url", "permalink", "created_at", "score", "num_comments", "over_18", "state",
               "crosspost_parent", "language", "content_hash", "payload_id", "last_seen_at", "last_run_id"]


def save_documents(wh: Warehouse, docs: Iterable[Document], run_id: str, *, keep_existing: bool = False) -> int:
    """Upsert documents (one row per id, newest version wins); returns how many were new.

    ``keep_existing`` only adds documents that are missing: an archive import uses it so an
    old dump snapshot never overwrites what a live harvest (or an earlier import) stored.
    """
    latest: dict[str, Document] = {}
    for d in docs:
        latest[d.doc_id] = d
    if not latest:
        return 0
    existing = {r[0] for r in wh.rows("SELECT doc_id FROM documents WHERE doc_id IN (SELECT unnest(?))",
                                      [list(latest)])}
    now = now_utc()
    rows = []
    for d in latest.values():
        row = {k: getattr(d, k) for k in (
            "doc_id", "source", "kind", "native_id", "thread_id", "parent_id", "community", "author_hash", "title",
            "body", "url", "permalink", "created_at", "score", "num_comments", "over_18", "state",
            "crosspost_parent", "language", "payload_id")}
        row.update(content_hash=d.content_hash, first_seen_at=now, last_seen_at=now,
                   first_run_id=run_id, last_run_id=run_id)
        rows.append(row)
    wh.insert("documents", rows, on_conflict="DO NOTHING" if keep_existing else "(doc_id) DO UPDATE SET " +
              ", ".join(f"{c} = excluded.{c}" for c in _DOC_UPDATE))
    return len(latest.keys() - existing)


def save_hits(wh: Warehouse, hits: Iterable[Hit], run_id: str) -> int:
    """Insert hits; a hit found again keeps its first run and rank and updates last_seen."""
    unique: dict[tuple[str, str, str], Hit] = {}
    for h in hits:
        unique.setdefault((h.plan_id, h.query_id, h.doc_id), h)
    if not unique:
        return 0
    now = now_utc()
    rows = [dict(vars(h), last_run_id=run_id, last_seen_at=now) for h in unique.values()]
    wh.insert("hits", rows, on_conflict="(plan_id, query_id, doc_id) DO UPDATE SET "
              "last_run_id = excluded.last_run_id, last_seen_at = excluded.last_seen_at")
    return len(rows)


# -- query cursors -----------------------------------------------------------------------------
@dataclass
class QueryCursor:
    """Where a query stands: its high-water mark, and where an unfinished pass resumes."""

    high_water: datetime | None
    cursor: str | None
    pass_rank: int
    pass_newest: datetime | None


def query_cursor(wh: Warehouse, query_id: str) -> QueryCursor:
    row = wh.rows("SELECT high_water, cursor, pass_rank, pass_newest FROM query_state "
                  "WHERE query_id = ?", [query_id])
    if not row:
        return QueryCursor(None, None, 0, None)
    hw, cursor, rank, newest = row[0]
    return QueryCursor(hw, cursor, rank or 0, newest)


def save_query_state(wh: Warehouse, row: dict) -> None:
    cols = [c for c in row if c != "query_id"]
    wh.insert("query_state", [row], on_conflict="(query_id) DO UPDATE SET " +
              ", ".join(f"{c} = excluded.{c}" for c in cols))


def record_query_failure(wh: Warehouse, query_id: str, run_id: str, status: str, error: str | None) -> None:
    """Keep the cursor (a retry resumes there) and count consecutive failures."""
    wh.execute(
        "INSERT INTO query_state (query_id, last_run_id, last_status, last_error, failures, updated_at) "
        f"VALUES (?, ?, ?, ?, {int(status == 'failed')}, ?) ON CONFLICT (query_id) DO UPDATE SET last_run_id = excluded.last_run_id, "
        "last_status = excluded.last_status, last_error = excluded.last_error, "
        "failures = query_state.failures + excluded.failures, updated_at = excluded.updated_at",
        [query_id, run_id, status, error, now_utc()])


def run_started_at(wh: Warehouse, run_id: str) -> datetime | None:
    return wh.scalar("SELECT started_at FROM harvest_runs WHERE run_id = ?", [run_id])


# -- threads -----------------------------------------------------------------------------------
def comments_fetched(wh: Warehouse, doc_ids: list[str]) -> set[str]:
    """Submissions among ``doc_ids`` whose comments were fetched already (by any query or run)."""
    return {r[0] for r in wh.rows(
        "SELECT doc_id FROM documents WHERE doc_id IN (SELECT unnest(?)) AND comments_fetched_at IS NOT NULL",
        [doc_ids])}


def thread_comments(wh: Warehouse, thread_ids: list[str]) -> list[tuple[str, str]]:
    """(thread_id, doc_id) of the stored comments of these submissions."""
    return wh.rows(
        "SELECT thread_id, doc_id FROM documents WHERE kind = 'comment' AND thread_id IN (SELECT unnest(?))",
        [thread_ids])


def young_threads(wh: Warehouse, plan_id: str, query_ids: list[str], *, created_since: datetime,
                  fetched_before: datetime) -> list[tuple[str, str, list[str]]]:
    """(doc_id, native_id, query ids) of live submissions ``plan_id``'s queries found by search,
    written since ``created_since``, whose comments were last fetched before ``fetched_before``."""
    return wh.rows(
        "SELECT d.doc_id, d.native_id, list(DISTINCT h.query_id) FROM documents d "
        "JOIN hits h ON h.doc_id = d.doc_id AND h.via = 'search' AND h.plan_id = ? "
        "WHERE d.kind = 'submission' AND d.state = 'ok' AND d.created_at >= ? "
        "AND (d.comments_fetched_at IS NULL OR d.comments_fetched_at < ?) "
        "AND h.query_id IN (SELECT unnest(?)) GROUP BY ALL ORDER BY d.doc_id",
        [plan_id, created_since, fetched_before, query_ids])


# -- documents as later stages read them -----------------------------------------------------
def text_relation() -> str:
    """SQL for ``(doc_id, text)`` over every live document with text: title and body as stored,
    for documents neither deleted nor removed at the source and not purged."""
    return ("SELECT doc_id, concat_ws(chr(10) || chr(10), nullif(title, ''), nullif(body, '')) AS text "
            "FROM documents WHERE purged_at IS NULL AND state = 'ok'")


def document_texts(wh: Warehouse, doc_ids: Iterable[str]) -> dict[str, str]:
    """The source text (title and body) of each live document among ``doc_ids``."""
    ids = list(dict.fromkeys(doc_ids))
    if not ids:
        return {}
    rows = wh.rows(f"SELECT doc_id, text FROM ({text_relation()}) WHERE doc_id IN (SELECT unnest(?))", [ids])
    return {d: t or "" for d, t in rows}


def gone_documents() -> str:
    """SQL for the ids of documents deleted or removed at the source (tombstoned)."""
    return "SELECT doc_id FROM documents WHERE state <> 'ok'"


# -- one writer at a time ----------------------------------------------------------------------
@contextmanager
def harvest_lock(warehouse_path) -> Iterator[None]:
    """One harvest at a time per warehouse: two interleaved runs would fight over cursors.

    An OS file lock (released by the kernel if the process dies, even by SIGKILL), not a
    row in the warehouse, so a crashed run never leaves the warehouse locked.
    """
    lock_path = Path(f"{warehouse_path}.harvest.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise MinerError(f"{warehouse_path}: another harvest or import is running on this warehouse") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def query_history(wh: Warehouse, queries: list[PlannedQuery]) -> dict:
    """What the budget planner needs to know about each query's past runs."""
    ids = [q.query_id for q in queries]
    rows = wh.rows(
        "SELECT s.query_id, s.high_water IS NOT NULL, s.cursor IS NOT NULL, "
        " (SELECT requests FROM run_queries r WHERE r.query_id = s.query_id AND r.status = 'ok' "
        "  ORDER BY finished_at DESC LIMIT 1), "
        " (SELECT max(finished_at) FROM run_queries r WHERE r.query_id = s.query_id AND r.status <> 'skipped') "
        "FROM query_state s WHERE s.query_id IN (SELECT unnest(?))", [ids])
    return {qid: QueryHistory(bool(done), bool(resuming), last, ran) for qid, done, resuming, last, ran in rows}
