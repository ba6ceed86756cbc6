"""Write every anonymized public view (``v_*`` in :data:`ALLOWED`) to files pandas, polars or R read directly.

DuckDB's own ``COPY ... TO`` writes the files (types kept: timestamps, lists, structs), so a
view of millions of rows streams to disk without passing through Python. It only reads the
warehouse, so it works on a read-only open while a harvest runs. Every text value first goes
through the leak gate (:mod:`miner.incidents.leaks`), as incident exports do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.incidents.incidents import warehouse_known
from miner.incidents.leaks import scan_fields

FORMATS = {"parquet": "(FORMAT parquet, COMPRESSION zstd)", "csv": "(FORMAT csv, HEADER true)"}


# Views that may leave the warehouse: counts, codes, ids and months, no text. Everything else
# is refused with the reason (issue 19: raw text, permalinks and the pseudonym map had leaked).
ALLOWED = ("v_agreement", "v_current_scorer", "v_decisions", "v_document_groups", "v_funnel", "v_funnel_by_run",
           "v_hits_by_month", "v_incidents_by_month", "v_incidents_monthly", "v_query_yield", "v_runs",
           "v_yield_by_product_template")
REFUSED = {
    "v_canonical_documents": "carries raw text, permalinks and author pseudonyms",
    "v_evidence": "carries spans of raw text",
    "v_queue": "carries titles and evidence text", "v_queue_all": "carries titles and evidence text",
    "v_clusters": "carries keywords taken from raw text",
    "v_annotations_current": "carries annotators' free-text notes",
    "v_document_vectors": "carries embeddings of raw text",
    "v_incidents": "carries narratives not checked here; use `miner export incidents`, which runs the privacy checks",
}


@dataclass
class ExportedView:
    view: str
    rows: int
    path: Path


def export_views(wh: Warehouse, out_dir: str | Path, fmt: str = "parquet",
                 views: list[str] | None = None) -> list[ExportedView]:
    """One file per view, named ``<view>.<fmt>``; returns what was written with row counts."""
    views = list(views) if views else [v for v in wh.view_names("v_") if v in ALLOWED]
    _gate(wh, [v for v in views if v in ALLOWED])  # before any file: a blocked export writes nothing
    for view in views:
        if view in ALLOWED:
            continue
        if view in REFUSED:
            raise MinerError(f"--view {view}: not exported, it {REFUSED[view]}")
        raise MinerError(f"--view {view}: {_not_exportable(wh, view)} (exportable: {', '.join(ALLOWED)})")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for view in views:
        path = out / f"{view}.{fmt}"
        target = str(path).replace("'", "''")
        (n,) = wh.rows(f"COPY ({_select(wh, view)}) TO '{target}' {FORMATS[fmt]}")[0]
        written.append(ExportedView(view, int(n), path))
    return written


def _not_exportable(wh: Warehouse, name: str) -> str:
    """Why ``--view NAME`` is refused: a typo and a table need different fixes."""
    if name in wh.view_names(""):
        return "not an exportable view"
    if wh.scalar("SELECT count(*) FROM duckdb_tables() WHERE NOT internal AND table_name = ?", [name]):
        return "a table, not an exportable view"
    return "no such view"


def _select(wh: Warehouse, view: str) -> str:
    """``SELECT *`` with HUGEINT columns (DuckDB's type for sums of integers) cast to BIGINT:
    Parquet has no 128-bit integer and DuckDB would write them as DOUBLE, so counts would come
    back as 5.0. A sum too large for BIGINT fails loudly rather than losing digits."""
    types = wh.rows("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                    "ORDER BY ordinal_position", [view])
    cols = [f'CAST("{c}" AS BIGINT) AS "{c}"' if t == "HUGEINT" else f'"{c}"' for c, t in types]
    return f'SELECT {", ".join(cols)} FROM "{view}"'


def _gate(wh: Warehouse, views: list[str]) -> None:
    """The leak gate over every distinct text value of the views (lists of text too): an
    allowed view should carry none, so one found blocks the export, naming the view and the
    column, never the identifier. (Allowed views carry no incident ids to name.)"""
    known = warehouse_known(wh)
    for view in views:
        types = wh.rows("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [view])
        for col, t in types:
            if t not in ("VARCHAR", "VARCHAR[]"):
                continue
            for (value,) in wh.rows(f'SELECT DISTINCT "{col}" FROM "{view}" WHERE "{col}" IS NOT NULL'):
                found = scan_fields({col: value}, known)
                if found:
                    raise MinerError(f"--view {view}: not exported, column {col} carries {found[0][1].what} "
                                     f"(not shown); nothing written")
