"""Counts per stage and source, read from ``v_funnel`` (what the CLI prints after a run)."""

from __future__ import annotations

from miner.core.db import Warehouse


def funnel(wh: Warehouse) -> list[dict]:
    return wh.dicts("SELECT source, step, stage, n FROM v_funnel ORDER BY source, step, stage")

