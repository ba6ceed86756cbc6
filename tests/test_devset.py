"""The real development set's labels (bench/data/dev_labels.jsonl) are what the real-text
figures in the README rest on: they must hold ids and codebook codes only (never a word of the
text), keep each document in its fixed split, and cover what issue 16 asked of the screen."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from miner.triage.codebook import BUILTIN_PRODUCTS, CONTEXTS, DECISIONS, FORMS, REASONS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import devset  # noqa: E402

KEYS = {"doc_id", "set", "split", "sampled_by", "decision", "product", "support_context", "refusal_form",
        "first_hand", "confidence", "reason", "annotators", "status"}


def rows() -> list[dict]:
    return [json.loads(line) for line in devset.LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_labels_hold_ids_and_codes_only():
    products = set(BUILTIN_PRODUCTS) | {"other", "none"}
    for r in rows():
        assert set(r) <= KEYS, (r["doc_id"], set(r) - KEYS)
        assert re.fullmatch(r"reddit:t[13]_[0-9a-z]+", r["doc_id"]), r["doc_id"]
        assert r["decision"] in DECISIONS
        assert r["reason"] in (*REASONS, "", None), r
        assert r["product"] in products, r
        assert r["support_context"] in (*CONTEXTS, "none", None), r
        assert r["refusal_form"] in (*FORMS, "none", None), r
        assert r["confidence"] in ("high", "low") and isinstance(r["first_hand"], bool)
        assert set(r["sampled_by"]) <= {"keyword", "random", "cold_top1000", "model_screen"}


def test_every_document_keeps_its_fixed_split():
    labels = rows()
    assert all(r["split"] == devset.split_of(r["doc_id"]) for r in labels)
    assert {r["split"] for r in labels} == {"tune", "holdout"}


def test_the_screen_covers_what_recall_estimates_need():
    labels = rows()
    assert len({r["doc_id"] for r in labels}) == len(labels)
    random = [r for r in labels if "random" in r["sampled_by"]]
    assert len(random) >= 500  # the sample of the unscreened rest that estimates missed incidents
    for split in ("tune", "holdout"):
        assert sum(r["decision"] == "incident" and r["split"] == split and r["set"] == "dev_more" for r in labels) >= 20
