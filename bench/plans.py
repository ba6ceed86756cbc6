"""Recall and cost of search plans on the replay corpus's ground truth, side by side.

    PYTHONPATH=$PWD .venv/bin/python bench/plans.py [PLAN ...]

For each plan (default: queries/paper.toml and queries/broad.toml): distinct incidents found
(recall over the corpus's 80), hits ((query, document) pairs, the paper's measure), reads
(distinct documents, what an annotator reads) and reads per incident found. Then the same
after applying ``miner plan suggest`` once, measured honestly: two folds split by incident,
suggestions learned with one fold's incidents removed from the corpus entirely and
evaluated on that fold's incidents only (the "held-out" column adds both folds up), next
to the in-sample figure (learned and measured on all 80, which flatters it).

If /work/shared/data/reddit_dev_stream is present, also the cost of each plan on that real,
unlabelled stream of r/ChatGPT, r/OpenAI... posts (reads only: it has no labels).
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from miner.plan.plan import Plan, load_plan  # noqa: E402
from miner.replay.load import replay_corpus  # noqa: E402
from miner.replay.truth import load_truth  # noqa: E402
from miner.tuning.evaluate import EvalCorpus, Labels, dump_corpus, evaluate  # noqa: E402
from miner.tuning.suggest import apply_fragment, suggest  # noqa: E402

DEV_STREAM = ROOT.parent / "shared" / "data" / "reddit_dev_stream" / "chatgpt_search_2023.ndjson"


def truth_labels(corpus: EvalCorpus) -> Labels:
    truth = load_truth()
    decisions = {d.doc_id: "not" for d in corpus.docs}
    incident_of = {}
    for doc_id, lab in truth.labels.items():
        decisions[doc_id] = lab.label
        if lab.incident:
            incident_of[doc_id] = lab.incident
    return Labels(decisions, incident_of, "replay ground truth")


def fold(incident: str) -> int:
    return int(hashlib.sha1(incident.encode()).hexdigest(), 16) % 2


def held_out(plan: Plan, corpus: EvalCorpus, labels: Labels) -> tuple[int, int, int, list[int], list[int]]:
    """Two folds: learn without fold k's incidents, count fold k's incidents found."""
    base_found = after_found = total = 0
    reads, queries = [], []
    for k in (0, 1):
        test = {d for d in labels.positives if fold(labels.incident(d)) == k}
        train_corpus = corpus.subset([d.doc_id for d in corpus.docs if d.doc_id not in test], "train")
        train_labels = labels.subset(train_corpus.by_id)
        result = suggest(plan, train_corpus, train_labels)
        widened = apply_fragment(plan, result.fragment())
        test_labels = labels.subset([d for d in labels.decisions if d in test or labels.decisions[d] != "incident"])
        before, after = evaluate(plan, corpus, test_labels), evaluate(widened, corpus, test_labels)
        base_found += before.found
        after_found += after.found
        total += before.incidents
        reads.append(after.reads)
        queries.append(len(result.suggestions))
    return base_found, after_found, total, reads, queries


def main(paths: list[str]) -> None:
    t0 = time.perf_counter()
    corpus = replay_corpus()
    labels = truth_labels(corpus)
    print(f"replay corpus: {len(corpus.docs)} documents, "
          f"{len({labels.incident(d) for d in labels.positives})} distinct incidents "
          f"({len(labels.positives)} incident documents)\n")
    header = f"{'plan':<27}{'queries':>8}{'recall':>9}{'found':>7}{'hits':>7}{'reads':>7}{'reads/inc':>10}"
    print(header)
    print("-" * len(header))
    plans = [load_plan(ROOT / p if not Path(p).is_absolute() else p) for p in paths]
    rows = []
    for plan in plans:
        ev = evaluate(plan, corpus, labels)
        rows.append((plan, ev))
        print(f"{plan.name:<27}{len(ev.queries):>8}{ev.recall:>9.3f}{ev.found:>7}{ev.hits:>7}{ev.reads:>7}"
              f"{ev.reads_per_incident or 0:>10.1f}")
    for plan, ev in rows:
        r = suggest(plan, corpus, labels)
        after = evaluate(apply_fragment(plan, r.fragment()), corpus, labels)
        name = f"{plan.name}+suggest"
        print(f"{name + ' (in-sample)':<27}{len(after.queries):>8}{after.recall:>9.3f}{after.found:>7}"
              f"{after.hits:>7}{after.reads:>7}{after.reads_per_incident or 0:>10.1f}")
    truth = load_truth()
    implied = {lab.incident for lab in truth.labels.values() if lab.incident and lab.implied}
    for plan, ev in rows:
        missed = [m for m in ev.missed if m.reason != "not in the corpus"]
        out = sum(m.reason == "out of scope" for m in missed)
        print(f"  {plan.name} misses {len(missed)}: {out} out of its scopes, {len(missed) - out} in scope; "
              f"{sum(m.incident in implied for m in missed)} of them told without refusal words (implied)")
    print()
    print("suggest once, held out (2 folds by incident; recall over each fold's own incidents, summed):")
    for plan, ev in rows:
        base, after, total, reads, queries = held_out(plan, corpus, labels)
        print(f"  {plan.name:<8} recall {base / total:.3f} -> {after / total:.3f} "
              f"({base} -> {after} of {total} incidents), reads {ev.reads} -> {min(reads)}..{max(reads)}, "
              f"{queries[0]}+{queries[1]} suggested queries")
    if DEV_STREAM.exists():
        stream = dump_corpus([DEV_STREAM])
        none = Labels({}, {}, "none")
        print(f"\nreal data, unlabelled ({DEV_STREAM.name}: {len(stream.docs)} posts searched for 'chatgpt' in "
              "r/ChatGPT, r/OpenAI, r/technology...): documents each plan would bring to read")
        for plan in plans:
            ev = evaluate(plan, stream, none)
            top = sorted(ev.queries, key=lambda q: -q.hits)[:3]
            print(f"  {plan.name:<8} reads {ev.reads:>5}  hits {ev.hits:>5}  busiest: "
                  + "; ".join(f"{q.query.rendered[:50]} in r/{q.query.scope[:30]} ({q.hits})" for q in top if q.hits))
    else:
        print(f"\n({DEV_STREAM} not present: real-data cost skipped)")
    print(f"\n{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:] or ["queries/paper.toml", "queries/broad.toml"])
