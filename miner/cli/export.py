"""``miner export ...``: anonymized, checked exports (a group other modules extend)."""

from __future__ import annotations

from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import warehouse_option, warehouse_path
from miner.core.db import Warehouse
from miner.incidents.export import FORMATS, export
from miner.incidents.searchability import DEFAULT_MAX_SHARED_WORDS


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
