"""Fit the cold-start weights (miner/triage/cold_weights.json) on the tune split of the real
development set, and show by cross-validation on that split what they are worth.

    PYTHONPATH=. .venv/bin/python bench/fit_cold.py                 # 5-fold CV on tune, for each C
    PYTHONPATH=. .venv/bin/python bench/fit_cold.py --C 0.1 --write # fit on all of tune and ship it

Every canonical document of the tune split takes part: labelled incidents are 1, everything else
0 (unsure is left out). Unlabelled documents are mostly true negatives: the random sample of the
unscreened rest held about one incident per 600 (bench/data/dev_labels.md). The holdout split is
never read here.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import devset  # noqa: E402

from miner.core.db import Warehouse  # noqa: E402
from miner.triage import score  # noqa: E402
from miner.triage.evidence import FEATURES  # noqa: E402


def canonical_labels(wh: Warehouse, labels: dict[str, devset.DevLabel]) -> dict[str, str]:
    """Decision per canonical document: incident if any member is one, else unsure, else not."""
    rank = {None: -1, "not": 0, "unsure": 1, "incident": 2}
    out: dict[str, str] = {}
    for d, c in wh.rows("SELECT doc_id, canonical_id FROM v_document_groups"):
        lab = labels.get(d)
        if lab and rank[lab.decision] > rank[out.get(c)]:
            out[c] = lab.decision
    return out


def dataset(path: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[str], score.Matrix]:
    labels = devset.load_labels()
    with Warehouse.open(path, read_only=True) as wh:
        m = score.load_matrix(wh, score.current_model_id())
        decided = canonical_labels(wh, labels)
    keep = [i for i, d in enumerate(m.doc_ids) if devset.split_of(d) == split and decided.get(d) != "unsure"]
    X = score.cold_inputs(m)[keep]
    y = np.array([int(decided.get(m.doc_ids[i]) == "incident") for i in keep])
    return X, y, [m.doc_ids[i] for i in keep], m


def fit(X: np.ndarray, y: np.ndarray, C: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=0).fit(X, y)


def recall_at(scores: np.ndarray, y: np.ndarray, fracs=(0.01, 0.05, 0.10)) -> list[int]:
    order = np.argsort(-scores, kind="stable")
    return [int(y[order[:max(1, round(len(y) * f))]].sum()) for f in fracs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--warehouse", type=Path, default=devset.WAREHOUSE)
    ap.add_argument("--C", type=float, nargs="*", default=[1.0, 0.3, 3.0])
    ap.add_argument("--write", action="store_true", help="fit on the whole tune split with the first C and ship it")
    args = ap.parse_args()
    if not args.warehouse.exists():
        sys.exit(f"{args.warehouse}: run bench/devset.py --prepare first")
    X, y, ids, m = dataset(args.warehouse, "tune")
    print(f"tune: {len(y)} documents, {int(y.sum())} incidents, {X.shape[1]} inputs")
    from sklearn.model_selection import StratifiedKFold

    for C in args.C:
        oof = np.zeros(len(y))
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y):
            oof[te] = fit(X[tr], y[tr], C).decision_function(X[te])
        r1, r5, r10 = recall_at(oof, y)
        print(f"C={C:<6} 5-fold CV on tune: {r1}/{r5}/{r10} of {int(y.sum())} in the first 1/5/10%")
    if args.write:
        C = args.C[0]
        clf = fit(X, y, C)
        w = clf.coef_[0]
        nf, ni, nl = len(FEATURES), len(score.INCIDENT_DESCRIPTIONS), len(score.LOOKALIKE_DESCRIPTIONS)
        r6 = lambda v: [round(float(x), 6) for x in v]  # noqa: E731
        weights = score.ColdWeights(
            bias=round(float(clf.intercept_[0]), 6),
            features=dict(zip(FEATURES, r6(w[:nf]))),
            incident=r6(w[nf:nf + ni]), lookalike=r6(w[nf + ni:nf + ni + nl]), embedding=r6(w[nf + ni + nl:]),
            model_id=m.model_id, digest=score.descriptions_digest(),
            fitted_on=f"bench/fit_cold.py --C {C} --write: tune split, {len(y)} documents, {int(y.sum())} incidents")
        score.WEIGHTS_FILE.write_text(json.dumps(asdict(weights)) + "\n", encoding="utf-8")
        top = sorted(weights.features.items(), key=lambda kv: -abs(kv[1]))[:8]
        print(f"wrote {score.WEIGHTS_FILE}; largest feature weights: " + ", ".join(f"{k} {v:+.2f}" for k, v in top))


if __name__ == "__main__":
    main()
