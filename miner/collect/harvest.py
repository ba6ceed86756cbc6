"""Harvest: run a plan's queries against their sources and load what comes back.

The unit of work is one page of results. Each page is written in a single transaction
together with the query's cursor (the ``after`` token, or the NewsAPI page number), so a
run killed at any moment resumes at the first page it had not committed: nothing is lost,
nothing is written twice, and no half-page is visible.

Incremental by default: with ``sort = "new"`` a complete pass stores the newest creation
time it saw (the high-water mark), and the next pass stops at the first item older than
it, so an unchanged source costs one request per query.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import random
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Iterable, Iterator, Sequence

from miner.core.db import Warehouse
from miner.core.clock import now_utc
from miner.collect.normalize import news_article, reddit_comment, reddit_submission, walk_comments
from miner.plan.plan import Plan, PlannedQuery, expand
from miner.collect.pseudonyms import Pseudonymizer
from miner.core.records import Document, Hit, RawPayload, RequestLog
from miner.collect.sources.base import (BudgetExhausted, EndOfResults, Fetched, PermanentError, SourceError,
                                        TransientError)


def new_run_id() -> str:
    return "run_" + now_utc().strftime("%Y%m%dT%H%M%S") + "_" + secrets.token_hex(3)


# -- plans and runs ------------------------------------------------------------------------
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
    register_plan(wh, plan, expand(plan))
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


# -- retries -------------------------------------------------------------------------------
@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter; a 429's reset header wins when it is longer."""

    attempts: int = 4
    base_seconds: float = 1.0
    max_seconds: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def call(self, fn: Callable[[], Fetched]) -> Fetched:
        for attempt in range(1, self.attempts + 1):
            try:
                return fn()
            except TransientError as exc:
                if attempt == self.attempts:
                    raise
                backoff = random.uniform(0, min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1)))
                self.sleep(max(backoff, exc.retry_after or 0.0))
        raise AssertionError("unreachable")


# -- budgets -------------------------------------------------------------------------------
class RequestBudget:
    """Requests left per source for this run (Reddit per run, NewsAPI per UTC day).

    Counted from the ``requests`` table, so it survives crashes and is shared by every query
    of a run; ``None`` means unlimited.
    """

    def __init__(self, left: dict[str, int | None]) -> None:
        self.left = dict(left)

    @classmethod
    def for_run(cls, wh: Warehouse, run_id: str, budget) -> "RequestBudget":
        reddit = None
        if budget.reddit_requests_per_run is not None:
            used = wh.scalar("SELECT count(*) FROM requests WHERE run_id = ? AND source = 'reddit'", [run_id])
            reddit = budget.reddit_requests_per_run - used
        return cls({"reddit": reddit, "news": budget.news_requests_per_day - news_requests_today(wh)})

    def exhausted(self, source: str) -> bool:
        left = self.left.get(source)
        return left is not None and left <= 0

    def take(self, source: str) -> None:
        if self.exhausted(source):
            raise BudgetExhausted(f"{source} request budget spent for this "
                                  f"{'day' if source == 'news' else 'run'}")
        if self.left.get(source) is not None:
            self.left[source] -= 1

    def exhaust(self, source: str) -> None:
        self.left[source] = 0


def news_requests_today(wh: Warehouse) -> int:
    """NewsAPI counts requests per UTC day, whatever their outcome."""
    return wh.scalar("SELECT count(*) FROM requests WHERE source = 'news' AND started_at >= current_date")


# -- the harvester --------------------------------------------------------------------------
@dataclass
class _Page:
    """Everything one page of results writes, in one transaction."""

    docs: list[Document] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    payloads: list[RawPayload] = field(default_factory=list)
    requests: list[RequestLog] = field(default_factory=list)
    comments_fetched: list[str] = field(default_factory=list)  # submission doc_ids


@dataclass
class _State:
    high_water: datetime | None
    cursor: str | None
    pass_rank: int
    pass_newest: datetime | None


