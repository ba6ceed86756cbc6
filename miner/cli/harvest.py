"""``miner harvest``: run the nightly-harvest flow once, now."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import URL, console, warehouse_option, warehouse_path
from miner.cli.funnel import print_funnel
from miner.cli.process import print_results
from miner.plan.plan import load_plan


@main.command("harvest")
@click.argument("plan_file", type=click.Path(path_type=Path), default="queries/paper.toml")
@click.option("--replay", is_flag=True, help="Harvest from the bundled replay corpus (no credentials, no network).")
@click.option("--reddit-url", type=URL, default=None, help="Send Reddit requests to this base URL (e.g. a replay server).")
@click.option("--newsapi-url", type=URL, default=None, help="Send NewsAPI requests to this base URL.")
@click.option("--rpm", type=click.IntRange(min=0), default=None,
              help="Reddit requests per minute, overriding the plan's budget (0: do not pace).")
@click.option("--no-deletion-check", is_flag=True, help="Skip the daily re-check of deletions at the source.")
@click.option("--no-process", is_flag=True, help="Harvest only; skip `miner process` (clean, dedup, embed, ...).")
@warehouse_option
def harvest(plan_file: Path, replay: bool, reddit_url: str | None, newsapi_url: str | None, rpm: int | None,
            no_deletion_check: bool, no_process: bool, warehouse: Path | None) -> None:
    """Harvest PLAN_FILE (default queries/paper.toml) into the warehouse, bring every
    post-harvest stage up to date (as `miner process` does), and print the funnel.

    Exits 1 only when no query succeeded; a partial run (some queries failed, to be retried
    next run) exits 0.
    """
    load_plan(plan_file)  # fail fast, with the plan's own error messages, before Prefect starts
    from miner.flows.nightly import nightly_harvest  # lazy: importing Prefect takes seconds; --help should not
    from miner.flows.server import temporary_api

    path = warehouse_path(warehouse)
    with temporary_api():  # Prefect's temporary server, but one that dies with us even on SIGKILL
        state = nightly_harvest(plan=str(plan_file), warehouse=str(path), replay=replay, reddit_url=reddit_url,
                                newsapi_url=newsapi_url, rpm=rpm, check_deletions_daily=not no_deletion_check,
                                process=not no_process, return_state=True)
    summary = state.result(raise_on_failure=False)  # a failed run (no query succeeded) still has its summary
    if isinstance(summary, BaseException):  # the flow itself broke: its error, as Prefect gives it
        raise summary
    print_summary(summary)
    if summary["status"] == "failed":
        sys.exit(1)


def print_summary(summary: dict) -> None:
    console.print(f"\n[bold]Run {summary['run_id']}[/bold]: {summary['status']}, {summary['queries']} queries "
                  f"({summary['failed']} failed, {summary['deferred']} left for the next run), "
                  f"{summary['requests']} requests")
    if summary.get("note"):
        console.print(f"[yellow]{summary['note']}[/yellow]")
    for w in summary.get("lost_windows", []):
        console.print(f"[yellow]Lost window[/yellow]: r/{w['community']} {w['listing']} from {w['window_from']} to "
                      f"{w['window_to']} is older than the listing reaches; backfill it from a dump "
                      f"(miner import reddit-dump FILE --plan PLAN)")
    deletions = summary.get("deletions")
    if deletions and not deletions.get("skipped"):
        console.print(f"Deletions: {deletions['checked']} documents re-checked at the source, "
                      f"{deletions['tombstoned']} deleted or removed since (text purged)")
    if summary.get("process"):
        print_results(summary["process"])
    print_funnel(summary["funnel"])
    console.print(f"Warehouse: {summary['warehouse']}\n"
                  f"  miner sql \"SELECT * FROM v_funnel\"       (or: duckdb {summary['warehouse']})")
