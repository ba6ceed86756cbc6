"""Options and printers shared by the command modules."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

import click
from rich.console import Console
from rich.table import Table

from miner.core.config import resolve_warehouse
from miner.core.db import Warehouse
from miner.core.errors import MinerError

console = Console(width=None if sys.stdout.isatty() else 160)


def warehouse_option(fn: Callable) -> Callable:
    """``--warehouse PATH``, else ``$MINER_WAREHOUSE``, else ``data/warehouse.duckdb``."""
    return click.option("--warehouse", "warehouse", type=click.Path(dir_okay=False, path_type=Path),
                        default=None, help="Warehouse file (default: $MINER_WAREHOUSE or data/warehouse.duckdb).")(fn)


def warehouse_path(explicit: Path | None) -> Path:
    return resolve_warehouse(explicit)


def open_existing(warehouse: Path | None, read_only: bool = False) -> Warehouse:
    """The warehouse, which must exist already (commands that only work on harvested data)."""
    path = warehouse_path(warehouse)
    if not path.exists():
        raise MinerError(f"{path}: no warehouse here (run a harvest first, or pass --warehouse)")
    return Warehouse.open(path, read_only=read_only)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (datetime, date)):
        return v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
    return str(v)


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "table",
               title: str | None = None) -> None:
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")  # not CRLF: id=$(... | tail -1) must work
        w.writerow(columns)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
        return
    if fmt == "json":
        click.echo(json.dumps([dict(zip(columns, r)) for r in rows], default=str, indent=1))
        return
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(_cell(v) for v in r))
    console.print(table)


class _Url(click.ParamType):
    """An http(s) base URL. Why: a typo ("localhost:8765", "htp://...") would otherwise reach
    the harvest, whose retries make it look like a slow source, not a bad option."""

    name = "URL"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.fail(f"{value!r} is not an http(s) URL like http://127.0.0.1:8765", param, ctx)
        return str(value)


URL = _Url()
PORT = click.IntRange(0, 65535)  # not int: 99999 would reach socket.bind and end in an OverflowError traceback

FORMAT = click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
                      show_default=True, help="Output format.")
