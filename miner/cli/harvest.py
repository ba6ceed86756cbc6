"""``miner harvest``: run the nightly-harvest flow once, now."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import console, print_rows, warehouse_option, warehouse_path
from miner.plan import load_plan


@main.command("harvest")
@click.argument("plan_file", type=click.Path(path_type=Path), default="queries/paper.toml")
@click.option("--replay", is_flag=True, help="Harvest from the bundled replay corpus (no credentials, no network).")
@click.option("--reddit-url", default=None, help="Send Reddit requests to this base URL (e.g. a replay server).")
@click.option("--newsapi-url", default=None, help="Send NewsAPI requests to this base URL.")
@click.option("--no-process", is_flag=True, help="Harvest only; skip `miner process` (clean, dedup, embed, ...).")
@warehouse_option
def harvest(plan_file: Path, replay: bool, reddit_url: str | None, newsapi_url: str | None, no_process: bool,
            warehouse: Path | None) -> None:
    """Harvest PLAN_FILE (default queries/paper.toml) into the warehouse, bring every
    post-harvest stage up to date (as `miner process` does), and print the funnel.

    Exits 1 only when no query succeeded; a partial run (some queries failed, to be retried
    next run) exits 0.
    """
    load_plan(plan_file)  # fail fast, with the plan's own error messages, before Prefect starts
    from flows.nightly import nightly_harvest

    path = warehouse_path(warehouse)
    summary = nightly_harvest(plan=str(plan_file), warehouse=str(path), replay=replay,
                              reddit_url=reddit_url, newsapi_url=newsapi_url, process=not no_process)
    print_summary(summary)
    if summary["status"] == "failed":
        sys.exit(1)


def print_summary(summary: dict) -> None:
    console.print(f"\n[bold]Run {summary['run_id']}[/bold]: {summary['status']}, {summary['queries']} queries "
                  f"({summary['failed']} failed), {summary['requests']} requests")
    if summary.get("process"):
        from miner.cli.process import print_results
        print_results(summary["process"])
    print_rows(["source", "stage", "n"], [(r["source"], r["stage"], r["n"]) for r in summary["funnel"]],
               title="Funnel")
    console.print(f"Warehouse: {summary['warehouse']}\n"
                  f"  miner sql \"SELECT * FROM v_funnel\"       (or: duckdb {summary['warehouse']})")
