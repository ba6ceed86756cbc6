"""What a night can sweep: documents a day the pipeline takes end to end on this machine.

    PYTHONPATH=. .venv/bin/python bench/sweep.py            # sweep every community of the replay corpus
    PYTHONPATH=. .venv/bin/python bench/sweep.py --subs mentalhealth depression

Each round, two separate processes, run in turn (so neither warms the other's caches or model):

A. the pipeline: a plan that sweeps the communities (submissions and comments) is harvested
   from the replay server through praw, then every stage of ``miner process`` runs (clean,
   dedup, embed, dedup-semantic, evidence, score, cluster); each stage is timed;
B. the reference: a bare ``model.encode`` of the same documents' texts (title and body), the
   floor any pipeline that embeds them pays.

It prints documents, seconds per step, documents a day at that rate, and the share of the
wall time that is embedding, with B beside the embed step.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MINER_SECRET", "bench-secret")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

DAY = 86_400


def sweep_plan(path: Path, subs: list[str]) -> Path:
    path.write_text('name = "bench-sweep"\n[reddit]\n[[reddit.communities]]\n'
                    f'subreddits = {json.dumps(subs)}\nsweep = true\n')
    return path


def pipeline(warehouse: str, plan: str) -> dict:
    """Process A: harvest the sweeps from a replay server, then every process stage."""
    import time

    from bench.harvest_worker import main as harvest
    from miner.core.db import Warehouse
    from miner.pipeline import process
    from miner.replay.server import ReplayServer

    with ReplayServer() as server:
        t0 = time.perf_counter()
        status = harvest(warehouse, plan, server.url)
        harvest_s = time.perf_counter() - t0
    results = process(warehouse)
    with Warehouse.open(warehouse, read_only=True) as wh:
        docs = wh.scalar("SELECT count(*) FROM documents")
    return {"status": status, "documents": docs, "harvest": harvest_s,
            "stages": {r.stage: r.seconds for r in results}}


def bare_encode(warehouse: str) -> dict:
    """Process B: the same texts, one bare ``encode`` call of the shipped model."""
    import time

    from miner.core.db import Warehouse
    from miner.process.embed import load_model

    with Warehouse.open(warehouse, read_only=True) as wh:
        texts = [t for (t,) in wh.rows("SELECT c.text FROM clean_texts c WHERE c.state = 'ok' "
                                       "AND c.doc_id IN (SELECT doc_id FROM v_canonical_documents)")]
    model = load_model()
    model.encode(texts[:8])  # warm-up
    t0 = time.perf_counter()
    model.encode(texts, batch_size=32)
    return {"texts": len(texts), "seconds": time.perf_counter() - t0}


def child(fn: str, *args: str) -> dict:
    code = f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from bench.sweep import {fn}; " \
           f"print(json.dumps({fn}(*sys.argv[1:])))"
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode:
        raise SystemExit(f"{fn} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subs", nargs="*", help="communities to sweep (default: every one in the replay corpus)")
    ap.add_argument("--rounds", type=int, default=2, help="A/B pairs, run in turn (A, B, A, B, ...)")
    args = ap.parse_args()
    from miner.replay.corpus import load_corpus

    subs = args.subs or sorted({s.subreddit for s in load_corpus().submissions})
    runs_a, runs_b = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            wh = str(Path(tmp) / "sweep.duckdb")
            runs_a.append(child("pipeline", wh, str(sweep_plan(Path(tmp) / "plan.toml", subs))))
            runs_b.append(child("bare_encode", wh))
    med = statistics.median
    steps = {"harvest": med(a["harvest"] for a in runs_a),
             **{k: med(a["stages"][k] for a in runs_a) for k in runs_a[0]["stages"]}}
    total = med(a["harvest"] + sum(a["stages"].values()) for a in runs_a)
    n, texts = runs_a[0]["documents"], runs_b[0]["texts"]
    bare = med(b["seconds"] for b in runs_b)
    print(f"swept {len(subs)} communities of the replay corpus: {n:,} documents ({runs_a[0]['status']}); "
          f"medians of {args.rounds} runs of each side, run in turn")
    print(f"{'step':<16}{'seconds':>9}{'share':>8}")
    for name, sec in steps.items():
        ref = f"   reference: bare encode of {texts:,} texts {bare:.1f} s" if name == "embed" else ""
        print(f"{name:<16}{sec:>9.1f}{sec / total:>8.0%}{ref}")
    print(f"{'total':<16}{total:>9.1f}")
    print(f"end to end: {n / total:.1f} documents/s = {n / total * DAY:,.0f} documents a day on this machine; "
          f"embedding is {steps.get('embed', 0) / total:.0%} of it")
    print(f"reference (same run): bare encode {texts / bare:.1f} texts/s = {texts / bare * DAY:,.0f} a day")

if __name__ == "__main__":
    main()
