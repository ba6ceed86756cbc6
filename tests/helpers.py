"""Small helpers shared by tests (not fixtures)."""

from __future__ import annotations

import os
import subprocess
import sys

from miner.collect.harvest import Harvester, RetryPolicy
from miner.collect.pseudonyms import Pseudonymizer
from miner.collect.sources import sources_for
from miner.collect.store import QueryOutcome, finish_run, start_run
from miner.core.config import installation_secret
from miner.core.db import Warehouse
from miner.plan.plan import Plan, harvest_queries

def miner_cli(*args: str) -> subprocess.CompletedProcess:
    """``miner ARGS`` in a subprocess, as a user runs it (text output, this environment)."""
    return subprocess.run([sys.executable, "-m", "miner", *args], capture_output=True, text=True,
                          env={**os.environ})


NO_SLEEP = RetryPolicy(attempts=3, base_seconds=0.0, sleep=lambda s: None)


def harvest(wh: Warehouse, plan: Plan, endpoints, *, sources=("reddit", "news"),
            retry: RetryPolicy = NO_SLEEP) -> tuple[str, list[QueryOutcome]]:
    """One run of ``plan`` without Prefect (the flow test covers the Prefect path)."""
    run_id = start_run(wh, plan, endpoint="replay")
    h = Harvester(wh, plan, run_id, Pseudonymizer(installation_secret(wh.path)),
                  reddit=sources_for(endpoints, "reddit", None) if "reddit" in sources else None,
                  news=sources_for(endpoints, "news") if "news" in sources else None, retry=retry)
    outcomes = [h.run_query(q) for q in harvest_queries(plan) if q.source in sources]
    finish_run(wh, run_id, outcomes)
    return run_id, outcomes


def all_text(wh: Warehouse) -> str:
    """Every value of every table, as one string (for "this never appears anywhere" checks)."""
    parts = []
    for (table,) in wh.rows("SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"):
        cols = wh.column_names(table)
        expr = " || '\x1f' || ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '')" for c in cols)
        parts += [r[0] for r in wh.rows(f'SELECT {expr} FROM "{table}"')]
    return "\n".join(parts)


def add_documents(wh: Warehouse, *docs, run_id: str = "run_test") -> None:
    """Save hand-made documents (``miner.core.records.Document``) as one run, the way a harvest does."""
    from miner.collect.store import save_documents

    with wh.transaction():
        save_documents(wh, list(docs), run_id)


def doc(doc_id: str, title: str | None, body: str | None, *, kind: str = "submission", source: str = "reddit",
        created: str = "2024-05-01", **fields):
    """A ``Document`` with defaults for what a test does not care about."""
    from datetime import datetime

    from miner.core.records import Document

    return Document(doc_id=doc_id, source=source, kind=kind, native_id=doc_id.split(":")[-1], title=title,
                    body=body, created_at=datetime.fromisoformat(created), **fields)


def put_documents(wh: Warehouse, docs: dict[str, str], *, created_at=None, author_hash: str | None = None) -> None:
    """Write documents straight into the warehouse (for stages after harvest): doc_id -> body."""
    from datetime import datetime

    from miner.core.clock import now_utc

    now = now_utc()
    wh.insert("documents", [{
        "doc_id": d, "source": d.split(":")[0], "kind": "article" if d.startswith("news:") else
        ("comment" if ":t1_" in d else "submission"), "native_id": d.split(":")[1], "title": None,
        "body": text, "state": "ok", "content_hash": d, "created_at": created_at or datetime(2024, 5, 17, 9, 30),
        "author_hash": author_hash, "first_seen_at": now, "last_seen_at": now, "first_run_id": "r", "last_run_id": "r",
        "url": f"https://www.reddit.com/comments/{d.split('_')[-1]}/" if d.startswith("reddit") else f"https://x.example/{d}",
    } for d, text in docs.items()])
