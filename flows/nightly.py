"""The ``nightly-harvest`` flow: orchestration only (retries, logging, the run record).

Every step is a function from :mod:`miner`; the flow decides order and what runs as a task.
Queries run one after another on purpose: the APIs' rate limits, not CPU, bound a harvest,
and one writer at a time is what DuckDB wants. The last step is the ``process`` subflow
(clean, dedup, embed, and the later stages), so a nightly run leaves the warehouse up to date.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.process import process_warehouse
import miner.triage  # noqa: F401  (appends the evidence, score and cluster stages to the process flow)
from miner.config import Endpoints, resolve_warehouse
from miner.db import Warehouse
from miner.funnel import funnel
from miner.harvest import QueryOutcome, finish_run, harvest_query, start_run
from miner.plan import Plan, PlannedQuery, expand, load_plan


@task(name="harvest-query", task_run_name="{query.source}: {query.rendered}", cache_policy=NO_CACHE)
def harvest_query_task(warehouse: str, plan: Plan, run_id: str, query: PlannedQuery,
                       endpoints: Endpoints) -> QueryOutcome:
    outcome = harvest_query(warehouse, plan, run_id, query, endpoints)
    log = get_run_logger()
    if outcome.status == "ok":
        log.info("%s: %d requests, %d hits, %d new documents", query.label, outcome.requests, outcome.hits,
                 outcome.new_documents)
    else:
        log.warning("%s: %s (%s); it will be retried next run", query.label, outcome.status, outcome.error)
    return outcome


@flow(name="nightly-harvest", log_prints=True)
def nightly_harvest(plan: str = "queries/paper.toml", warehouse: str | None = None, replay: bool = False,
                    reddit_url: str | None = None, newsapi_url: str | None = None, process: bool = True) -> dict:
    """Harvest every query of ``plan`` into the warehouse, then (``process=True``) bring every
    post-harvest stage up to date, and return the run's summary.

    ``replay=True`` starts the bundled replay server for the duration of the run and sends
    both sources there (no credentials, no network).
    """
    wh_path = str(resolve_warehouse(warehouse))
    the_plan = load_plan(plan)
    with ExitStack() as stack:
        if replay:
            from miner.replay.server import ReplayServer
            server = stack.enter_context(ReplayServer())
            reddit_url = newsapi_url = server.url
        endpoints = Endpoints(reddit_url=reddit_url, newsapi_url=newsapi_url)
        with Warehouse.open(wh_path) as wh:
            run_id = start_run(wh, the_plan, endpoint="replay" if endpoints.is_replay else "live",
                               flow_run_id=str(flow_run.get_id() or ""))
        outcomes = [harvest_query_task(wh_path, the_plan, run_id, q, endpoints) for q in expand(the_plan)]
    with Warehouse.open(wh_path) as wh:
        status = finish_run(wh, run_id, outcomes)
    stages = process_warehouse(warehouse=wh_path)["stages"] if process else []
    with Warehouse.open(wh_path) as wh:
        rows = funnel(wh)
    return {"run_id": run_id, "status": status, "warehouse": wh_path,
            "queries": len(outcomes), "failed": sum(o.status == "failed" for o in outcomes),
            "requests": sum(o.requests for o in outcomes), "process": stages, "funnel": rows}
