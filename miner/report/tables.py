"""Write every public view (``v_*``) to files pandas, polars or R read directly.

DuckDB's own ``COPY ... TO`` writes the files (types kept: timestamps, lists, structs), so a
view of millions of rows streams to disk without passing through Python. It only reads the
warehouse, so it works on a read-only open while a harvest runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from miner.core.db import Warehouse

FORMATS = {"parquet": "(FORMAT parquet, COMPRESSION zstd)", "csv": "(FORMAT csv, HEADER true)"}


@dataclass
class ExportedView:
    view: str
    rows: int
    path: Path


def export_views(wh: Warehouse, out_dir: str | Path, fmt: str = "parquet",
                 views: list[str] | None = None) -> list[ExportedView]:
    """One file per view, named ``<view>.<fmt>``; returns what was written with row counts."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for view in views or wh.view_names("v_"):
        path = out / f"{view}.{fmt}"
        target = str(path).replace("'", "''")
        (n,) = wh.rows(f"COPY ({_select(wh, view)}) TO '{target}' {FORMATS[fmt]}")[0]
        written.append(ExportedView(view, int(n), path))
    return written


def _select(wh: Warehouse, view: str) -> str:
    """``SELECT *`` with HUGEINT columns (DuckDB's type for sums of integers) cast to BIGINT:
    Parquet has no 128-bit integer and DuckDB would write them as DOUBLE, so counts would come
    back as 5.0. A sum too large for BIGINT fails loudly rather than losing digits."""
    types = wh.rows("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                    "ORDER BY ordinal_position", [view])
    cols = [f'CAST("{c}" AS BIGINT) AS "{c}"' if t == "HUGEINT" else f'"{c}"' for c, t in types]
    return f'SELECT {", ".join(cols)} FROM "{view}"'
