"""Before a run: will the budget cover the plan? If not, which queries go first.

Each query's cost is estimated from its own history (a query that completed before costs
about one request per run, because harvests are incremental) or, for a new query, from the
plan's limits. When the budget cannot cover everything, queries run by priority (the plan
may give priorities), then those that waited longest; the rest are left for the next run
and the run says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from miner.plan.plan import Budget, PlannedQuery

REDDIT_PAGE = 100


@dataclass(frozen=True)
class QueryHistory:
    """What past runs tell us about one query."""

    completed: bool = False  # a full pass finished at least once (has a high-water mark)
    resuming: bool = False  # an unfinished pass has a cursor
    last_requests: int | None = None  # requests the last successful run needed
    last_ran_at: datetime | None = None


@dataclass
class RunPlan:
    run: list[PlannedQuery]
    deferred: list[PlannedQuery]
    estimate: dict[str, int] = field(default_factory=dict)  # source -> requests estimated for `run`
    message: str | None = None


def estimate_requests(q: PlannedQuery, h: QueryHistory) -> int:
    if h.completed and not h.resuming:
        return max(1, h.last_requests or 1)
    if q.source == "reddit":
        pages = math.ceil(q.limit / REDDIT_PAGE) or 1
        # comment requests: one per new post; assume a tenth of the listing is new posts
        return pages + (math.ceil(q.limit / 10) if q.comments_per_post else 0)
    return math.ceil(q.limit / q.page_size) or 1


def plan_run(queries: list[PlannedQuery], budget: Budget, history: dict[str, QueryHistory], *,
             news_used_today: int = 0) -> RunPlan:
    """Split ``queries`` into those this run can afford and those left for the next run."""
    caps = {"reddit": budget.reddit_requests_per_run, "news": budget.news_requests_per_day - news_used_today}
    oldest = datetime.min

    def order(q: PlannedQuery) -> tuple:
        h = history.get(q.query_id, QueryHistory())
        return (-q.priority, h.last_ran_at or oldest)

    run: list[PlannedQuery] = []
    deferred: list[PlannedQuery] = []
    spent: dict[str, int] = {}
    needed: dict[str, int] = {}
    for q in sorted(queries, key=order):
        cost = estimate_requests(q, history.get(q.query_id, QueryHistory()))
        needed[q.source] = needed.get(q.source, 0) + cost
        cap, used = caps.get(q.source), spent.get(q.source, 0)
        # The first query of a source always runs (a runtime cap stops it mid-way, resumable).
        affordable = cap is None or (cap > 0 and (used == 0 or used + cost <= cap))
        if not affordable:
            deferred.append(q)
            continue
        spent[q.source] = used + cost
        run.append(q)
    message = None
    if deferred:
        parts = []
        for src in sorted({q.source for q in deferred}):
            n = sum(q.source == src for q in deferred)
            parts.append(f"{src}: about {needed[src]} requests needed, budget {max(caps[src] or 0, 0)}; "
                         f"{n} lower-priority queries wait for the next run")
        message = "Budget cannot cover the whole plan. " + " | ".join(parts)
    return RunPlan(run, deferred, spent, message)
