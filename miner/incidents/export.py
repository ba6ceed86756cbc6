"""Exports a study team, an IRB or a paper's supplement can receive: anonymized narratives
and codes only. Provenance is counts and months, never ids, URLs or usernames. Every
incident (or scenario) is checked again at export time (the warehouse may have grown since
its last check), and every field of its row goes through the leak gate
(:mod:`miner.incidents.leaks`); one that fails is left out, and the result says which, which
field and why, without repeating the identifier.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.incidents import leaks
from miner.incidents.checks import check
from miner.incidents.incidents import known_for
from miner.incidents.searchability import DEFAULT_MAX_SHARED_WORDS

FORMATS = ("csv", "parquet", "jsonl")

INCIDENT_COLUMNS = ("incident_id", "narrative", "product", "support_context", "refusal_form", "refusal_type",
                    "failure_modes", "phases", "outcome", "first_hand", "sensitive", "n_documents", "n_posts",
                    "n_comments", "n_articles", "sources", "first_month", "last_month", "scenarios")

_SCENARIOS_SQL = """
SELECT s.scenario_id, s.title, s.narrative,
       count(DISTINCT v.incident_id) AS n_incidents,
       list_sort(list_distinct(list(v.product) FILTER (WHERE v.product IS NOT NULL))) AS products,
       list_sort(list_distinct(list(v.support_context) FILTER (WHERE v.support_context IS NOT NULL))) AS support_contexts,
       list_sort(list_distinct(flatten(list(coalesce(v.refusal_form, []))))) AS refusal_forms,
       list_sort(list_distinct(flatten(list(coalesce(v.phases, []))))) AS phases,
       list_sort(list_distinct(list(v.outcome) FILTER (WHERE v.outcome IS NOT NULL))) AS outcomes,
       coalesce(sum(v.n_documents), 0) AS n_documents,
       min(v.first_month) AS first_month, max(v.last_month) AS last_month
FROM scenarios s
LEFT JOIN scenario_incidents si USING (scenario_id)
LEFT JOIN v_incidents v USING (incident_id)
GROUP BY ALL ORDER BY s.scenario_id
"""


@dataclass
class ExportResult:
    kind: str
    path: Path
    written: int
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (id, reason)

    def summary(self) -> str:
        noun = self.kind[:-1] if self.written == 1 and self.kind.endswith("s") else self.kind
        s = f"{self.written} {noun} written to {self.path}"
        if self.left_out:
            s += f"; {len(self.left_out)} left out (failed the privacy checks)"
        return s


def default_path(wh: Warehouse, kind: str, fmt: str) -> Path:
    return wh.path.parent / "exports" / f"{kind}.{fmt}"


def export(wh: Warehouse, kind: str, fmt: str, out: Path | None = None, *,
           max_shared_words: int = DEFAULT_MAX_SHARED_WORDS) -> ExportResult:
    """Write ``incidents`` or ``scenarios`` that pass every check to ``out`` in ``fmt``."""
    if fmt not in FORMATS:
        raise MinerError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    if kind == "incidents":
        rows = wh.dicts(f"SELECT {', '.join(INCIDENT_COLUMNS)} FROM v_incidents ORDER BY incident_id")
        key = "incident_id"
    elif kind == "scenarios":
        rows = wh.dicts(_SCENARIOS_SQL)
        key = "scenario_id"
    else:
        raise MinerError(f"{kind}: nothing to export by that name (incidents, scenarios)")
    keep, left_out = [], []
    for r in rows:
        result = check(wh, r[key], max_shared_words=max_shared_words)
        leak = gate(wh, r, key)
        if not result.passed:
            left_out.append((r[key], result.reason()))
        elif leak:
            left_out.append((r[key], leak))
        else:
            keep.append(r)
    path = Path(out) if out else default_path(wh, kind, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write(keep, list(rows[0]) if rows else [key], fmt, path)
    return ExportResult(kind, path, len(keep), left_out)


def gate(wh: Warehouse, row: dict, key: str) -> str | None:
    """The leak gate over every field of a row about to be written (codes too: ``product`` is
    free text): the reason naming the field and what kind of identifier, or None."""
    found = leaks.scan_fields({k: v for k, v in row.items() if k != key}, known_for(wh, row[key]))
    if not found:
        return None
    name, x = found[0]
    more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
    return f"leak: {name}: {x.what} (not shown){more}"


def _write(rows: list[dict], columns: list[str], fmt: str, path: Path) -> None:
    if fmt == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
        return
    table = pa.Table.from_pylist(rows) if rows else pa.table({c: pa.array([], pa.string()) for c in columns})
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
        return
    import pyarrow.csv as pcsv

    # CSV has no lists: multi-valued codes become "a;b".
    flat = {c: ([";".join(v) if v else "" for v in table[c].to_pylist()]
                if pa.types.is_list(table[c].type) else table[c]) for c in table.column_names}
    pcsv.write_csv(pa.table(flat), path)
