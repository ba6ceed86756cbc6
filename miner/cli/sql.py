"""``miner sql``: run SQL against the warehouse and print the result."""

from __future__ import annotations

from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import FORMAT, print_rows, warehouse_option, warehouse_path
from miner.core.db import Warehouse
from miner.core.errors import MinerError, read_text


@main.command("sql")
@click.argument("query", required=False)
@click.option("--file", "sql_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the query from a .sql file (e.g. warehouse/queries/*.sql).")
@FORMAT
@warehouse_option
def sql(query: str | None, sql_file: Path | None, fmt: str, warehouse: Path | None) -> None:
    """Run QUERY (or --file) read-only against the warehouse; DuckDB's error on failure, exit 2."""
    if bool(query) == bool(sql_file):
        raise MinerError("give a query or --file FILE (one of them)")
    text = read_text(sql_file) if sql_file else query
    path = warehouse_path(warehouse)
    with Warehouse.open(path, read_only=True) as wh:
        columns, rows = wh.query(text)
    print_rows(columns, rows, fmt)
