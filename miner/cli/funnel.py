"""``miner funnel``: counts per stage and source."""

from __future__ import annotations

from pathlib import Path

from miner.cli import main
from miner.cli.common import FORMAT, print_rows, warehouse_option, warehouse_path
from miner.core.db import Warehouse
from miner.report.funnel import funnel


@main.command("funnel")
@FORMAT
@warehouse_option
def funnel_cmd(fmt: str, warehouse: Path | None) -> None:
    """Counts per stage and source (v_funnel)."""
    with Warehouse.open(warehouse_path(warehouse), read_only=True) as wh:
        rows = funnel(wh)
    print_funnel(rows, fmt)


def print_funnel(rows: list[dict], fmt: str = "table") -> None:
    """``v_funnel``'s rows (:func:`miner.report.funnel.funnel`) as a table: what harvest and process print too."""
    print_rows(["source", "stage", "n"], [(r["source"], r["stage"], r["n"]) for r in rows], fmt, title="Funnel")
