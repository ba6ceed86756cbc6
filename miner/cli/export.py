"""``miner export ...``: anonymized, checked exports of incidents and scenarios, and every public
view as Parquet (or CSV) for pandas, polars or R (``miner export tables``)."""

from __future__ import annotations

from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import print_rows, warehouse_option, warehouse_path
from miner.core.db import Warehouse
from miner.incidents.export import FORMATS, export
from miner.incidents.searchability import DEFAULT_MAX_SHARED_WORDS
from miner.report.tables import FORMATS as TABLE_FORMATS, export_views


@main.group("export")
def export_group() -> None:
    """Write data for sharing: anonymized narratives and codes, never ids, URLs or usernames."""


def _export_command(kind: str):
    @export_group.command(kind, help=f"Export {kind} that pass the privacy checks (CSV, Parquet or JSON lines).")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  help=f"Output file (default: exports/{kind}.FORMAT next to the warehouse).")
    @click.option("--max-shared-words", type=int, default=DEFAULT_MAX_SHARED_WORDS, show_default=True,
                  help="Longest run of words a narrative may share with any document.")
    @warehouse_option
    def cmd(fmt: str, out: Path | None, max_shared_words: int, warehouse: Path | None) -> None:
        with Warehouse.open(warehouse_path(warehouse)) as wh:
            result = export(wh, kind, fmt, out, max_shared_words=max_shared_words)
        click.echo(result.summary())
        for owner_id, reason in result.left_out:
            click.echo(f"  left out {owner_id}: {reason}")

    return cmd


incidents_cmd = _export_command("incidents")
scenarios_cmd = _export_command("scenarios")


@export_group.command("tables")
@click.option("--format", "fmt", type=click.Choice(sorted(TABLE_FORMATS)), default="parquet", show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("export"),
              show_default=True, help="Folder for one file per view.")
@click.option("--view", "views", multiple=True, help="Only this view (repeatable); default: every anonymized view (no text, permalinks or pseudonym maps).")
@warehouse_option
def export_tables(fmt: str, out_dir: Path, views: tuple[str, ...], warehouse: Path | None) -> None:
    """Write every anonymized public view (counts, codes, ids, months) to OUT/<view>.<format>."""
    with Warehouse.open(warehouse_path(warehouse), read_only=True) as wh:
        written = export_views(wh, out_dir, fmt, list(views) or None)
    print_rows(["view", "rows", "file"], [(w.view, w.rows, str(w.path)) for w in written], title="Exported")
