"""Harvest: run a plan's queries against their sources and load what comes back.

The unit of work is one page of results, in three steps: **fetch** (the source adapter, with
retries; every attempt is logged), **normalize** (wire objects become pseudonymized
:class:`~miner.core.records.Document` rows and hits, :mod:`miner.collect.normalize`) and
**load** (:func:`miner.collect.store.save_page`). Each page is loaded in a single transaction
together with the query's cursor (the ``after`` token, or the NewsAPI page number), so a
run killed at any moment resumes at the first page it had not committed: nothing is lost,
nothing is written twice, and no half-page is visible.

Incremental by default: with ``sort = "new"`` a complete pass stores the newest creation
time it saw (the high-water mark), and the next pass stops at the first item older than
it, so an unchanged source costs one request per query.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from miner.collect import store
from miner.collect.normalize import news_article, reddit_comment, reddit_submission, walk_comments
from miner.collect.pseudonyms import Pseudonymizer
from miner.collect.sources import sources_for
from miner.collect.sources.base import (BudgetExhausted, EndOfResults, Exchange, Fetched, PermanentError,
                                        SourceError, TransientError)
from miner.collect.store import Page, QueryCursor, QueryOutcome, record_outcomes
from miner.core.clock import now_utc
from miner.core.config import installation_secret
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.core.records import Document, Hit, RawPayload, RequestLog
from miner.plan.plan import Plan, PlannedQuery, expand


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
            reddit = budget.reddit_requests_per_run - store.requests_in_run(wh, run_id, "reddit")
        return cls({"reddit": reddit, "news": budget.news_requests_per_day - store.news_requests_today(wh)})

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


# -- the harvester --------------------------------------------------------------------------
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
                (self._sweep_pass if q.kind == "sweep" else self._reddit_pass)(q, outcome)
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
    def _state_row(self, q: PlannedQuery, **values) -> dict:
        base = {"query_id": q.query_id, "high_water": None, "cursor": None, "pass_rank": None,
                "pass_newest": None, "pass_run_id": self.run_id, "last_run_id": self.run_id,
                "last_status": "running", "last_error": None, "failures": 0, "updated_at": now_utc()}
        base.update(values)
        return base

    def _record_failure(self, q: PlannedQuery, outcome: QueryOutcome) -> None:
        store.record_query_failure(self.wh, q.query_id, self.run_id, outcome.status, outcome.error)

    # Reddit -----------------------------------------------------------------------------
    def _reddit_pass(self, q: PlannedQuery, outcome: QueryOutcome) -> None:
        st = store.query_cursor(self.wh, q.query_id)
        incremental = q.sort == "new"
        after, rank, newest = st.cursor, st.pass_rank, st.pass_newest
        while rank < q.limit:
            page = Page()
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
            self._load(page, self._state_after_page(q, st, finished, after, rank, newest), outcome)
            if finished:
                return

    def _sweep_pass(self, q: PlannedQuery, outcome: QueryOutcome) -> None:
        """Read a community's listing (``new`` submissions or the comment stream) newest first,
        back to the last pass's high-water mark; every item is a ``via = 'sweep'`` hit.

        Reddit stops a listing at about 1,000 items. A pass that runs out of listing before
        it reaches the high-water mark could not read what lies between: it records that
        window (:func:`miner.collect.store.save_lost_window`) for a dump backfill, in the same
        transaction as its last page. An unchanged community costs one request.
        """
        st = store.query_cursor(self.wh, q.query_id)
        after, rank, newest = st.cursor, st.pass_rank, st.pass_newest
        kind, normalize = ("t3", reddit_submission) if q.listing == "submissions" else ("t1", reddit_comment)
        while True:
            page = Page()
            fetched = self._fetch(q, page, lambda: self.reddit.listing(q.scope, q.listing, after=after))
            children = [c["data"] for c in fetched.data["data"]["children"] if c.get("kind") == kind]
            page.requests[-1].items = len(children)
            reached_old, oldest = False, None
            for item in children:
                doc = normalize(item, self.p)
                doc.payload_id = fetched.payload_id
                if st.high_water and doc.created_at and doc.created_at < st.high_water:
                    reached_old = True
                    break
                rank += 1
                page.docs.append(doc)
                page.hits.append(self._hit(q, doc, "sweep", rank, fetched))
                if doc.created_at:
                    newest = max(newest or doc.created_at, doc.created_at)
                    oldest = min(oldest or doc.created_at, doc.created_at)
            after = fetched.data["data"].get("after")
            capped = q.limit is not None and rank >= q.limit
            finished = reached_old or not after or not children or capped
            if finished and not reached_old and st.high_water and oldest and oldest > st.high_water:
                page.lost_windows.append(store.LostWindow(q.query_id, q.scope, q.listing, self.run_id,
                                                          st.high_water, oldest))
            self._load(page, self._state_after_page(q, st, finished, after, rank, newest), outcome)
            if finished:
                return

    def _thread_comments(self, q: PlannedQuery, submissions: list[Document], page: Page) -> None:
        """Up to ``comments_per_post`` comments for each matched post, fetched once per post.

        Each comment gets a ``via = 'thread'`` hit for the query that found its post, whether
        the comments were fetched now or by an earlier query or run.
        """
        if q.comments_per_post <= 0 or not submissions:
            return
        ids = [d.doc_id for d in submissions]
        have = store.comments_fetched(self.wh, ids)
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
        for thread_id, doc_id in store.thread_comments(self.wh, ids):
            if doc_id not in by_thread.get(thread_id, []):
                by_thread.setdefault(thread_id, []).append(doc_id)
        for sub in submissions:
            for doc_id in by_thread.get(sub.doc_id, [])[: q.comments_per_post]:
                page.hits.append(Hit(self.plan.plan_id, q.query_id, doc_id, q.source, "thread", self.run_id,
                                     None, now_utc(), None))

    # News -------------------------------------------------------------------------------
    def _news_pass(self, q: PlannedQuery, outcome: QueryOutcome) -> None:
        """NewsAPI pages by number; the cursor is the next page, pass_rank the items consumed."""
        st = store.query_cursor(self.wh, q.query_id)
        incremental = q.sort == "publishedAt"
        page_no = int(st.cursor) if st.cursor else 1
        newest = st.pass_newest
        while True:
            page = Page()
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
            self._load(page, self._state_after_page(q, st, finished, str(page_no), consumed, newest), outcome)
            if finished:
                return

    def _state_after_page(self, q: PlannedQuery, st: QueryCursor, finished: bool, cursor: str,
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
        rows = store.young_threads(self.wh, self.plan.plan_id, list(reddit_queries),
                                   created_since=now - timedelta(days=max_age_days),
                                   fetched_before=self._run_started())
        limit = max(q.comments_per_post for q in reddit_queries.values())
        try:
            for doc_id, native_id, query_ids in rows:
                q = reddit_queries[query_ids[0]]
                page = Page()
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
                self._load(page, None, outcome)
        except SourceError as exc:
            outcome.status = "deferred" if isinstance(exc, BudgetExhausted) else "failed"
            outcome.error = str(exc)
        outcome.finished_at = now_utc()
        return outcome

    def _run_started(self) -> datetime:
        return store.run_started_at(self.wh, self.run_id) or now_utc()

    # fetch, normalize, load -------------------------------------------------------------
    def _fetch(self, q: PlannedQuery, page: Page, call: Callable[[], Fetched]) -> Fetched:
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
        # attempts the client retried on its own before this answer (prawcore retries 5xx)
        page.requests.extend(self._attempt_rows(q, _attempts(fetched.exchanges)[:-1], "retried by the client"))
        page.requests.append(RequestLog(
            run_id=self.run_id, query_id=q.query_id, source=q.source, endpoint=fetched.endpoint,
            params=json.dumps(fetched.params, default=str), status=fetched.status, error=None, items=None,
            payload_id=payload.payload_id, started_at=fetched.started_at, elapsed_ms=fetched.elapsed_ms))
        return fetched

    def _log_failed_attempt(self, q: PlannedQuery, page: Page, exc: SourceError) -> None:
        """Failed attempts are written at once (outside the page): they happened even if the
        page never commits, and they are what a researcher reads when a query keeps failing.
        One row per HTTP attempt, the client's own retries included."""
        attempts = _attempts(exc.exchanges)
        rows = self._attempt_rows(q, attempts[:-1], "retried by the client")
        last = attempts[-1] if attempts else None
        rows.append(RequestLog(
            run_id=self.run_id, query_id=q.query_id, source=q.source, endpoint=last.path if last else "",
            params=json.dumps({"query": q.rendered}), status=exc.status if exc.status is not None else
            (last.status if last else None), error=str(exc), items=None, payload_id=None,
            started_at=last.started_at if last else now_utc(), elapsed_ms=last.elapsed_ms if last else 0.0))
        store.save_requests(self.wh, rows)

    def _attempt_rows(self, q: PlannedQuery, attempts: list[Exchange], note: str) -> list[RequestLog]:
        return [RequestLog(run_id=self.run_id, query_id=q.query_id, source=q.source, endpoint=x.path,
                           params=json.dumps({"query": q.rendered}), status=x.status,
                           error=f"{x.error or f'HTTP {x.status}'}, {note}", items=None, payload_id=None,
                           started_at=x.started_at, elapsed_ms=x.elapsed_ms) for x in attempts]

    def _payload(self, source: str, fetched: Fetched) -> RawPayload:
        """The response as stored for lineage: usernames scrubbed, addressed by content."""
        body = json.dumps(self.p.scrub(fetched.data), sort_keys=True, separators=(",", ":"))
        return RawPayload(hashlib.sha1(body.encode()).hexdigest(), source, fetched.endpoint,
                          fetched.started_at, body)

    def _hit(self, q: PlannedQuery, doc: Document, via: str, rank: int, fetched: Fetched) -> Hit:
        return Hit(self.plan.plan_id, q.query_id, doc.doc_id, q.source, via, self.run_id, rank,
                   fetched.started_at, doc.payload_id)

    def _load(self, page: Page, state: dict | None, outcome: QueryOutcome) -> None:
        """One page and the query's cursor, in one transaction."""
        outcome.requests += len(page.requests)
        with self.wh.transaction():
            new_documents, hits = store.save_page(self.wh, page, self.run_id)
            outcome.new_documents += new_documents
            outcome.hits += hits
            if state is not None:
                store.save_query_state(self.wh, state)