class Harvester:
    """Runs queries for one run. Sources are passed in (praw- and newsapi-backed adapters,
    or anything with the same methods), so the harvest logic never builds clients."""

    def __init__(self, wh: Warehouse, plan: Plan, run_id: str, pseudonymizer: Pseudonymizer, *,
                 reddit=None, news=None, retry: RetryPolicy | None = None,
                 budget: RequestBudget | None = None) -> None:
        self.wh = wh
        self.plan = plan
        self.run_id = run_id
        self.p = pseudonymizer
        self.reddit = reddit
        self.news = news
        self.retry = retry or RetryPolicy()
        self.budget = budget or RequestBudget({})
        self.source_errors: dict[str, str] = {}  # sources that could not be built, and why

    # public ---------------------------------------------------------------------------
    def run_query(self, q: PlannedQuery) -> QueryOutcome:
        """Run one query to its end (or until its source fails or its budget is spent) and
        record the outcome; never raises for source problems."""
        outcome = QueryOutcome(q.query_id, q.source, "ok", started_at=now_utc())
        try:
            if q.source == "reddit":
                if self.reddit is None:
                    raise PermanentError("no Reddit source configured")
                self._reddit_pass(q, outcome)
            elif q.source == "news":
                if self.news is None:
                    raise PermanentError("no news source configured")
                self._news_pass(q, outcome)
            else:
                raise PermanentError(f"unknown source {q.source!r}")
        except SourceError as exc:
            if isinstance(exc, BudgetExhausted):
                self.budget.exhaust(q.source)
            outcome.status = "deferred" if isinstance(exc, BudgetExhausted) else "failed"
            outcome.error = str(exc)
            self._record_failure(q, outcome)
        outcome.finished_at = now_utc()
        record_outcomes(self.wh, self.run_id, [outcome])
        return outcome

    # state ------------------------------------------------------------------------------
    def _state(self, query_id: str) -> _State:
        row = self.wh.rows("SELECT high_water, cursor, pass_rank, pass_newest FROM query_state "
                           "WHERE query_id = ?", [query_id])
        if not row:
            return _State(None, None, 0, None)
        hw, cursor, rank, newest = row[0]
        return _State(hw, cursor, rank or 0, newest)

    def _state_row(self, q: PlannedQuery, **values) -> dict:
        base = {"query_id": q.query_id, "high_water": None, "cursor": None, "pass_rank": None,
                "pass_newest": None, "pass_run_id": self.run_id, "last_run_id": self.run_id,
                "last_status": "running", "last_error": None, "failures": 0, "updated_at": now_utc()}
        base.update(values)
        return base

    def _save_state(self, row: dict) -> None:
        cols = [c for c in row if c != "query_id"]
        self.wh.insert("query_state", [row], on_conflict="(query_id) DO UPDATE SET " +
                       ", ".join(f"{c} = excluded.{c}" for c in cols))

    def _record_failure(self, q: PlannedQuery, outcome: QueryOutcome) -> None:
        """Keep the cursor (a retry resumes there) and count consecutive failures."""
        self.wh.execute(
            "INSERT INTO query_state (query_id, last_run_id, last_status, last_error, failures, updated_at) "
            f"VALUES (?, ?, ?, ?, {int(outcome.status == 'failed')}, ?) ON CONFLICT (query_id) DO UPDATE SET last_run_id = excluded.last_run_id, "
            "last_status = excluded.last_status, last_error = excluded.last_error, "
            "failures = query_state.failures + excluded.failures, updated_at = excluded.updated_at",
            [q.query_id, self.run_id, outcome.status, outcome.error, now_utc()])

    # Reddit -----------------------------------------------------------------------------
    def _reddit_pass(self, q: PlannedQuery, outcome: QueryOutcome) -> None:
        st = self._state(q.query_id)
        incremental = q.sort == "new"
        after, rank, newest = st.cursor, st.pass_rank, st.pass_newest
        while rank < q.limit:
            page = _Page()
            fetched = self._fetch(q, page, lambda: self.reddit.search(
                q.scope, q.rendered, sort=q.sort, time_filter=q.time_filter,
                limit=min(100, q.limit - rank), after=after))
            children = [c["data"] for c in fetched.data["data"]["children"] if c.get("kind") == "t3"]
            page.requests[-1].items = len(children)
            reached_old = False
            submissions: list[Document] = []
            for item in children:
                doc = reddit_submission(item, self.p)
                doc.payload_id = fetched.payload_id
                if incremental and st.high_water and doc.created_at and doc.created_at < st.high_water:
                    reached_old = True
                    break
                rank += 1
                submissions.append(doc)
                page.docs.append(doc)
                page.hits.append(self._hit(q, doc, "search", rank, fetched))
                if doc.created_at and (newest is None or doc.created_at > newest):
                    newest = doc.created_at
                if rank >= q.limit:
                    break
            self._thread_comments(q, submissions, page)
            after = fetched.data["data"].get("after")
            finished = reached_old or not after or not children or rank >= q.limit
            self._commit(page, self._state_after_page(q, st, finished, after, rank, newest), outcome)
            if finished:
                return

    def _thread_comments(self, q: PlannedQuery, submissions: list[Document], page: _Page) -> None:
        """Up to ``comments_per_post`` comments for each matched post, fetched once per post.

        Each comment gets a ``via = 'thread'`` hit for the query that found its post, whether
        the comments were fetched now or by an earlier query or run.
        """
        if q.comments_per_post <= 0 or not submissions:
            return
        ids = [d.doc_id for d in submissions]
        have = {r[0] for r in self.wh.rows(
            "SELECT doc_id FROM documents WHERE doc_id IN (SELECT unnest(?)) AND comments_fetched_at IS NOT NULL",
            [ids])}
        have |= {d for d in page.comments_fetched}
        for doc in submissions:
            if doc.doc_id in have or not doc.num_comments:
                continue
            fetched = self._fetch(q, page, lambda: self.reddit.comments(doc.native_id, q.comments_per_post))
            comments = [reddit_comment(c, self.p) for c in walk_comments(fetched.data[1], q.comments_per_post)]
            for c in comments:
                c.payload_id = fetched.payload_id
            page.requests[-1].items = len(comments)
            page.docs.extend(comments)
            page.comments_fetched.append(doc.doc_id)
        by_thread: dict[str, list[str]] = {}
        for c in page.docs:
            if c.kind == "comment" and c.thread_id:
                by_thread.setdefault(c.thread_id, []).append(c.doc_id)
        stored = self.wh.rows(
            "SELECT thread_id, doc_id FROM documents WHERE kind = 'comment' AND thread_id IN (SELECT unnest(?))",
            [ids])
        for thread_id, doc_id in stored:
            if doc_id not in by_thread.get(thread_id, []):
                by_thread.setdefault(thread_id, []).append(doc_id)
        for sub in submissions:
            for doc_id in by_thread.get(sub.doc_id, [])[: q.comments_per_post]:
                page.hits.append(Hit(self.plan.plan_id, q.query_id, doc_id, q.source, "thread", self.run_id,
                                     None, now_utc(), None))

    # News -------------------------------------------------------------------------------
    def _news_pass(self, q: PlannedQuery, outcome: QueryOutcome) -> None:
        """NewsAPI pages by number; the cursor is the next page, pass_rank the items consumed."""
        st = self._state(q.query_id)
        incremental = q.sort == "publishedAt"
        page_no = int(st.cursor) if st.cursor else 1
        newest = st.pass_newest
        while True:
            page = _Page()
            try:
                fetched = self._fetch(q, page, lambda: self.news.search(
                    q.rendered, language=q.language, from_date=q.from_date, to_date=q.to_date,
                    sort_by=q.sort, page=page_no, page_size=q.page_size))
            except EndOfResults:
                # The plan's cap on results (free plan: 100): the normal end of the query.
                finished = True
                articles = []
            else:
                articles = fetched.data["articles"]
                page.requests[-1].items = len(articles)
                finished = False
            first = (page_no - 1) * q.page_size + 1
            for position, article in enumerate(articles, start=first):
                if position > q.limit:
                    finished = True
                    break
                doc = news_article(article, self.p, q.language)
                if doc is None:  # removed at the source: nothing left to store
                    continue
                doc.payload_id = fetched.payload_id
                if incremental and st.high_water and doc.created_at and doc.created_at < st.high_water:
                    finished = True
                    break
                page.docs.append(doc)
                page.hits.append(self._hit(q, doc, "search", position, fetched))
                if doc.created_at and (newest is None or doc.created_at > newest):
                    newest = doc.created_at
            consumed = page_no * q.page_size
            if articles:
                total = fetched.data.get("totalResults") or 0
                finished = finished or len(articles) < q.page_size or consumed >= total or consumed >= q.limit
            page_no += 1
            self._commit(page, self._state_after_page(q, st, finished, str(page_no), consumed, newest), outcome)
            if finished:
                return

    def _state_after_page(self, q: PlannedQuery, st: _State, finished: bool, cursor: str,
                          rank: int, newest: datetime | None) -> dict:
        """A finished pass moves the high-water mark; an unfinished one stores its cursor."""
        if finished:
            return self._state_row(q, high_water=max(filter(None, [st.high_water, newest]), default=None),
                                   last_status="ok")
        return self._state_row(q, high_water=st.high_water, cursor=cursor, pass_rank=rank, pass_newest=newest)

    # comment refresh ----------------------------------------------------------------------
    def refresh_comments(self, queries: list[PlannedQuery], *, max_age_days: int,
                         now: datetime | None = None) -> QueryOutcome:
        """Re-fetch comments of this plan's posts younger than ``max_age_days``.

        Searches stop at the high-water mark, so a post found last night is not seen again;
        its thread keeps growing for a few days, and this step picks that up. Older threads
        are left alone. One transaction per thread.
        """
        outcome = QueryOutcome("comment-refresh", "reddit", "ok", started_at=now_utc())
        reddit_queries = {q.query_id: q for q in queries if q.source == "reddit" and q.comments_per_post > 0}
        if max_age_days <= 0 or not reddit_queries or self.reddit is None:
            return outcome
        now = now or now_utc()
        rows = self.wh.rows(
            "SELECT d.doc_id, d.native_id, list(DISTINCT h.query_id) FROM documents d "
            "JOIN hits h ON h.doc_id = d.doc_id AND h.via = 'search' AND h.plan_id = ? "
            "WHERE d.kind = 'submission' AND d.state = 'ok' AND d.created_at >= ? "
            "AND (d.comments_fetched_at IS NULL OR d.comments_fetched_at < ?) "
            "AND h.query_id IN (SELECT unnest(?)) GROUP BY ALL ORDER BY d.doc_id",
            [self.plan.plan_id, now - timedelta(days=max_age_days), self._run_started(), list(reddit_queries)])
        limit = max(q.comments_per_post for q in reddit_queries.values())
        try:
            for doc_id, native_id, query_ids in rows:
                q = reddit_queries[query_ids[0]]
                page = _Page()
                fetched = self._fetch(q, page, lambda: self.reddit.comments(native_id, limit))
                comments = [reddit_comment(c, self.p) for c in walk_comments(fetched.data[1], limit)]
                for c in comments:
                    c.payload_id = fetched.payload_id
                page.docs.extend(comments)
                page.comments_fetched.append(doc_id)
                for qid in query_ids:
                    for c in comments[: reddit_queries[qid].comments_per_post]:
                        page.hits.append(Hit(self.plan.plan_id, qid, c.doc_id, "reddit", "thread", self.run_id,
                                             None, fetched.started_at, fetched.payload_id))
                self._commit(page, None, outcome)
        except SourceError as exc:
            outcome.status = "deferred" if isinstance(exc, BudgetExhausted) else "failed"
            outcome.error = str(exc)
        outcome.finished_at = now_utc()
        return outcome

    def _run_started(self) -> datetime:
        return self.wh.scalar("SELECT started_at FROM harvest_runs WHERE run_id = ?", [self.run_id]) or now_utc()

    # shared -----------------------------------------------------------------------------
    def _fetch(self, q: PlannedQuery, page: _Page, call: Callable[[], Fetched]) -> Fetched:
        """Call the source with retries; log every attempt (failed ones too) on the page."""
        def attempt() -> Fetched:
            self.budget.take(q.source)
            try:
                fetched = call()
            except SourceError as exc:
                self._log_failed_attempt(q, page, exc)
                raise
            return fetched
        fetched = self.retry.call(attempt)
        payload = self._payload(q.source, fetched)
        fetched.payload_id = payload.payload_id
        page.payloads.append(payload)
        page.requests.append(RequestLog(
            run_id=self.run_id, query_id=q.query_id, source=q.source, endpoint=fetched.endpoint,
            params=json.dumps(fetched.params, default=str), status=fetched.status, error=None, items=None,
            payload_id=payload.payload_id, started_at=fetched.started_at, elapsed_ms=fetched.elapsed_ms))
        return fetched

    def _log_failed_attempt(self, q: PlannedQuery, page: _Page, exc: SourceError) -> None:
        """Failed attempts are written at once (outside the page): they happened even if the
        page never commits, and they are what a researcher reads when a query keeps failing."""
        self.wh.insert("requests", [RequestLog(
            run_id=self.run_id, query_id=q.query_id, source=q.source, endpoint="",
            params=json.dumps({"query": q.rendered}), status=exc.status, error=str(exc), items=None,
            payload_id=None, started_at=now_utc(), elapsed_ms=0.0)])

    def _payload(self, source: str, fetched: Fetched) -> RawPayload:
        body = json.dumps(self.p.scrub(fetched.data), sort_keys=True, separators=(",", ":"))
        return RawPayload(hashlib.sha1(body.encode()).hexdigest(), source, fetched.endpoint,
                          fetched.started_at, body)

    def _hit(self, q: PlannedQuery, doc: Document, via: str, rank: int, fetched: Fetched) -> Hit:
        return Hit(self.plan.plan_id, q.query_id, doc.doc_id, q.source, via, self.run_id, rank,
                   fetched.started_at, doc.payload_id)

    def _commit(self, page: _Page, state: dict | None, outcome: QueryOutcome) -> None:
        outcome.requests += len(page.requests)
        with self.wh.transaction():
            outcome.new_documents += save_documents(self.wh, page.docs, self.run_id)
            self.wh.insert("raw_payloads", page.payloads, on_conflict="DO NOTHING")
            self.wh.insert("requests", page.requests)
            outcome.hits += save_hits(self.wh, page.hits, self.run_id)
            if page.comments_fetched:
                self.wh.execute("UPDATE documents SET comments_fetched_at = ? WHERE doc_id IN (SELECT unnest(?))",
                                [now_utc(), page.comments_fetched])
            if state is not None:
                self._save_state(state)


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


