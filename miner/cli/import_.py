"""``miner import reddit-dump``: backfill from Reddit dump files, with a progress bar."""

from __future__ import annotations

import shlex
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from miner.cli import main
from miner.cli.common import console, print_rows, warehouse_option, warehouse_path
from miner.collect.archive import BATCH_LINES, ImportSummary, Progress as ImportProgress, ProgressFn, backfill
from miner.plan.plan import load_plan


@main.group("import")
def import_() -> None:
    """Import data from files instead of APIs."""


@import_.command("reddit-dump")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--plan", "plan_file", required=True, type=click.Path(path_type=Path),
              help="The plan whose Reddit queries and subreddits to apply.")
@click.option("--all", "keep_all", is_flag=True,
              help="Keep every item of the plan's subreddits, matched or not (hits only for matches).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes scanning each file (default: one per core, up to 4, for files over 32 MiB "
                   "mostly in the plan's subreddits; else 1).")
@click.option("--batch-lines", type=click.IntRange(min=1), default=BATCH_LINES, hidden=True,
              help="Lines per transaction and checkpoint.")
@warehouse_option
def reddit_dump(paths: tuple[Path, ...], plan_file: Path, keep_all: bool, workers: int | None, batch_lines: int,
                warehouse: Path | None) -> None:
    """Apply PLAN's Reddit queries to dump files (.zst, .ndjson, .jsonl; a folder means its files).

    Submissions and comments files, Pushshift or Arctic Shift, in any order. Interrupted
    imports resume where they stopped; a file already imported for this plan is skipped.
    Exits 1 if a file could not be read to the end.
    """
    plan = load_plan(plan_file)
    with _progress() as report:
        summary = backfill(warehouse_path(warehouse), plan, paths, keep_all=keep_all, progress=report,
                           batch_lines=batch_lines, workers=workers)
    print_import_summary(summary, warehouse)
    console.print("Next: [bold]miner process[/bold] cleans, deduplicates, embeds and scores what was imported "
                  "(the reddit-backfill flow does it for you).")
    if summary.status != "ok":
        sys.exit(1)


@contextmanager
def _progress() -> Iterator[ProgressFn]:
    """A rich progress bar on a terminal; one line per committed batch otherwise (logs)."""
    started: dict[str, float] = {}

    def rate(p: ImportProgress) -> float:
        return p.lines / max(time.monotonic() - started.setdefault(p.name, time.monotonic()), 1e-6)

    if not console.is_terminal:
        def log(p: ImportProgress) -> None:
            r = rate(p)
            if p.committed:
                click.echo(f"{p.name}: line {p.line_no:,} committed, {p.lines:,} lines read ({r:,.0f}/s), "
                           f"{p.matched:,} matched", err=True)
        yield log
        return

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                   TextColumn("{task.fields[rate]:>9,.0f} lines/s"), TextColumn("{task.fields[matched]:,} matched"),
                   TimeRemainingColumn(), console=console)
    tasks: dict[str, TaskID] = {}

    def update(p: ImportProgress) -> None:
        if p.name not in tasks:
            tasks[p.name] = bar.add_task(p.name, total=p.size or 1, rate=0.0, matched=0)
        bar.update(tasks[p.name], completed=p.read_bytes, rate=rate(p), matched=p.matched)

    with bar:
        yield update


def print_import_summary(s: ImportSummary, warehouse: Path | None = None) -> None:
    rows = [(f.name, f.note, f.counts.lines, f.counts.submissions + f.counts.comments, f.counts.matched,
             f.counts.hits, f.counts.documents_new, f.counts.quarantined) for f in s.files]
    print_rows(["file", "status", "lines", "in scope", "matched", "hits", "documents new", "quarantined"], rows,
               title=f"Import {s.run_id}: {s.status}")
    t = s.totals
    console.print(
        f"{t.lines:,} lines in {s.seconds:,.1f} s ({t.lines / max(s.seconds, 1e-6):,.0f}/s): {t.matched:,} matched "
        f"({t.hits:,} hits), {t.documents_new:,} documents new, {s.comments_attached:,} comments attached, "
        f"{t.quarantined:,} quarantined" + (f", {t.swept:,} kept by sweeps" if t.swept else "")
        + (f", {t.kept:,} kept by --all" if t.kept else ""))
    if t.quarantined:
        where = f" --warehouse {shlex.quote(str(warehouse))}" if warehouse else ""  # the one just written
        console.print(f"  quarantined lines: miner sql{where} \"SELECT name, line_no, reason FROM archive_quarantine\"",
                      highlight=False, markup=False, soft_wrap=True)
    if s.orphan_comments:
        console.print(f"  {s.orphan_comments:,} swept comments kept without their submission (in no imported file; "
                      "its title comes when that file is imported)")
    if s.comments_waiting:
        console.print(f"  {s.comments_waiting:,} comments wait for their submission (import its file to attach them)")
    console.print(f"Warehouse: {s.warehouse}")
