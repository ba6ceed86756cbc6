"""The ``nightly-harvest`` flow: orchestration only (order, retries, logging, the run record).

Every step is a function of the library. Queries run one after another on purpose: the
APIs' rate limits, not CPU, bound a harvest, and DuckDB wants one writer at a time.

Steps: take the warehouse's harvest lock; open a run (closing runs of crashed processes);
ask the budget planner which queries this run can afford; run them; re-fetch comments of
young threads; re-check deletions at the source (at most once a day) and purge deleted text
everywhere (:func:`miner.pipeline.refresh_deletions`); close the run with its status; then the ``process`` subflow (clean, dedup,
embed, and the later stages), so a nightly run leaves the warehouse up to date.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta
from typing import Callable

from prefect import flow, get_run_logger, task
from prefect.states import Failed
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from miner.collect.harvest import harvest_query, refresh_comments, skip_queries
from miner.collect.store import (QueryOutcome, finish_run, harvest_lock, lost_windows, news_requests_today,
                                 query_history, start_run)
from miner.core.config import Endpoints, resolve_warehouse
from miner.core.db import Warehouse
from miner.flows.process import process_warehouse
from miner.pipeline import refresh_deletions
from miner.plan.budget import plan_run
from miner.plan.plan import Plan, PlannedQuery, harvest_queries, load_plan
from miner.replay.server import ReplayServer
from miner.report.funnel import funnel

REDDIT_RATE_LIMIT = "reddit-api"


@task(name="harvest-query", task_run_name="{query.source}: {query.rendered}", cache_policy=NO_CACHE)
def harvest_query_task(warehouse: str, plan: Plan, run_id: str, query: PlannedQuery, endpoints: Endpoints,
                       throttle: Callable[[], None] | None = None) -> QueryOutcome:
    outcome = harvest_query(warehouse, plan, run_id, query, endpoints, throttle)
    log = get_run_logger()
    if outcome.status == "ok":
        log.info("%s: %d requests, %d hits, %d new documents", query.label, outcome.requests, outcome.hits,
                 outcome.new_documents)
    else:
        # Said once per distinct error by the flow (79 identical lines hide the one that matters).
        log.debug("%s: %s (%s); it resumes next run", query.label, outcome.status, outcome.error)
    return outcome


def failure_summary(outcomes: list[QueryOutcome]) -> list[str]:
    """One line per distinct error of the failed queries, with how many failed with it."""
    by_error: dict[str, int] = {}
    for o in outcomes:
        if o.status == "failed":
            by_error[o.error or "unknown error"] = by_error.get(o.error or "unknown error", 0) + 1
    return [f"{n} {'query' if n == 1 else 'queries'} failed: {error}; {'it resumes' if n == 1 else 'they resume'} "
            f"next run" for error, n in by_error.items()]


@task(name="refresh-comments", cache_policy=NO_CACHE)
def refresh_comments_task(warehouse: str, plan: Plan, run_id: str, endpoints: Endpoints,
                          throttle: Callable[[], None] | None = None) -> QueryOutcome:
    return refresh_comments(warehouse, plan, run_id, endpoints, max_age_days=plan.reddit.refresh_comments_days,
                            throttle=throttle)


@task(name="refresh-deletions", cache_policy=NO_CACHE)
def refresh_deletions_task(warehouse: str, endpoints: Endpoints, run_id: str, rpm: int | None,
                           throttle: Callable[[], None] | None = None) -> dict:
    result = refresh_deletions(warehouse, endpoints, run_id, requests_per_minute=rpm, throttle=throttle)
    return vars(result)


def prefect_reddit_throttle() -> Callable[[], None] | None:
    """Use Prefect's global rate limit ``reddit-api`` when the server has one, so several
    processes (a scheduled harvest and a manual one) share one Reddit budget. Without it the
    harvest still paces itself at the plan's requests per minute."""
    from prefect.client.orchestration import get_client
    from prefect.concurrency.sync import rate_limit

    try:
        with get_client(sync_client=True) as client:
            client.read_global_concurrency_limit_by_name(REDDIT_RATE_LIMIT)
    except Exception:  # no such limit (the usual case), or no server: pace locally only
        return None
    return lambda: rate_limit(REDDIT_RATE_LIMIT, occupy=1)


