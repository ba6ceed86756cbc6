"""Dedup at scale and against the replay corpus's ground truth.

    PYTHONPATH=. .venv/bin/python bench/dedup.py            # everything (about 5 minutes on 2 cores)
    PYTHONPATH=. .venv/bin/python bench/dedup.py --n 20000  # a smaller generated warehouse
    PYTHONPATH=. .venv/bin/python bench/dedup.py --skip-scale / --skip-truth / --skip-sweep

Prints:
1. Scale: clean + text dedup of N generated documents (default 100,000: posts, comments and
   articles with planted copies, edited reposts, crossposts and syndicated copies), run in a
   child process so its peak memory is its own; then the incremental cost of 1,000 new
   documents and of a rerun with nothing new; and the semantic step over random vectors for
   the generated articles and posts (the model itself is benched in bench/embed.py).
2. Truth: precision and recall of duplicate pairs on the whole replay corpus (real model),
   overall, by kind of duplicate and by method.
3. Sweep: for near-duplicate text, how many true and false pairs each shingle size and
   Jaccard threshold would accept on the replay corpus (why 5-word shingles and 0.8).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("MINER_SECRET", "bench-secret")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from miner.core.db import Warehouse  # noqa: E402
from miner.core.records import Document  # noqa: E402

WORDS = ("i you it we they the a my to and of in that was is for on with but not so just me this have had be "
         "at what do when all about like can if no one would your from out up get feel been really know time "
         "because did an want even more how now people still think going she he them day there could every only "
         "therapist chatbot app help said told asked week night friend family work sleep anxiety depression "
         "panic hotline crisis support talk conversation message reply refused answer again never always better "
         "worse tired alone lonely sad angry scared hard easy long late morning months years doctor meds school "
         "job money home phone screen model update filter guardrails policy character companion replika claude "
         "chatgpt gemini copilot grok bard pi story letter brother sister mom dad partner dog cat city news study "
         "researchers report users company safety rules regulators teens students hospital clinic").split()
OUTLETS = ["Meridian Wire", "Lakeside Ledger", "TechCurrent", "Health Signal", "Daily Anchor", "Northgate Times"]
PLACES = ["Ontario", "Texas", "Leeds", "Duluth", "Victoria", "Cork", "Spokane", "Tulsa", "Perth", "Dublin"]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(WORDS, k=n)).capitalize() + "."


def text(rng: random.Random, lo: int, hi: int) -> str:
    target = rng.randint(lo, hi)
    out, n = [], 0
    while n < target:
        k = rng.randint(6, 18)
        out.append(sentence(rng, k))
        n += k
    return " ".join(out)


def generate(n: int, seed: int = 7) -> list[Document]:
    """n documents: 30% posts, 55% comments, 15% articles, with ~8% planted duplicates."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1)
    docs: list[Document] = []
    for i in range(n):
        when = start + timedelta(seconds=rng.randint(0, 365 * 86400))
        r = rng.random()
        if docs and r < 0.08:  # a duplicate of an earlier document
            orig = rng.choice(docs[-5000:])
            kind = rng.random()
            body = orig.body or ""
            if orig.kind == "article":
                body = body if kind < 0.5 else body + " " + sentence(rng, 8)
                docs.append(Document(f"news:g{i}", "news", "article", f"g{i}", orig.title, body,
                                     (orig.created_at or when) + timedelta(hours=rng.randint(1, 72)),
                                     community=rng.choice(OUTLETS)))
            elif orig.kind == "submission" and kind < 0.3:
                docs.append(Document(f"reddit:t3_g{i}", "reddit", "submission", f"t3_g{i}", orig.title, "",
                                     (orig.created_at or when) + timedelta(hours=2), community="mentalhealth",
                                     author_hash=orig.author_hash, crosspost_parent=orig.doc_id))
            else:
                edited = body if kind < 0.6 else body + "\n\nEDIT: reposting, the first one got no replies."
                docs.append(Document(f"reddit:t3_g{i}", "reddit", "submission", f"t3_g{i}", orig.title or "Reposting this",
                                     edited, (orig.created_at or when) + timedelta(days=rng.randint(1, 9)),
                                     author_hash=orig.author_hash, community="depression"))
            continue
        author = f"a_{rng.randint(0, n // 4):08x}"
        if r < 0.38:
            docs.append(Document(f"reddit:t3_g{i}", "reddit", "submission", f"t3_g{i}", sentence(rng, 8),
                                 text(rng, 30, 350), when, community="depression", author_hash=author))
        elif r < 0.85:
            docs.append(Document(f"reddit:t1_g{i}", "reddit", "comment", f"t1_g{i}", None, text(rng, 3, 80), when,
                                 community="depression", author_hash=author))
        else:
            place = rng.choice(PLACES)
            docs.append(Document(f"news:g{i}", "news", "article", f"g{i}", f"{sentence(rng, 7)[:-1]} in {place}",
                                 f"Officials in {place} said. " + text(rng, 50, 150), when,
                                 community=rng.choice(OUTLETS)))
    return docs


