"""Counts per stage and source, read from ``v_funnel`` (what the CLI prints after a run)."""

from __future__ import annotations

from miner.core.db import Warehouse


def funnel(wh: Warehouse) -> list[dict]:
    return wh.dicts("SELECT source, step, stage, n FROM v_funnel ORDER BY source, step")


def run_summary(wh: Warehouse, run_id: str) -> dict:
    row = wh.dicts("SELECT run_id, plan_id, status, started_at, finished_at, endpoint FROM harvest_runs "
                   "WHERE run_id = ?", [run_id])
    return row[0] if row else {}
