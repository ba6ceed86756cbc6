"""Precision and recall of PII detection (miner.incidents.pii.detect) on the replay corpus's planted
PII, and of the whole anonymizer with its leak gate on an adversarial set.

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 MINER_SECRET=dev-secret .venv/bin/python bench/pii.py [--all]

Runs the detector over the text of every corpus item that carries planted PII (``--all``:
every item, so false positives in PII-free text count too) as the corpus serves it (before
harvest masks ``u/`` handles, so the handle recognizer is measured on raw handles).

Recall per planted type: a planted span counts as found when a detected entity of the
matching type overlaps it ("any type" column: of any type, which is what matters for
leaks, since every detected span is replaced). Precision per detected type: the share of
detections that overlap a planted span. The corpus does not mark every name (a surname
repeated later in a news story, a companion's name), so precision is a lower bound; the
"with repeats" figure also counts a detection that repeats a planted string or a planted
name's word elsewhere in the same text (the corpus marks a person once, not every mention);
"reviewed" also counts the unmarked detections reviewed by hand as personal information
(``bench/data/pii_reviewed.toml``: quoted experts, towns, exact dates the corpus leaves
unmarked; companions, outlets and words stay false positives).

The adversarial set (``bench/data/pii_adversarial.toml``, synthetic) is what issue 19 found
leaking: for each case an incident is made the way ``miner incident`` makes one (the source
anonymized first with the incident's pseudonym map, its author known by hash), then the
annotator's narrative, which spells every identifier the ways people dodge filters (bare
usernames in any case, full names in lower case, "jon dot p at example dot com",
"0 1 6 1 ...") and marks each one. Recall: marked spans replaced; precision: replaced spans
that are marked (everything personal is marked there, so this one is exact); "left": leaks
the gate still finds in the stored narrative.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict

import tomllib
from pathlib import Path

from miner.collect.pseudonyms import Pseudonymizer
from miner.incidents import leaks, pii
from miner.incidents.anonymize import Pseudonyms, anonymize
from miner.replay.corpus import PiiSpan, field_texts, load_corpus, strip_pii
from miner.replay.truth import load_truth

ADVERSARIAL = Path(__file__).parent / "data" / "pii_adversarial.toml"
REVIEWED = Path(__file__).parent / "data" / "pii_reviewed.toml"

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
    detected, correct, repeats, reviewed = Counter(), Counter(), 0, 0
    personal = set(tomllib.loads(REVIEWED.read_text(encoding="utf-8"))["personal"])
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
        texts = {p.text.lower() for p in spans} | {w.lower() for p in spans if p.type == "name"
                                                      for w in p.text.split() if len(w) > 2}
        for e in ents:
            detected[e.type] += 1
            hit = any(e.start < p.end and p.start < e.end for p in spans)
            correct[e.type] += hit
            repeat = not hit and (e.text.lower() in texts or any(w.lower() in texts for w in e.text.split()))
            repeats += repeat
            reviewed += not hit and not repeat and f"{e.type}:{e.text}" in personal
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
    print(f"{'':<38}   {'with repeats':<14}{d:>5}{(c + repeats) / d:>10.2f}")
    print(f"{'':<38}   {'reviewed':<14}{d:>5}{(c + repeats + reviewed) / d:>10.2f}")
    for t, xs in sorted(missed.items()):
        print(f"missed {t}: {', '.join(repr(x) for x in xs[:12])}")
    adversarial()


def adversarial(path: Path = ADVERSARIAL) -> tuple[float, float, int]:
    """Recall, precision and leaks left on the adversarial set; prints a table and the misses."""
    keyer = Pseudonymizer(b"bench-key")
    total, found, replaced, right, left = Counter(), Counter(), 0, 0, 0
    detector_only = 0
    missed, wrong = [], []
    for i, case in enumerate(tomllib.loads(path.read_text(encoding="utf-8"))["case"]):
        people = [case["author"], *case.get("commenters", [])]
        p = Pseudonyms(keyer=keyer, authors=frozenset(keyer.author(u) for u in people),
                       source_words=leaks.lower_words([case["source"]]))
        anonymize(keyer.mask_handles(case["source"]), p)  # the draft: fills the incident's map
        spans: list[PiiSpan] = []
        text = strip_pii(case["narrative"], f"adv-{i}", "narrative", spans)
        result = anonymize(text, p)
        plain = pii.detect(text)
        for sp in spans:
            total[sp.type] += 1
            hit = any(e.start < sp.end and sp.start < e.end for e in result.entities)
            found[sp.type] += hit
            detector_only += any(e.start < sp.end and sp.start < e.end for e in plain)
            if not hit:
                missed.append(f"{sp.type}:{sp.text!r}")
        for e in result.entities:
            replaced += 1
            ok = any(e.start < sp.end and sp.start < e.end for sp in spans)
            right += ok
            if not ok:
                wrong.append(f"{e.type}:{e.text!r}")
        left += len(leaks.scan(result.text, p.known()))
    n, f = sum(total.values()), sum(found.values())
    recall, precision = f / n, right / max(replaced, 1)
    print(f"\nadversarial set ({path.name}): {n} planted identifiers in narratives")
    print(f"{'planted type':<14}{'n':>5}{'recall':>9}")
    for t in sorted(total):
        print(f"{t:<14}{total[t]:>5}{found[t] / total[t]:>9.2f}")
    print(f"{'all':<14}{n:>5}{recall:>9.2f}   precision {precision:.2f} ({right}/{replaced} replaced spans planted); "
          f"detector alone recall {detector_only / n:.2f}; leaks left after anonymizing: {left}")
    if missed:
        print(f"missed: {', '.join(missed)}")
    if wrong:
        print(f"replaced but not planted: {', '.join(wrong)}")
    return recall, precision, left


if __name__ == "__main__":
    main()
