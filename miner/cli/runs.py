"""``miner runs``: recent harvest runs."""

from __future__ import annotations

from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import FORMAT, print_rows, warehouse_option, warehouse_path
from miner.collect.store import recent_runs
from miner.core.db import Warehouse


@main.command("runs")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@FORMAT
@warehouse_option
def runs_cmd(limit: int, fmt: str, warehouse: Path | None) -> None:
    """Recent harvest runs: status, queries ok/failed/deferred, requests, new documents."""
    with Warehouse.open(warehouse_path(warehouse), read_only=True) as wh:
        columns, rows = recent_runs(wh, limit)
    print_rows(columns, rows, fmt, title="Harvest runs")
