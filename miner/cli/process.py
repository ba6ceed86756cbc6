"""``miner process``: bring every post-harvest stage up to date (clean, dedup, embed, ...)."""

from __future__ import annotations

import click

from miner.cli import main
from miner.cli.common import console, print_rows, warehouse_option, warehouse_path
from miner.cli.funnel import print_funnel
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.pipeline import STAGES, ProcessOptions, StageResult, process
from miner.report.funnel import funnel


@main.command("process")
@click.option("--stage", "stages", multiple=True, metavar="NAME",
              help="Run only this stage (repeatable); see --list. Default: every stage, in order.")
@click.option("--list", "list_stages", is_flag=True, help="List the stages in the order they run, and exit.")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: on a terminal).")
@click.option("--backend", type=click.Choice(["torch", "onnx"]), default=None,
              help="Embedding backend (default: $MINER_EMBED_BACKEND, else torch). onnx: same vectors, about "
                   "1.3x as fast; needs pip install 'refusal-miner[onnx]'.")
@warehouse_option
def process_cmd(stages: tuple[str, ...], list_stages: bool, progress: bool | None, backend: str | None,
                warehouse) -> None:
    """Bring every post-harvest stage up to date for whatever the warehouse holds.

    Incremental and idempotent: each stage does only what is missing or stale (new
    documents, changed text, a new model), so a second run right after the first does nothing.
    """
    if list_stages:
        print_rows(["stage", "what it does"], [(s.name, s.description) for s in STAGES])
        return
    path = warehouse_path(warehouse)
    if not path.exists():
        raise MinerError(f"{path}: no warehouse here (run a harvest first, or pass --warehouse)")
    results = process(path, stages=list(stages) or None, options=ProcessOptions(progress=progress, backend=backend))
    print_results(results)
    with Warehouse.open(path, read_only=True) as wh:
        rows = funnel(wh)
    print_funnel(rows)
    console.print(f"Warehouse: {path}")


def print_results(results: list[StageResult] | list[dict]) -> None:
    rows = []
    for r in results:
        r = r if isinstance(r, StageResult) else StageResult(**r)
        rows.append((r.stage, f"{r.seconds:.1f}", r.describe()))
    print_rows(["stage", "seconds", "what it did"], rows, title="Process")
