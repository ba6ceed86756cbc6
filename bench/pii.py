"""Precision and recall of PII detection (miner.incidents.pii.detect) on the replay corpus's planted PII.

    cd /work/wt-8 && PYTHONPATH=$PWD HF_HUB_OFFLINE=1 /work/main/.venv/bin/python bench/pii.py [--all]

Runs the detector over the text of every corpus item that carries planted PII (``--all``:
every item, so false positives in PII-free text count too) as the corpus serves it (before
harvest masks ``u/`` handles, so the handle recognizer is measured on raw handles).

Recall per planted type: a planted span counts as found when a detected entity of the
matching type overlaps it ("any type" column: of any type, which is what matters for
leaks, since every detected span is replaced). Precision per detected type: the share of
detections that overlap a planted span. The corpus does not mark every name (a surname
repeated later in a news story, a companion's name), so precision is a lower bound.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict

from miner.incidents import pii
from miner.replay.corpus import field_texts, load_corpus
from miner.replay.truth import load_truth

TYPE_OF = {"name": pii.PERSON, "city": pii.PLACE, "age": pii.AGE, "date": pii.DATE, "employer": pii.EMPLOYER,
           "school": pii.SCHOOL, "handle": pii.USER, "email": pii.EMAIL, "phone": pii.PHONE, "url": pii.URL}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--all", action="store_true", help="every corpus item, not only those with planted PII")
    args = ap.parse_args()
    corpus = load_corpus()
    truth = load_truth(corpus)
    planted = defaultdict(list)
    for p in truth.pii:
        planted[(p.doc_id, p.field)].append(p)
    fields = field_texts(corpus)
    keys = list(fields) if args.all else sorted(planted)
    t0 = time.perf_counter()
    pii.analyzer()
    load = time.perf_counter() - t0
    found, found_any, total = Counter(), Counter(), Counter()
    detected, correct = Counter(), Counter()
    missed = defaultdict(list)
    t0 = time.perf_counter()
    chars = 0
    for key in keys:
        text = fields[key]
        chars += len(text)
        ents = pii.detect(text)
        spans = planted.get(key, [])
        for p in spans:
            total[p.type] += 1
            hit = [e for e in ents if e.start < p.end and p.start < e.end]
            found_any[p.type] += bool(hit)
            if any(e.type == TYPE_OF[p.type] for e in hit):
                found[p.type] += 1
            if not hit:
                missed[p.type].append(p.text)
        for e in ents:
            detected[e.type] += 1
            correct[e.type] += any(e.start < p.end and p.start < e.end for p in spans)
    secs = time.perf_counter() - t0
    print(f"items: {len(keys)} fields, {chars:,} characters; analyzer load {load:.1f} s, "
          f"detection {secs:.1f} s ({chars / secs / 1000:.0f} k chars/s)")
    print(f"{'planted type':<14}{'n':>5}{'recall':>9}{'any type':>10}   {'detected type':<14}{'n':>5}{'precision':>10}")
    rows_l = [(t, total[t], found[t] / total[t], found_any[t] / total[t]) for t in sorted(total)]
    rows_r = [(t, detected[t], correct[t] / detected[t]) for t in sorted(detected)]
    for i in range(max(len(rows_l), len(rows_r))):
        left = "{:<14}{:>5}{:>9.2f}{:>10.2f}".format(*rows_l[i]) if i < len(rows_l) else " " * 38
        right = "   {:<14}{:>5}{:>10.2f}".format(*rows_r[i]) if i < len(rows_r) else ""
        print(left + right)
    n, f, fa = sum(total.values()), sum(found.values()), sum(found_any.values())
    d, c = sum(detected.values()), sum(correct.values())
    print(f"{'all':<14}{n:>5}{f / n:>9.2f}{fa / n:>10.2f}   {'all':<14}{d:>5}{c / d:>10.2f}")
    for t, xs in sorted(missed.items()):
        print(f"missed {t}: {', '.join(repr(x) for x in xs[:12])}")


if __name__ == "__main__":
    main()
