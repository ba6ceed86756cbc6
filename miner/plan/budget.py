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
from datetime import datetime, timedelta

from miner.plan.plan import REDDIT_LISTING_CAP, Budget, PlannedQuery, every_text

REDDIT_PAGE = 100
DAY = 86_400


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


@dataclass(frozen=True)
class SweepLoad:
    """What one swept listing costs a day, and whether its cadence keeps up with it.

    ``per_day`` is the community's volume: observed in the warehouse over the last runs when
    there are any, else the plan's ``expected_per_day``, else unknown (``None``).
    """

    community: str
    listing: str
    per_day: float | None
    basis: str  # observed | plan | unknown
    runs_per_day: float
    requests_per_day: float | None
    reach_per_day: int  # items the listing can show a day at this cadence (cap x runs)

    @property
    def outruns(self) -> bool:
        """More items a day than the listing shows between runs: windows will be lost."""
        return self.per_day is not None and self.per_day > self.reach_per_day

    def cadence_needed(self) -> float | None:
        """Longest interval (seconds) between runs at which the listing still reaches back."""
        return DAY * REDDIT_LISTING_CAP / self.per_day if self.per_day else None


def sweep_load(sweeps: list[PlannedQuery], observed: dict[str, float]) -> list[SweepLoad]:
    """Requests a day for each swept listing: one per run, plus one per 100 new items.

    A nightly plan runs each sweep once a day; ``every`` makes it its own schedule.
    """
    out = []
    for q in sweeps:
        runs = DAY / q.every.total_seconds() if q.every else 1.0
        if q.query_id in observed:
            per_day, basis = observed[q.query_id], "observed"
        elif q.expected_per_day is not None:
            per_day, basis = float(q.expected_per_day), "plan"
        else:
            per_day, basis = None, "unknown"
        requests = None if per_day is None else runs + per_day / REDDIT_PAGE
        out.append(SweepLoad(q.scope, q.listing, per_day, basis, runs, requests, int(runs * REDDIT_LISTING_CAP)))
    return out


def sweep_warnings(loads: list[SweepLoad], budget: Budget) -> list[str]:
    """What a researcher must change before the plan can keep up."""
    out = []
    for load in loads:
        if load.outruns:
            need = load.cadence_needed()
            out.append(f"r/{load.community} {load.listing}: about {load.per_day:,.0f} a day, but its listing "
                       f"shows {REDDIT_LISTING_CAP:,} items a run ({load.reach_per_day:,} a day at this cadence); "
                       f"windows will be lost: set every = \"{_round_every(need)}\" or shorter, or backfill from dumps")
    total = sum(load.requests_per_day or 0 for load in loads)
    limit = budget.reddit_requests_per_minute * 60 * 24
    if total > limit:
        out.append(f"the sweeps need about {total:,.0f} requests a day, more than the limit allows "
                   f"({budget.reddit_requests_per_minute} a minute = {limit:,} a day)")
    return out



def _round_every(seconds: float) -> str:
    """A cadence to suggest: rounded down to whole minutes, or whole hours from two hours on."""
    minutes = max(1, int(seconds // 60))
    return every_text(timedelta(minutes=minutes if minutes < 120 else minutes // 60 * 60))
