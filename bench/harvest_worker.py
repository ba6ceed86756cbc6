"""One harvest run as its own process, the flow's steps without Prefect (for crash trials).

    python bench/harvest_worker.py WAREHOUSE PLAN REPLAY_URL

The SIGKILL trials (bench/crash.py, tests/test_harvest_reliability.py) kill this process at
random moments; the harvest library, not Prefect, is what must make that safe.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from miner.plan.budget import plan_run  # noqa: E402
from miner.core.config import Endpoints  # noqa: E402
from miner.core.db import Warehouse  # noqa: E402
from miner.collect.store import finish_run, harvest_lock, news_requests_today, query_history, start_run
from miner.collect.harvest import harvest_query, skip_queries
from miner.plan.plan import harvest_queries, load_plan  # noqa: E402


def main(warehouse: str, plan_path: str, url: str) -> str:
    plan = load_plan(plan_path)
    queries = harvest_queries(plan)
    endpoints = Endpoints(reddit_url=url, newsapi_url=url, pace=False, timeout=5)
    with harvest_lock(warehouse):
        with Warehouse.open(warehouse) as wh:
            run_id = start_run(wh, plan, endpoint="replay")
            budget = plan_run(queries, plan.budget, query_history(wh, queries), news_used_today=news_requests_today(wh))
        outcomes = [harvest_query(warehouse, plan, run_id, q, endpoints) for q in budget.run]
        outcomes += skip_queries(warehouse, run_id, budget.deferred, "budget")
        with Warehouse.open(warehouse) as wh:
            return finish_run(wh, run_id, outcomes, budget.message)


if __name__ == "__main__":
    print(main(*sys.argv[1:4]))
