"""The queue at a million documents: how long an annotator waits for the next item.

    PYTHONPATH=. .venv/bin/python bench/queue_speed.py                    # 1M documents, 5M hits
    PYTHONPATH=. .venv/bin/python bench/queue_speed.py --docs 100000 --hits 500000

Builds a warehouse with every table the queue reads filled (bench/warehouse.py: documents, hits,
clean texts, duplicate groups, scores, evidence spans, clusters, care flags, annotations from
two annotators), then, in separate processes run alternately (A, B, A, B, ...):

A. the materialized order (``queue_order``, read through :func:`miner.triage.order.undecided`):
   what ``miner triage next`` and the web app do now;
B. the reference: the same "next item" asked of the ``v_queue`` view, as they did before.

Each process times ``--calls`` next-item queries (p50, p99) and as many full label round trips
(pick the next item and claim it, load it as the web page does, store a label). It also
prints what materializing costs at scoring time, and the peak memory of each process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MINER_SECRET", "bench")

FILTERS = ("AND doc_id NOT IN (SELECT doc_id FROM web_claims WHERE annotator <> 'bench' AND expires_at > now()) "
           "AND doc_id NOT IN (SELECT doc_id FROM care_flags WHERE len(list_intersect(categories, ['suicide'])) > 0)")


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, round(q * (len(xs) - 1)))] * 1000


def measure(path: str, side: str, calls: int) -> dict:
    """One process: ``calls`` next-item queries on one side, then as many label round trips
    (A through the materialized order, B asking the view for the next item)."""
    from miner.core.db import Warehouse
    from miner.triage import worklist
    from miner.triage.annotators import Annotator
    from miner.triage.codebook import Label
    from miner.triage.order import undecided

    sql = (f"SELECT q.doc_id {undecided()} {FILTERS} ORDER BY q.priority LIMIT 1" if side == "A" else
           f"SELECT doc_id FROM v_queue WHERE true {FILTERS} ORDER BY position LIMIT 1")
    out: dict = {"next": [], "trip": []}
    with Warehouse.open(path) as wh:
        for _ in range(calls):
            t0 = time.perf_counter()
            wh.rows(sql)
            out["next"].append(time.perf_counter() - t0)
        who = Annotator(f"bench_{os.getpid()}", opt_out=["suicide"])
        for i in range(calls):
            t0 = time.perf_counter()
            # B: the next item as the view gives it, claimed as before; then the same page and save
            if side == "A":
                doc = worklist.next_for(wh, who)
            else:
                doc = wh.rows(sql)[0][0]
                worklist.claim(wh, doc, who.name)
            item = worklist.load_item(wh, doc, who.name)
            worklist.submit_label(wh, who.name, doc, Label(decision="unsure"), key=f"{os.getpid()}-{i}",
                                  seen=worklist.item_version(item))
            out["trip"].append(time.perf_counter() - t0)
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def wh_counts(path: str) -> tuple[int, int]:
    from miner.core.db import Warehouse

    with Warehouse.open(path, read_only=True) as wh:
        return wh.scalar("SELECT count(*) FROM documents"), wh.scalar("SELECT count(*) FROM hits")


def child(path: str, side: str, calls: int) -> dict:
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); from bench.queue_speed import measure; "
            f"print(json.dumps(measure({path!r}, {side!r}, {calls})))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if res.returncode:
        raise SystemExit(f"side {side} failed:\n{res.stderr[-2000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--hits", type=int, default=5_000_000)
    ap.add_argument("--calls", type=int, default=30, help="next-item queries (and round trips) per process")
    ap.add_argument("--rounds", type=int, default=2, help="A/B process pairs, alternating")
    ap.add_argument("--path", type=Path, help="keep the built warehouse here, or reuse it if it exists "
                                              "(default: a temporary file)")
    args = ap.parse_args()
    from bench.warehouse import build
    from miner.core.db import Warehouse
    from miner.triage.annotators import add
    from miner.triage.order import refresh_queue_order

    with tempfile.TemporaryDirectory() as tmp:
        path = str(args.path or Path(tmp) / "queue.duckdb")
        reuse = args.path is not None and args.path.exists()
        t0 = time.perf_counter()
        with Warehouse.open(path) as wh:
            if not reuse:
                build(wh, args.docs, args.hits, 30, 0)
            built = time.perf_counter() - t0
            t0 = time.perf_counter()
            queued = refresh_queue_order(wh)
            materialize = time.perf_counter() - t0
            n_scores = wh.scalar("SELECT count(*) FROM scores")
            n_spans = wh.scalar("SELECT count(*) FROM evidence")
        n_docs, n_hits = wh_counts(path)
        print(f"warehouse: {n_docs:,} documents, {n_hits:,} hits, {n_scores:,} scores, {n_spans:,} evidence "
              f"spans, 1,000 clusters ({'reused' if reuse else f'built in {built:.0f} s'})")
        print(f"materializing the order at scoring time: {materialize:.2f} s for {queued:,} items")
        runs: dict[str, list[dict]] = {"A": [], "B": []}
        for _ in range(args.rounds):
            for side in ("A", "B"):
                runs[side].append(child(path, side, args.calls))
    for key, what in (("next", "next item (query)"), ("trip", "label round trip (next + load + save)")):
        for side, name in (("A", "queue_order"), ("B", "v_queue (reference)")):
            xs = [x for r in runs[side] for x in r[key]]
            if xs:
                print(f"{what:<40} {name:<20} p50 {pct(xs, 0.5):8.1f} ms  p99 {pct(xs, 0.99):8.1f} ms  (n={len(xs)})")
    for side in ("A", "B"):
        print(f"peak memory, side {side}: {max(r['peak_mib'] for r in runs[side]):,.0f} MiB")


if __name__ == "__main__":
    main()