# -- entry points with plain arguments (what Prefect tasks call) ---------------------------
def _harvester(wh: Warehouse, path, plan: Plan, run_id: str, endpoints, sources: tuple[str, ...],
               throttle=None) -> Harvester:
    """A harvester with the sources it needs; a source that cannot be built (missing
    credentials) is left out, and its queries fail with that reason."""
    from miner.core.config import installation_secret
    from miner.core.errors import MinerError
    from miner.collect.sources import sources_for

    built, errors = {}, {}
    for name in sources:
        try:
            rpm = plan.budget.reddit_requests_per_minute if name == "reddit" and endpoints.pace else None
            built[name] = sources_for(endpoints, name, rpm, throttle)
        except MinerError as exc:
            errors[name] = str(exc)
    h = Harvester(wh, plan, run_id, Pseudonymizer(installation_secret(path)),
                  budget=RequestBudget.for_run(wh, run_id, plan.budget), **built)
    h.source_errors.update(errors)
    return h


def harvest_query(warehouse_path: str, plan: Plan, run_id: str, q: PlannedQuery, endpoints,
                  throttle=None) -> QueryOutcome:
    """Open the warehouse and the source, run one query, close. Clients are cached per
    process by :func:`miner.sources.sources_for`, so a run's queries share one OAuth token."""
    from pathlib import Path

    path = Path(warehouse_path)
    with Warehouse.open(path) as wh:
        h = _harvester(wh, path, plan, run_id, endpoints, (q.source,), throttle)
        if q.source in h.source_errors:
            outcome = QueryOutcome(q.query_id, q.source, "failed", error=h.source_errors[q.source],
                                   started_at=now_utc(), finished_at=now_utc())
            h._record_failure(q, outcome)
            record_outcomes(wh, run_id, [outcome])
            return outcome
        return h.run_query(q)


