"""What the report and the methods appendix say, read from the warehouse's views and tables.

Every read names the view or table it needs and returns ``None`` when this warehouse does not
have it yet (a stage that has not run, or one whose code is not installed): the report then
draws a "no data yet" panel instead of failing. Nothing here computes a statistic the views do
not already give, so the report, the appendix and an analyst's SQL always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from typing import Any

from miner.core.clock import now_utc
from miner.core.db import Warehouse, WarehouseError


@dataclass
class Stage:
    """One box of the funnel: a step summed over sources, with the per-source counts."""

    step: int
    stage: str
    n: int
    by_source: dict[str, int]


@dataclass
class ReportData:
    generated_at: datetime
    warehouse: str
    stages: list[Stage]
    funnel_rows: list[dict]
    yield_grid: list[dict] | None
    incidents_by_month: list[dict] | None
    incidents_monthly: list[dict] | None
    agreement: list[dict] | None
    plans: list[dict]
    queries: list[dict]
    runs: list[dict]
    versions: list[dict]
    thresholds: list[dict]
    skipped_views: dict[str, str]
    decisions: list[dict] | None = None


def read_if_present(wh: Warehouse, relation: str, sql: str, columns: tuple[str, ...] = (),
                    params: list[Any] | None = None) -> list[dict] | None:
    """``sql``'s rows when ``relation`` (with ``columns``) exists in this warehouse, else None."""
    if not wh.relation_exists(relation, columns):
        return None
    return wh.dicts(sql, params)


def funnel_stages(rows: list[dict]) -> list[Stage]:
    """v_funnel's rows (per source) as one box per step, in step order."""
    stages: dict[int, Stage] = {}
    for r in rows:
        if r["n"] is None:
            continue
        s = stages.setdefault(r["step"], Stage(r["step"], r["stage"], 0, {}))
        s.n += int(r["n"])
        s.by_source[r["source"]] = s.by_source.get(r["source"], 0) + int(r["n"])
    return [stages[k] for k in sorted(stages)]


def _versions(wh: Warehouse) -> list[dict]:
    """Software and schema versions: what a methods section must name to be reproducible."""
    out = []
    # The harvest's software; models of later stages name their own versions (see _thresholds).
    for pkg in ("refusal-miner", "duckdb", "praw", "newsapi-python", "prefect"):
        try:
            out.append({"component": pkg, "version": metadata.version(pkg), "detail": "Python package"})
        except metadata.PackageNotFoundError:
            continue
    schema = wh.rows("SELECT version, name FROM schema_version ORDER BY version")
    out.append({"component": "warehouse schema", "version": str(schema[-1][0]) if schema else "none",
                "detail": "migrations " + ", ".join(n for _, n in schema)})
    return out


def _thresholds(wh: Warehouse) -> list[dict]:
    """Models, rule versions and thresholds recorded by the later stages, when present."""
    out: list[dict] = []

    def add(relation: str, sql: str, columns: tuple[str, ...] = ()) -> None:
        # These tables belong to other stages and may change shape: a row that cannot be read
        # says so in the appendix instead of stopping the whole report.
        try:
            out.extend(read_if_present(wh, relation, sql, columns) or [])
        except WarehouseError as exc:
            out.append({"what": relation, "value": "(not readable)", "detail": str(exc)[:200]})

    add("embedding_models",
        "SELECT 'embedding model' AS what, name || ' (' || package || ' ' || package_version || ')' AS value, "
        "'weights sha256 ' || left(weights_sha256, 12) || ', ' || dim || ' dims, max ' || max_tokens || "
        "' tokens, long texts: ' || long_text AS detail FROM embedding_models ORDER BY first_used_at")
    add("clean_texts", "SELECT DISTINCT 'text cleaner' AS what, cleaner_version AS value, "
        "'cleaning rules version' AS detail FROM clean_texts ORDER BY value", ("cleaner_version",))
    add("dedup_signatures", "SELECT DISTINCT 'deduplication' AS what, params AS value, "
        "'near-duplicate parameters' AS detail FROM dedup_signatures ORDER BY value", ("params",))
    add("scorers", "SELECT 'scorer (current)' AS what, scorer_version AS value, kind || ', ' || n_labels || "
        "' training labels (' || n_positive || ' incidents), exploration share ' || explore_share AS detail "
        "FROM scorers ORDER BY created_at DESC, scorer_version LIMIT 1")
    add("cluster_runs", "SELECT 'clustering (latest run)' AS what, model_id AS value, "
        "CAST(params AS VARCHAR) AS detail FROM cluster_runs ORDER BY started_at DESC LIMIT 1")
    return out


def gather(wh: Warehouse) -> ReportData:
    funnel_rows = wh.dicts("SELECT source, step, stage, n FROM v_funnel ORDER BY step, source")
    return ReportData(
        generated_at=now_utc(),
        warehouse=str(wh.path),
        stages=funnel_stages(funnel_rows),
        funnel_rows=funnel_rows,
        yield_grid=read_if_present(wh, "v_yield_by_product_template",
                                   "SELECT * FROM v_yield_by_product_template"),
        incidents_by_month=read_if_present(wh, "v_incidents_by_month",
                                           "SELECT * FROM v_incidents_by_month WHERE month IS NOT NULL"),
        incidents_monthly=read_if_present(wh, "v_incidents_monthly",
                                          "SELECT * FROM v_incidents_monthly WHERE month IS NOT NULL"),
        agreement=read_if_present(wh, "v_agreement",
                                  "SELECT * FROM v_agreement ORDER BY measure DESC, annotator_a, annotator_b"),
        decisions=read_if_present(wh, "v_decisions",
                                  "SELECT status, decision, count(*) AS n FROM v_decisions GROUP BY ALL "
                                  "ORDER BY status, decision"),
        plans=wh.dicts("SELECT p.plan_id, p.name, p.sha256, p.body, p.first_used_at, count(r.run_id) AS runs "
                       "FROM plans p LEFT JOIN harvest_runs r USING (plan_id) GROUP BY ALL "
                       "ORDER BY p.first_used_at"),
        queries=wh.dicts("SELECT pq.plan_id, q.source, q.product, q.template, q.scope, q.rendered, "
                         "pq.priority, pq.max_items FROM plan_queries pq JOIN queries q USING (query_id) "
                         "ORDER BY pq.plan_id, q.source, q.product, q.template, q.scope"),
        runs=wh.dicts("SELECT * FROM v_runs ORDER BY started_at"),
        versions=_versions(wh),
        thresholds=_thresholds(wh),
        skipped_views=wh.skipped_views(),
    )