def build(path: Path, docs: list[Document]) -> None:
    from miner.collect.store import save_documents

    with Warehouse.open(path) as wh:
        for i in range(0, len(docs), 20_000):
            with wh.transaction():
                save_documents(wh, docs[i:i + 20_000], "run_bench")


def child(path: str, what: str) -> None:
    """Runs in a child process: one measured step, printed as JSON."""
    from miner.process.clean import clean_pending
    from miner.process.dedup import dedup_semantic, dedup_text

    t0 = time.perf_counter()
    out: dict = {}
    with Warehouse.open(path) as wh:
        if what == "text":
            t = time.perf_counter()
            out["cleaned"] = clean_pending(wh).cleaned
            out["clean_s"] = time.perf_counter() - t
            t = time.perf_counter()
            r = dedup_text(wh)
            out.update(dedup_s=time.perf_counter() - t, compared=r.compared, links=r.links_added, groups=r.groups)
        else:
            t = time.perf_counter()
            r = dedup_semantic(wh, "bench-random")
            out.update(semantic_s=time.perf_counter() - t, compared=r.compared, links=r.links_added)
    out["total_s"] = time.perf_counter() - t0
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(path: Path, what: str) -> dict:
    res = subprocess.run([sys.executable, __file__, "--child", str(path), what], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    if res.returncode:
        sys.exit(res.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def random_vectors(path: Path) -> int:
    import numpy as np
    import pyarrow as pa

    with Warehouse.open(path) as wh:
        rows = wh.rows("SELECT c.text_hash FROM clean_texts c JOIN documents d USING (doc_id) "
                       "WHERE d.kind IN ('article', 'submission') AND c.state = 'ok' GROUP BY c.text_hash")
        rng = np.random.default_rng(1)
        v = rng.normal(size=(len(rows), 384)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        wh.insert("embeddings", pa.table({
            "model_id": ["bench-random"] * len(rows), "text_hash": [r[0] for r in rows],
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), 384),
            "n_tokens": [0] * len(rows), "n_chunks": [1] * len(rows), "created_at": [datetime.now()] * len(rows)}))
    return len(rows)


def scale(n: int) -> None:
    print(f"== Scale: {n:,} generated documents")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.duckdb"
        t = time.perf_counter()
        docs = generate(n + 1000)
        build(path, docs[:n])
        print(f"generated and loaded in {time.perf_counter() - t:.1f} s")
        first = measure(path, "text")
        print(f"first run: clean {first['clean_s']:.1f} s, text dedup {first['dedup_s']:.1f} s "
              f"({first['compared']:,} documents compared, {first['links']:,} links, {first['groups']:,} groups), "
              f"peak memory {first['peak_rss_mb']:.0f} MB")
        build(path, docs[n:])
        more = measure(path, "text")
        print(f"+1,000 new documents: clean {more['clean_s']:.2f} s, text dedup {more['dedup_s']:.1f} s "
              f"({more['compared']:,} compared, {more['links']:,} new links), peak memory {more['peak_rss_mb']:.0f} MB")
        again = measure(path, "text")
        print(f"rerun, nothing new: clean {again['clean_s']:.2f} s, text dedup {again['dedup_s']:.2f} s "
              f"({again['compared']} compared)")
        nvec = random_vectors(path)
        sem = measure(path, "semantic")
        print(f"semantic step over {nvec:,} random vectors (articles, posts): {sem['semantic_s']:.1f} s, "
              f"peak memory {sem['peak_rss_mb']:.0f} MB")


def pairs_of(groups: dict[str, list[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for g in groups.values() for p in itertools.combinations(sorted(g), 2)}


def truth_figures() -> None:
    from miner.pipeline import process
    from miner.replay.load import load_corpus_into
    from miner.replay.truth import load_truth

    print("== Ground truth: the whole replay corpus (real model)")
    truth = load_truth()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.duckdb"
        with Warehouse.open(path) as wh:
            n = load_corpus_into(wh)
        t = time.perf_counter()
        results = process(path)
        print(f"{n:,} documents processed in {time.perf_counter() - t:.1f} s: " +
              "; ".join(f"{r.stage} {r.seconds:.1f} s" for r in results))
        with Warehouse.open(path, read_only=True) as wh:
            groups: dict[str, list[str]] = {}
            for d, c in wh.rows("SELECT doc_id, canonical_id FROM dup_members"):
                groups.setdefault(c, []).append(d)
            links = {frozenset((a, b)): m for a, b, m in wh.rows("SELECT doc_a, doc_b, method FROM dup_links")}
    pred, expected = pairs_of(groups), truth.duplicate_pairs()
    hit = pred & expected
    print(f"duplicate pairs: predicted {len(pred)}, true {len(expected)}, found {len(hit)}: "
          f"precision {len(hit) / len(pred):.3f}, recall {len(hit) / len(expected):.3f}")
    by_kind = truth.pair_recall_by_kind(pred)
    print("recall by kind: " + ", ".join(f"{k} {f}/{t}" for k, (f, t) in sorted(by_kind.items())))
    by_method = Counter((links.get(p, "transitive"), p in expected) for p in pred)
    print("predicted pairs by method (true/false): " + ", ".join(
        f"{m} {by_method[(m, True)]}/{by_method[(m, False)]}"
        for m in ("crosspost", "same_text", "near_text", "semantic", "transitive")))


def sweep() -> None:
    from miner.process.clean import clean_document
    from miner.process.dedup import MIN_WORDS, jaccard, shingles, words
    from miner.collect.pseudonyms import Pseudonymizer
    from miner.replay.corpus import load_corpus
    from miner.replay.load import corpus_documents
    from miner.replay.truth import load_truth

    print("== Sweep: near-duplicate text on the replay corpus (posts and articles of 20+ words, identical texts excluded)")
    truth = load_truth().duplicate_pairs()
    docs = {}
    for d in corpus_documents(load_corpus(), Pseudonymizer(b"sweep")):
        if d.kind != "comment":
            tokens = words(clean_document(d.title, d.body, source=d.source, state=d.state).text)
            if len(tokens) >= MIN_WORDS:
                docs[d.doc_id] = tokens
    thresholds = (0.6, 0.7, 0.8, 0.9)
    print("shingle words | " + " | ".join(f"J>={t}: true/false" for t in thresholds))
    for k in (2, 3, 4, 5, 6):
        sh = {d: shingles(t, k) for d, t in docs.items()}
        count = Counter()
        for a, b in itertools.combinations(docs, 2):
            if docs[a] == docs[b]:
                continue
            j = jaccard(sh[a], sh[b])
            for t in thresholds:
                if j >= t:
                    count[(t, frozenset((a, b)) in truth)] += 1
        print(f"{k:>13} | " + " | ".join(f"{count[(t, True)]:>5}/{count[(t, False)]:<5}" for t in thresholds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-truth", action="store_true")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    if not args.skip_scale:
        scale(args.n)
    if not args.skip_truth:
        truth_figures()
    if not args.skip_sweep:
        sweep()


if __name__ == "__main__":
    main()
