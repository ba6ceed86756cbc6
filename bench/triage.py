"""Replayed annotation: how fast does the triage queue surface the incidents?

    PYTHONPATH=. .venv/bin/python bench/triage.py                          # whole replay corpus
    PYTHONPATH=. .venv/bin/python bench/triage.py --warehouse W.duckdb     # a copy of a processed warehouse
    PYTHONPATH=. .venv/bin/python bench/triage.py --dev-stream             # ../shared/data/reddit_dev_stream

The replay corpus run loads every corpus document (no hits, so the ``--all-documents`` queue),
runs ``miner process`` (clean, dedup, embed, evidence, score, cluster), then plays an annotator
whose answers come from the ground truth: read the head of the queue (``--batch`` items),
label them, retrain, continue. It prints the share of incidents found after reading 5%, 10%
and 20% of the queue and the reads per incident found (the paper: 155). Target: 90% of
incidents within the first 10%.

The dev stream (real r/ChatGPT search results, unlabelled) runs the same pipeline with no
labels: it checks that nothing breaks on real text and prints the queue's head and clusters.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("MINER_SECRET", "bench-secret")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from miner.core.db import Warehouse  # noqa: E402
from miner.triage.annotations import label_many  # noqa: E402
from miner.triage.codebook import Label  # noqa: E402
from miner.triage.score import ScoreOptions, score_all  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEV_STREAM = ROOT.parent / "shared" / "data" / "reddit_dev_stream" / "chatgpt_search_2023.ndjson"


def prepare_corpus(path: Path) -> None:
    from miner.replay.load import load_corpus_into

    with Warehouse.open(path) as wh:
        load_corpus_into(wh)


def prepare_dev_stream(path: Path, stream: Path) -> int:
    """The stream's posts as Reddit submissions (it has no ids: one is derived from the content)."""
    from miner.collect.store import save_documents
    from miner.core.records import Document

    docs: dict[str, Document] = {}
    with stream.open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            key = hashlib.sha1(f"{r.get('title')}|{r.get('created_utc')}".encode()).hexdigest()[:10]
            docs[key] = Document(
                doc_id=f"reddit:t3_dev{key}", source="reddit", kind="submission", native_id=f"dev{key}",
                title=r.get("title"), body=r.get("selftext") or None, community=r.get("subreddit"),
                url=r.get("url"), num_comments=r.get("num_comments"),
                created_at=datetime.fromtimestamp(float(r.get("created_utc") or 0), timezone.utc).replace(tzinfo=None))
    with Warehouse.open(path) as wh:
        with wh.transaction():
            save_documents(wh, list(docs.values()), "run_dev_stream")
    return len(docs)


def process_all(path: Path) -> None:
    from miner.pipeline import process

    t = time.perf_counter()
    for r in process(path):
        print(f"  {r.stage:15s} {r.seconds:6.1f} s  {r.describe()}", file=sys.stderr)
    print(f"processed in {time.perf_counter() - t:.0f} s", file=sys.stderr)


