"""``miner export tables``: every view as Parquet (or CSV) for pandas, polars or R.

``miner export`` is the group of ``export.py`` (``miner export incidents``); this module adds
``tables`` to it.
"""

from __future__ import annotations

from pathlib import Path

import click

from miner.cli.common import print_rows, warehouse_option, warehouse_path
from miner.cli.export import export_group
from miner.core.db import Warehouse
from miner.report.tables import FORMATS, export_views


@export_group.command("tables")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="parquet", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("export"),
              show_default=True, help="Folder for one file per view.")
@click.option("--view", "views", multiple=True, help="Only this view (repeatable); default: every v_* view.")
@warehouse_option
def export_tables(fmt: str, out_dir: Path, views: tuple[str, ...], warehouse: Path | None) -> None:
    """Write every public view (v_*) to OUT/<view>.<format>."""
    with Warehouse.open(warehouse_path(warehouse), read_only=True) as wh:
        written = export_views(wh, out_dir, fmt, list(views) or None)
    print_rows(["view", "rows", "file"], [(w.view, w.rows, str(w.path)) for w in written], title="Exported")
