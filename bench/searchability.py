"""How long the searchability check takes against the whole warehouse, as the warehouse grows.

    cd /work/wt-8 && PYTHONPATH=$PWD /work/main/.venv/bin/python bench/searchability.py [--docs 20000 100000]

Writes synthetic documents (150 words each from a 5,000-word vocabulary) into a temporary
warehouse, times indexing the new documents (once per document, incremental), then
``shared_spans`` against the whole warehouse for a 200-word narrative with one copied run.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.incidents.searchability import refresh_index, shared_spans


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, nargs="+", default=[10_000, 50_000])
    args = ap.parse_args()
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(5000)]
    with tempfile.TemporaryDirectory() as tmp, Warehouse.open(Path(tmp) / "b.duckdb") as wh:
        have = 0
        now = now_utc()
        for target in sorted(args.docs):
            rows = [{"doc_id": f"reddit:t3_{i}", "source": "reddit", "kind": "submission", "native_id": f"t3_{i}",
                     "body": " ".join(rng.choices(vocab, k=150)), "state": "ok", "content_hash": str(i),
                     "first_seen_at": now, "last_seen_at": now, "first_run_id": "r", "last_run_id": "r"}
                    for i in range(have, target)]
            wh.insert("documents", rows)
            have = target
            copied = " ".join(wh.scalar("SELECT body FROM documents LIMIT 1").split()[:12])
            narrative = " ".join(rng.choices(vocab, k=100)) + " " + copied + " " + " ".join(rng.choices(vocab, k=88))
            t0 = time.perf_counter()
            added = refresh_index(wh)
            build = time.perf_counter() - t0
            times = []
            for _ in range(3):
                t0 = time.perf_counter()
                spans = shared_spans(wh, narrative)
                times.append(time.perf_counter() - t0)
            words = target * 150
            print(f"{target:>8} documents ({words / 1e6:.1f} M words): indexing {added} new documents "
                  f"{build:.1f} s; then {min(times):.2f} s per check (best of 3), {len(spans)} span(s) found")


if __name__ == "__main__":
    main()
