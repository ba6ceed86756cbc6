"""The ``reddit-backfill`` flow: import Reddit dump files on a schedule (orchestration only).

One task per file, one after another (DuckDB wants one writer). Each task resumes from its
file's checkpoint, so a retried or re-run flow continues instead of starting over; comments
are attached once, after the last file. The last step is the ``process`` subflow (clean,
dedup, embed, triage stages), as in the nightly harvest.
"""

from __future__ import annotations

import time

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from miner.collect.archive import FileOutcome, expand_paths, finish_import, import_file_at, start_import
from miner.collect.store import harvest_lock
from miner.core.config import resolve_warehouse
from miner.flows.process import process_warehouse
from miner.plan.plan import Plan, load_plan


@task(name="import-dump", task_run_name="{path}", cache_policy=NO_CACHE)
def import_dump_task(warehouse: str, plan: Plan, run_id: str, path: str, keep_all: bool,
                     workers: int | None = None) -> FileOutcome:
    outcome = import_file_at(warehouse, plan, run_id, path, keep_all=keep_all, workers=workers)
    c = outcome.counts
    log = get_run_logger()
    if outcome.status == "ok":
        log.info("%s: %s, %d lines, %d matched, %d documents new, %d quarantined", outcome.name, outcome.note,
                 c.lines, c.matched, c.documents_new, c.quarantined)
    else:
        log.warning("%s: %s", outcome.name, outcome.note)
    return outcome


@flow(name="reddit-backfill", log_prints=True)
def reddit_backfill(paths: list[str], plan: str = "queries/paper.toml", warehouse: str | None = None,
                    keep_all: bool = False, workers: int | None = None, process: bool = True) -> dict:
    """Apply ``plan``'s Reddit queries to the dump files ``paths``, then (``process=True``)
    bring every post-harvest stage up to date, and return the summary.

    ``workers``: processes scanning each file (default: one per core for big files)."""
    started = time.monotonic()
    wh_path = str(resolve_warehouse(warehouse))
    the_plan = load_plan(plan)
    files = [str(p) for p in expand_paths(paths)]
    with harvest_lock(wh_path):
        run_id = start_import(wh_path, the_plan, flow_run_id=str(flow_run.get_id() or ""))
        outcomes = [import_dump_task(wh_path, the_plan, run_id, f, keep_all, workers) for f in files]
        summary = finish_import(wh_path, the_plan, run_id, outcomes, started)
        stages = process_warehouse(warehouse=wh_path)["stages"] if process else []
    t = summary.totals
    return {"run_id": run_id, "status": summary.status, "warehouse": wh_path, "files": len(files),
            "failed": sum(o.status != "ok" for o in outcomes), "lines": t.lines, "matched": t.matched,
            "documents_new": t.documents_new, "comments_attached": summary.comments_attached,
            "comments_waiting": summary.comments_waiting, "quarantined": t.quarantined, "process": stages}
