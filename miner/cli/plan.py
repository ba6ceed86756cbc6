"""``miner plan show``: what a plan expands to, and what it costs."""

from __future__ import annotations

from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import FORMAT, console, print_rows
from miner.plan.plan import estimate, expand, load_plan


@main.group()
def plan() -> None:
    """Inspect search plans (queries/*.toml)."""


@plan.command("show")
@click.argument("plan_file", type=click.Path(path_type=Path))
@FORMAT
def show(plan_file: Path, fmt: str) -> None:
    """Print every query PLAN_FILE expands to, rendered per source, and an API budget estimate."""
    p = load_plan(plan_file)
    queries = expand(p)
    rows = [(q.query_id, q.source, q.scope, q.product or "", q.rendered, q.priority, q.limit) for q in queries]
    if fmt != "table":
        print_rows(["query_id", "source", "scope", "product", "rendered", "priority", "max_items"], rows, fmt)
        return
    console.print(f"[bold]{p.name}[/bold]  {p.plan_id}  {p.description}")
    print_rows(["query_id", "source", "scope", "product", "rendered", "priority", "max_items"], rows)
    by_source = {}
    for q in queries:
        by_source[q.source] = by_source.get(q.source, 0) + 1
    console.print("Queries: " + ", ".join(f"{n} {s}" for s, n in by_source.items()))
    console.print("[bold]Budget estimate[/bold] (worst case; comments are fetched once per unique post)")
    print_rows(["source", "queries", "search requests", "comment requests (max)", "limit", "time at limit"],
               [(b.source, b.queries, b.search_requests, b.detail_requests_max, b.limit,
                 _duration(b.minutes_at_limit)) for b in estimate(p, queries)])
    priorities = sorted({q.priority for q in queries}, reverse=True)
    if len(priorities) > 1:
        # A run takes queries highest priority first: what fits before a budget runs out.
        rows = []
        for prio in priorities:
            upto = [q for q in queries if q.priority >= prio]
            for b in estimate(p, upto):
                rows.append((f">= {prio}", b.source, b.queries, b.search_requests, b.detail_requests_max,
                             _duration(b.minutes_at_limit)))
        print_rows(["priority", "source", "queries", "search requests", "comment requests (max)", "time at limit"],
                   rows, title="Cumulative, highest priority first")


def _duration(minutes: float) -> str:
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"