def replay_annotation(path: Path, batch: int, explore: float, stop: float, view: str) -> None:
    from miner.replay.truth import load_truth

    truth = load_truth()
    with Warehouse.open(path) as wh:
        groups: dict[str, list[str]] = {}
        for d, c in wh.rows("SELECT doc_id, canonical_id FROM v_document_groups"):
            groups.setdefault(c, []).append(d)
        total = wh.scalar(f"SELECT count(*) FROM {view}")
        queue_ids = {d for (d,) in wh.rows(f"SELECT doc_id FROM {view}")}
        incidents_of = {c: {truth.labels[d].incident for d in ds if truth.is_incident(d)} for c, ds in groups.items()}
        reachable = set().union(*(incidents_of.get(c, set()) for c in queue_ids))
        print(f"queue: {total} documents, {len(reachable)} incidents reachable "
              f"(of {len(truth.incidents)} in the corpus); batch {batch}, explore share {explore}")
        found: set[str] = set()
        reads = 0
        checkpoints = {0.05: None, 0.10: None, 0.20: None}
        all_found_at = None
        t0 = time.perf_counter()
        retrains = 0
        opts = ScoreOptions(explore_share=explore)
        while reads < total * stop or (all_found_at is None and reads < total):
            score_all(wh, opts)
            retrains += 1
            head = [d for (d,) in wh.rows(f"SELECT doc_id FROM {view} ORDER BY position LIMIT ?", [batch])]
            if not head:
                break
            labels = []
            for d in head:
                inc = incidents_of.get(d, set())
                reads += 1
                found |= inc
                if inc:
                    labels.append((d, Label("incident")))
                else:
                    lab = next((truth.labels[m] for m in groups.get(d, [d]) if m in truth.labels), None)
                    reason = lab.reason if lab is not None and lab.label == "not" else None
                    labels.append((d, Label("unsure" if lab is not None and lab.label == "unsure" else "not",
                                            reason=reason)))
                for frac in checkpoints:
                    if checkpoints[frac] is None and reads >= total * frac:
                        checkpoints[frac] = (reads, len(found))
                if all_found_at is None and len(found) == len(reachable):
                    all_found_at = reads
            label_many(wh, labels, "bench")
        secs = time.perf_counter() - t0
    print(f"{'read':>6} {'items':>6} {'incidents':>10} {'recall':>7} {'reads/incident':>15}")
    for frac, v in checkpoints.items():
        if v:
            r, f = v
            print(f"{frac:6.0%} {r:6d} {f:10d} {f / len(reachable):7.1%} {r / max(f, 1):15.1f}")
    if all_found_at:
        print(f"all {len(reachable)} incidents found after {all_found_at} reads "
              f"({all_found_at / total:.1%} of the queue, {all_found_at / len(reachable):.1f} reads per incident)")
    print(f"{retrains} retrains in {secs:.0f} s ({secs / max(retrains, 1):.2f} s each)")


def dev_stream_report(path: Path) -> None:
    from miner.triage.queue import next_item, queue, stats

    with Warehouse.open(path, read_only=True) as wh:
        s = stats(wh)
        print(f"queue (all documents): {s['queue_all_documents']}, scorer {s['scorer']['scorer_version']}, "
              f"clusters {s['clusters']}, outliers {s['outliers']}")
        print("likely incidents (score >= 0.5):", wh.scalar("SELECT count(*) FROM v_queue_all WHERE score >= 0.5"))
        for r in queue(wh, 10, all_documents=True):
            print(f"  {r['position']:4d} {r['score']:.3f} {r['doc_id']}")
        item = next_item(wh, "bench", all_documents=True)
        print("next item:", item.doc_id if item else None, f"with {len(item.spans) if item else 0} evidence spans")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warehouse", type=Path, help="copy this processed warehouse instead of loading the corpus")
    ap.add_argument("--dev-stream", action="store_true", help="run on ../shared/data/reddit_dev_stream (unlabelled)")
    ap.add_argument("--batch", type=int, default=10, help="items read between retrains")
    ap.add_argument("--explore", type=float, default=0.1, help="share of queue slots for uncertain items")
    ap.add_argument("--stop", type=float, default=0.2, help="stop after reading this share of the queue "
                                                            "(or when every incident is found, if later)")
    ap.add_argument("--queue", choices=["all", "hits"], default="all",
                    help="all: v_queue_all (the corpus load has no hits); hits: v_queue")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "triage.duckdb"
        if args.warehouse:
            shutil.copy(args.warehouse, path)
        elif args.dev_stream:
            if not DEV_STREAM.exists():
                sys.exit(f"{DEV_STREAM}: not here")
            print(f"dev stream: {prepare_dev_stream(path, DEV_STREAM)} posts", file=sys.stderr)
        else:
            prepare_corpus(path)
        process_all(path)
        if args.dev_stream:
            dev_stream_report(path)
        else:
            replay_annotation(path, args.batch, args.explore, args.stop, "v_queue_all" if args.queue == "all" else "v_queue")


if __name__ == "__main__":
    main()
