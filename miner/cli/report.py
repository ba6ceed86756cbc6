"""``miner report``: the HTML report, its figures as PNG and the methods appendix."""

from __future__ import annotations

from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import warehouse_option, warehouse_path
from miner.core.db import Warehouse
from miner.report.render import build_report


@main.command("report")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("report"),
              show_default=True, help="Folder for index.html, the figures (PNG) and methods.md.")
@warehouse_option
def report(out_dir: Path, warehouse: Path | None) -> None:
    """Build the report from the warehouse (read-only): funnel, yield, incidents, agreement, methods."""
    with Warehouse.open(warehouse_path(warehouse), read_only=True) as wh:
        result = build_report(wh, out_dir)
    for f in result.figures:
        click.echo(f"  {f.name}.png{'' if f.has_data else '  (no data yet)'}")
    click.echo(f"Report: {result.html}  Methods appendix: {result.methods}  ({result.seconds:.1f} s)")