def _attempts(exchanges: list[Exchange]) -> list[Exchange]:
    """The HTTP attempts of one call, without the OAuth token requests made along the way."""
    return [x for x in exchanges if not x.path.endswith("/access_token")]


# -- entry points with plain arguments (what Prefect tasks call) ---------------------------
def _harvester(wh: Warehouse, path, plan: Plan, run_id: str, endpoints, sources: tuple[str, ...],
               throttle=None) -> Harvester:
    """A harvester with the sources it needs; a source that cannot be built (missing
    credentials) is left out, and its queries fail with that reason."""
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
    process by :func:`miner.collect.sources.sources_for`, so a run's queries share one OAuth token."""
    path = Path(warehouse_path)
    with Warehouse.open(path) as wh:
        h = _harvester(wh, path, plan, run_id, endpoints, (q.source,), throttle)
        if q.source in h.source_errors:
            outcome = QueryOutcome(q.query_id, q.source, "failed", error=h.source_errors[q.source],
                                   started_at=now_utc(), finished_at=now_utc())
            store.record_query_failure(wh, q.query_id, run_id, outcome.status, outcome.error)
            record_outcomes(wh, run_id, [outcome])
            return outcome
        return h.run_query(q)


def refresh_comments(warehouse_path: str, plan: Plan, run_id: str, endpoints, *, max_age_days: int,
                     throttle=None, now: datetime | None = None) -> QueryOutcome:
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
