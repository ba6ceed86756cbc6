"""SIGKILL a harvest at random moments; after each kill a rerun must leave exactly what an
uninterrupted run leaves (same documents with the same content, same hits with the same
ranks), nothing duplicated, no half-written rows.

    .venv/bin/python bench/crash.py [--trials 24] [--seed 1]

Each trial harvests the paper plan from the replay server into a fresh warehouse in a child
process (bench/harvest_worker.py), kills it with SIGKILL at a random moment (sometimes twice,
the second time during the rerun), then reruns it to completion and compares.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MINER_SECRET", "bench")

from miner.core.db import Warehouse  # noqa: E402
from miner.replay.server import ReplayServer  # noqa: E402

WORKER = ROOT / "bench" / "harvest_worker.py"
PLAN = ROOT / "queries" / "paper.toml"


def snapshot(path: Path) -> dict:
    with Warehouse.open(path) as wh:
        return {
            "documents": set(wh.rows("SELECT doc_id, content_hash, state FROM documents")),
            "hits": set(wh.rows("SELECT plan_id, query_id, doc_id, via, rank FROM hits")),
            "orphan_hits": wh.scalar("SELECT count(*) FROM hits h WHERE NOT EXISTS "
                                     "(SELECT 1 FROM documents d WHERE d.doc_id = h.doc_id)"),
            "orphan_comments": wh.scalar("SELECT count(*) FROM documents c WHERE kind = 'comment' AND NOT EXISTS "
                                         "(SELECT 1 FROM documents s WHERE s.doc_id = c.thread_id)"),
            "unfinished_queries": wh.scalar("SELECT count(*) FROM query_state WHERE cursor IS NOT NULL"),
        }


def run(path: Path, url: str, kill_after: float | None) -> tuple[bool, float]:
    """Run the worker; kill it after ``kill_after`` seconds. Returns (was it killed, seconds)."""
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(WORKER), str(path), str(PLAN), url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True, time.monotonic() - t0
    else:
        proc.wait()
        if proc.returncode != 0:
            raise SystemExit(f"rerun failed: {proc.stderr.read().decode()[-2000:]}")
    return False, time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with ReplayServer() as server, tempfile.TemporaryDirectory() as tmp:
        ref_path = Path(tmp) / "reference.duckdb"
        _, full = run(ref_path, server.url, None)
        reference = snapshot(ref_path)
        print(f"uninterrupted run: {full:.1f} s, {len(reference['documents'])} documents, "
              f"{len(reference['hits'])} hits")
        print("trial  kill at (s)   killed  equal  notes")
        ok = 0
        for trial in range(1, args.trials + 1):
            path = Path(tmp) / f"t{trial}.duckdb"
            kills = [rng.uniform(0.3, full)]
            if rng.random() < 0.3:
                kills.append(rng.uniform(0.3, full))  # a second kill, during the rerun
            killed = [run(path, server.url, k)[0] for k in kills]
            run(path, server.url, None)
            snap = snapshot(path)
            equal = (snap["documents"] == reference["documents"] and snap["hits"] == reference["hits"]
                     and not snap["orphan_hits"] and not snap["orphan_comments"] and not snap["unfinished_queries"])
            ok += equal
            notes = "" if equal else (f"docs {len(snap['documents'])} vs {len(reference['documents'])}, "
                                      f"hits {len(snap['hits'])} vs {len(reference['hits'])}")
            print(f"{trial:5d}  {', '.join(f'{k:.2f}' for k in kills):12s}  {sum(killed):6d}  {str(equal):5s}  {notes}")
        print(f"\n{ok}/{args.trials} trials equal to the uninterrupted run "
              f"({sum(1 for _ in range(args.trials))} trials, kills uniformly random over the run)")


if __name__ == "__main__":
    main()
