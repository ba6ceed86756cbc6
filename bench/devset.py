"""The real development set: where its text lives, how it is split, and its labels.

The text is ``../shared/data/reddit_dev_more`` (19,086 real Reddit documents, never copied into
the repository); the labels are ``bench/data/dev_labels.jsonl`` (ids and codebook codes only,
see ``bench/data/dev_labels.md``). Every document has a fixed split, ``tune`` or ``holdout``,
from a hash of its id, so that the split does not depend on which documents were labelled:
weights and hyperparameters are chosen on ``tune``; ``holdout`` is read only to report.

    PYTHONPATH=. .venv/bin/python bench/devset.py            # counts by split and decision
    PYTHONPATH=. .venv/bin/python bench/devset.py --prepare  # import + process into bench/out/dev_more.duckdb

Used by bench/triage.py --real and bench/fit_cold.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("MINER_SECRET", "bench-secret")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "bench" / "data" / "dev_labels.jsonl"
PLAN = ROOT / "bench" / "data" / "dev_plan.toml"
WAREHOUSE = ROOT / "bench" / "out" / "dev_more.duckdb"


def shared_data() -> Path:
    """``$MINER_SHARED_DATA``, or the first ``shared/data`` beside the checkout or a parent of it."""
    if os.environ.get("MINER_SHARED_DATA"):
        return Path(os.environ["MINER_SHARED_DATA"])
    for parent in ROOT.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return ROOT.parent / "shared" / "data"


def dev_more() -> Path:
    return shared_data() / "reddit_dev_more"


def split_of(doc_id: str) -> str:
    """``holdout`` for about half of all ids, fixed forever (a hash, not the labels)."""
    return "holdout" if int(hashlib.sha1(f"dev-split:{doc_id}".encode()).hexdigest()[:8], 16) % 2 else "tune"


@dataclass(frozen=True)
class DevLabel:
    doc_id: str
    set: str  # dev_more | dev_stream
    split: str
    sampled_by: tuple[str, ...]
    decision: str  # incident | unsure | not
    product: str | None = None
    support_context: str | None = None
    refusal_form: str | None = None


def load_labels(path: Path = LABELS) -> dict[str, DevLabel]:
    out: dict[str, DevLabel] = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                out[r["doc_id"]] = DevLabel(r["doc_id"], r["set"], r["split"], tuple(r["sampled_by"]), r["decision"],
                                            r.get("product"), r.get("support_context"), r.get("refusal_form"))
            except (ValueError, KeyError) as e:
                sys.exit(f"{path}:{n}: not a label line ({e})")
    return out


def incidents(labels: dict[str, DevLabel], split: str | None = None, set_: str = "dev_more") -> set[str]:
    return {d for d, lab in labels.items() if lab.decision == "incident" and lab.set == set_
            and (split is None or lab.split == split)}


def prepare(path: Path = WAREHOUSE, *, stages: list[str] | None = None, quiet: bool = False) -> Path:
    """Import every document of reddit_dev_more into ``path`` (the dev plan keeps every subreddit
    of the set in scope) and process it. Resumable and idempotent, like the commands it calls:
    embedding 19k documents takes about 16 minutes on 2 cores the first time, nothing after."""
    from miner.collect.archive import backfill
    from miner.pipeline import process
    from miner.plan.plan import load_plan

    if not dev_more().is_dir():
        sys.exit(f"{dev_more()}: not here (set MINER_SHARED_DATA to the folder holding reddit_dev_more)")
    path.parent.mkdir(parents=True, exist_ok=True)
    backfill(path, load_plan(PLAN), [dev_more()], keep_all=True)
    for r in process(path, stages=stages):
        if not quiet:
            print(f"  {r.stage:15s} {r.seconds:6.1f} s  {r.describe()}", file=sys.stderr)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prepare", action="store_true", help=f"import and process into {WAREHOUSE.relative_to(ROOT)}")
    args = ap.parse_args()
    if args.prepare:
        print(prepare())
    labels = load_labels()
    counts = Counter((lab.set, lab.split, lab.decision) for lab in labels.values())
    for (set_, split, decision), n in sorted(counts.items()):
        print(f"{set_:11s} {split:8s} {decision:9s} {n:6d}")


if __name__ == "__main__":
    main()