@flow(name="nightly-harvest", log_prints=True)
def nightly_harvest(plan: str = "queries/paper.toml", warehouse: str | None = None, replay: bool = False,
                    reddit_url: str | None = None, newsapi_url: str | None = None,
                    check_deletions_daily: bool = True, rpm: int | None = None, process: bool = True,
                    sweep_every_seconds: int | None = None) -> dict:
    """Harvest every query of ``plan`` that the budget allows, then (``process=True``) bring
    every post-harvest stage up to date, and return the run's summary.

    ``replay=True`` starts the bundled replay server for the duration of the run and sends
    both sources there (no credentials, no network). ``rpm`` overrides the plan's Reddit
    requests per minute (0: do not pace, for a local server that enforces no limit).

    ``sweep_every_seconds``: a schedule of its own for the plan's sweeps with that cadence
    (``every``); 0 is the plan's main schedule, which leaves those sweeps out; ``None`` (a
    run by hand) runs everything. See :func:`miner.plan.plan.harvest_queries`.
    """
    log = get_run_logger()
    wh_path = str(resolve_warehouse(warehouse))
    the_plan = load_plan(plan)
    if rpm:
        the_plan = replace(the_plan, budget=replace(the_plan.budget, reddit_requests_per_minute=rpm))
    every = timedelta(seconds=sweep_every_seconds) if sweep_every_seconds else None
    queries = harvest_queries(the_plan, every, main=sweep_every_seconds == 0)
    with harvest_lock(wh_path), ExitStack() as stack:
        if replay:
            reddit_url = newsapi_url = stack.enter_context(ReplayServer()).url
        # The bundled replay enforces no rate limit, so a replay run need not pace itself.
        endpoints = Endpoints(reddit_url=reddit_url, newsapi_url=newsapi_url, pace=not replay and rpm != 0)
        throttle = prefect_reddit_throttle()
        with Warehouse.open(wh_path) as wh:
            run_id = start_run(wh, the_plan, endpoint="replay" if endpoints.is_replay else "live",
                               flow_run_id=str(flow_run.get_id() or ""))
            budget = plan_run(queries, the_plan.budget, query_history(wh, queries),
                              news_used_today=news_requests_today(wh))
        if budget.message:
            log.warning(budget.message)
        outcomes = [harvest_query_task(wh_path, the_plan, run_id, q, endpoints, throttle) for q in budget.run]
        outcomes += skip_queries(wh_path, run_id, budget.deferred, "left for the next run: budget")
        extra = {}
        if the_plan.reddit and any(o.source == "reddit" and o.status == "ok" for o in outcomes):
            refreshed = refresh_comments_task(wh_path, the_plan, run_id, endpoints, throttle)
            extra["comment_threads_refreshed"] = refreshed.requests
            if check_deletions_daily:
                rpm = the_plan.budget.reddit_requests_per_minute if endpoints.pace else None
                extra["deletions"] = refresh_deletions_task(wh_path, endpoints, run_id, rpm, throttle)
        for line in failure_summary(outcomes):
            log.warning(line)
        with Warehouse.open(wh_path) as wh:
            status = finish_run(wh, run_id, outcomes, budget.message)
            lost = [vars(w) for w in lost_windows(wh, run_id)]
        for w in lost:
            log.warning("r/%s %s: the listing did not reach back to the last pass; %s to %s is lost "
                        "(backfill it from a dump)", w["community"], w["listing"], w["window_from"], w["window_to"])
        stages = process_warehouse(warehouse=wh_path)["stages"] if process else []
        with Warehouse.open(wh_path) as wh:
            rows = funnel(wh)
    summary = {"run_id": run_id, "status": status, "warehouse": wh_path, "note": budget.message,
            "queries": len(outcomes), "failed": sum(o.status == "failed" for o in outcomes),
            "deferred": sum(o.status in ("deferred", "skipped") for o in outcomes),
            "requests": sum(o.requests for o in outcomes), "lost_windows": lost, "process": stages, "funnel": rows,
            **extra}
    if status == "failed":  # the flow run's state says what the run record says
        return Failed(message=f"no query succeeded ({summary['failed']} failed)", data=summary)
    return summary