def refresh_comments(warehouse_path: str, plan: Plan, run_id: str, endpoints, *, max_age_days: int,
                     throttle=None, now: datetime | None = None) -> QueryOutcome:
    from pathlib import Path

    path = Path(warehouse_path)
    with Warehouse.open(path) as wh:
        h = _harvester(wh, path, plan, run_id, endpoints, ("reddit",), throttle)
        return h.refresh_comments(expand(plan), max_age_days=max_age_days, now=now)


def skip_queries(warehouse_path: str, run_id: str, queries: list[PlannedQuery], reason: str) -> list[QueryOutcome]:
    """Record the queries the budget planner left for the next run."""
    outcomes = [QueryOutcome(q.query_id, q.source, "skipped", error=reason, started_at=now_utc(),
                             finished_at=now_utc()) for q in queries]
    with Warehouse.open(warehouse_path) as wh:
        record_outcomes(wh, run_id, outcomes)
    return outcomes


@contextmanager
def harvest_lock(warehouse_path) -> Iterator[None]:
    """One harvest at a time per warehouse: two interleaved runs would fight over cursors.

    An OS file lock (released by the kernel if the process dies, even by SIGKILL), not a
    row in the warehouse, so a crashed run never leaves the warehouse locked.
    """
    from pathlib import Path

    from miner.core.errors import MinerError

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
    from miner.plan.budget import QueryHistory

    ids = [q.query_id for q in queries]
    rows = wh.rows(
        "SELECT s.query_id, s.high_water IS NOT NULL, s.cursor IS NOT NULL, "
        " (SELECT requests FROM run_queries r WHERE r.query_id = s.query_id AND r.status = 'ok' "
        "  ORDER BY finished_at DESC LIMIT 1), "
        " (SELECT max(finished_at) FROM run_queries r WHERE r.query_id = s.query_id AND r.status <> 'skipped') "
        "FROM query_state s WHERE s.query_id IN (SELECT unnest(?))", [ids])
    return {qid: QueryHistory(bool(done), bool(resuming), last, ran) for qid, done, resuming, last, ran in rows}
