"""Replayed annotation: how fast does the triage queue surface the incidents?

    PYTHONPATH=. .venv/bin/python bench/triage.py                          # whole replay corpus
    PYTHONPATH=. .venv/bin/python bench/triage.py --real                   # real dev set, tune split
    PYTHONPATH=. .venv/bin/python bench/triage.py --real --split holdout   # ... held-out split (to report)
    PYTHONPATH=. .venv/bin/python bench/triage.py --warehouse W.duckdb     # a copy of a processed warehouse
    PYTHONPATH=. .venv/bin/python bench/triage.py --dev-stream             # ../shared/data/reddit_dev_stream

Each run plays an annotator twice over the same queue: once on the cold start (no labels: the
queue's order as it is), once learning (read the head ``--batch`` items at a time, label them,
retrain, continue, as in ``miner serve``). It prints the incidents found after reading 1%, 5%,
10% and 20% of the pool, the reads per incident (the paper needed 155), when the last one was
found, and how long each retrain took.

- replay corpus: every corpus document (no hits, so the ``v_queue_all`` queue), processed by
  ``miner process``; the answers come from the corpus's ground truth.
- ``--real``: ../shared/data/reddit_dev_more imported with bench/data/dev_plan.toml and processed
  (cached in bench/out/dev_more.duckdb; the first run embeds 19k documents, about 16 minutes);
  the pool is one split of it (bench/devset.py) and the answers are bench/data/dev_labels.jsonl.
- ``--dev-stream``: real r/ChatGPT search results, unlabelled: checks that nothing breaks on
  real text and prints the queue's head.
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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

os.environ.setdefault("MINER_SECRET", "bench-secret")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from miner.core.db import Warehouse  # noqa: E402
from miner.triage.annotations import label_many  # noqa: E402
from miner.triage.codebook import Label  # noqa: E402
from miner.triage.score import ScoreOptions, score_all  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import devset  # noqa: E402
from fit_cold import canonical_labels as canonical_decisions  # noqa: E402

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


@dataclass
class Played:
    """What an annotator playing the queue saw: reads at each share of the pool, incidents found."""

    pool: int
    reachable: int
    checkpoints: dict[float, tuple[int, int]]  # share of the pool read -> (reads, incidents found)
    all_found_at: int | None
    retrain_seconds: list[float]

    def print(self, title: str) -> None:
        print(f"{title}: pool {self.pool} documents, {self.reachable} incidents")
        print(f"  {'read':>6} {'items':>6} {'incidents':>10} {'recall':>7} {'reads/incident':>15}")
        for frac, (r, f) in self.checkpoints.items():
            print(f"  {frac:6.0%} {r:6d} {f:10d} {f / max(self.reachable, 1):7.1%} {r / max(f, 1):15.1f}")
        if self.all_found_at:
            print(f"  all {self.reachable} incidents found after {self.all_found_at} reads "
                  f"({self.all_found_at / self.pool:.1%} of the pool, {self.all_found_at / self.reachable:.1f} "
                  f"reads per incident)")
        else:
            print(f"  not all incidents found within the reads played")
        if self.retrain_seconds:
            t = sorted(self.retrain_seconds)
            print(f"  {len(t)} retrains: median {t[len(t) // 2]:.2f} s, max {t[-1]:.2f} s")


def play(wh: Warehouse, pool: set[str], incidents_of: dict[str, set[str]], label_of: Callable[[str], Label], *,
         learn: bool, batch: int, explore: float, stop: float, until_all: bool,
         fracs: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20)) -> Played:
    """Read the queue's head restricted to ``pool``, ``batch`` items at a time; with ``learn``,
    label what was read and retrain before the next batch (as an annotator in ``miner serve``
    would), else keep the cold order. Stops after ``stop`` of the pool, or, with ``until_all``,
    once every incident reachable in the pool has been found."""
    reachable = set().union(*(incidents_of.get(c, set()) for c in pool))
    checkpoints: dict[float, tuple[int, int]] = {}
    found: set[str] = set()
    read: list[str] = []
    all_found_at = None
    seconds: list[float] = []
    opts = ScoreOptions(explore_share=explore)
    wh.execute("CREATE OR REPLACE TEMP TABLE bench_pool AS SELECT unnest(?) AS doc_id", [sorted(pool)])
    wh.execute("CREATE OR REPLACE TEMP TABLE bench_read (doc_id VARCHAR)")
    score_all(wh, opts)
    while len(read) < len(pool) * stop or (until_all and all_found_at is None and len(read) < len(pool)):
        if learn and read:
            t = time.perf_counter()
            score_all(wh, opts)
            seconds.append(time.perf_counter() - t)
        head = [d for (d,) in wh.rows(
            "SELECT doc_id FROM scores JOIN v_current_scorer USING (scorer_version) "
            "WHERE doc_id IN (SELECT doc_id FROM bench_pool) AND doc_id NOT IN (SELECT doc_id FROM bench_read) "
            "ORDER BY priority, doc_id LIMIT ?", [batch])]
        if not head:
            break
        for d in head:
            read.append(d)
            found |= incidents_of.get(d, set())
            for frac in fracs:
                if frac not in checkpoints and len(read) >= len(pool) * frac:
                    checkpoints[frac] = (len(read), len(found))
            if all_found_at is None and found == reachable:
                all_found_at = len(read)
        wh.execute("INSERT INTO bench_read SELECT unnest(?)", [head])
        if learn:
            label_many(wh, [(d, label_of(d)) for d in head], "bench")
    return Played(len(pool), len(reachable), checkpoints, all_found_at, seconds)


def replay_annotation(path: Path, batch: int, explore: float, stop: float, view: str) -> None:
    from miner.replay.truth import load_truth

    truth = load_truth()
    with Warehouse.open(path) as wh:
        groups: dict[str, list[str]] = {}
        for d, c in wh.rows("SELECT doc_id, canonical_id FROM v_document_groups"):
            groups.setdefault(c, []).append(d)
        score_all(wh)
        pool = {d for (d,) in wh.rows(f"SELECT doc_id FROM {view}")}
        incidents_of = {c: {truth.labels[d].incident for d in ds if truth.is_incident(d)} for c, ds in groups.items()}

        def label_of(d: str) -> Label:
            if incidents_of.get(d):
                return Label("incident")
            lab = next((truth.labels[m] for m in groups.get(d, [d]) if m in truth.labels), None)
            if lab is not None and lab.label == "unsure":
                return Label("unsure")
            return Label("not", reason=lab.reason if lab is not None and lab.label == "not" else None)

        print(f"replay corpus ({len(truth.incidents)} incidents); batch {batch}, explore share {explore}")
        cold = play(wh, pool, incidents_of, label_of, learn=False, batch=batch, explore=explore, stop=stop,
                    until_all=True)
        cold.print("cold start, no labels")
        learned = play(wh, pool, incidents_of, label_of, learn=True, batch=batch, explore=explore, stop=stop,
                       until_all=True)
        learned.print(f"learned: label the head in batches of {batch}, retrain each batch")


def real_annotation(path: Path, splits: list[str], batch: int, explore: float, stop: float) -> None:
    """The real development set: the annotator's answers are bench/data/dev_labels.jsonl.
    Unlabelled documents read as "not" (the screen's random sample: bench/data/dev_labels.md)."""
    labels = devset.load_labels()
    for split in splits:
        work = path.with_name(f"real-{split}.duckdb")
        shutil.copy(path, work)
        with Warehouse.open(work) as wh:
            decided = canonical_decisions(wh, labels)
            pool = {d for (d,) in wh.rows("SELECT doc_id FROM v_queue_all") if devset.split_of(d) == split}
            incidents_of = {d: {d} for d in pool if decided.get(d) == "incident"}

            def label_of(d: str) -> Label:
                dec = decided.get(d, "not")
                return Label(dec) if dec != "not" else Label("not")

            print(f"\nreal development set, {split} split (batch {batch}, explore share {explore})")
            play(wh, pool, incidents_of, label_of, learn=False, batch=batch, explore=explore, stop=stop,
                 until_all=False).print("cold start, no labels")
            play(wh, pool, incidents_of, label_of, learn=True, batch=batch, explore=explore, stop=stop,
                 until_all=False).print(f"learned: label the head in batches of {batch}, retrain each batch")
        work.unlink()


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
    ap.add_argument("--real", action="store_true",
                    help="the labelled real development set (bench/devset.py; its processed warehouse is cached "
                         "in bench/out/dev_more.duckdb)")
    ap.add_argument("--split", choices=["tune", "holdout", "both"], default="tune",
                    help="with --real: which split to play (holdout only to report)")
    ap.add_argument("--batch", type=int, default=10, help="items read between retrains")
    ap.add_argument("--explore", type=float, default=0.1, help="share of queue slots for uncertain items")
    ap.add_argument("--stop", type=float, default=None,
                    help="stop after reading this share of the queue (default 0.2, or when every incident is "
                         "found if later; with --real 0.1)")
    ap.add_argument("--queue", choices=["all", "hits"], default="all",
                    help="all: v_queue_all (the corpus load has no hits); hits: v_queue")
    args = ap.parse_args()
    if args.real:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "dev.duckdb"
            shutil.copy(devset.prepare(quiet=True), path)
            splits = ["tune", "holdout"] if args.split == "both" else [args.split]
            real_annotation(path, splits, args.batch, args.explore, args.stop or 0.10)
        return
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
            replay_annotation(path, args.batch, args.explore, args.stop or 0.2,
                              "v_queue_all" if args.queue == "all" else "v_queue")

if __name__ == "__main__":
    main()
