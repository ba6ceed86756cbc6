"""The ``process`` flow: every post-harvest stage, in order, each a Prefect task.

The last step of ``nightly-harvest``, and a flow of its own for backfills and catch-up runs
(after an archive import, after a new model or cleaner version). Orchestration only: each
task calls :func:`miner.pipeline.run_stage` with the warehouse path.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from miner.core.config import resolve_warehouse
from miner.core.db import Warehouse
from miner.pipeline import ProcessOptions, StageResult, results_as_dicts, run_stage, stage_order
from miner.report.funnel import funnel


@task(name="process-stage", task_run_name="{stage}", cache_policy=NO_CACHE)
def process_stage_task(warehouse: str, stage: str, options: ProcessOptions) -> StageResult:
    result = run_stage(warehouse, stage, options)
    get_run_logger().info("%s (%.1f s): %s", stage, result.seconds, result.describe())
    return result


@flow(name="process", log_prints=True)
def process_warehouse(warehouse: str | None = None, stages: list[str] | None = None) -> dict:
    """Bring every post-harvest stage (or ``stages``) up to date; return what each did and the funnel."""
    wh_path = str(resolve_warehouse(warehouse))
    options = ProcessOptions(progress=False)  # Prefect's log, not a terminal progress bar
    results = [process_stage_task(wh_path, name, options) for name in stage_order(stages)]
    with Warehouse.open(wh_path) as wh:
        rows = funnel(wh)
    return {"warehouse": wh_path, "stages": results_as_dicts(results), "funnel": rows}
