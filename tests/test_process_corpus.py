"""Every post-harvest stage on the whole replay corpus, measured against its ground truth.

Why the whole corpus and not a harvest of it: the paper's plan reaches only a few of the
corpus's duplicate groups (no crosspost original, for instance: those live in r/ClaudeAI),
so the corpus is loaded as the harvest would store it (same wire objects, same
normalization) and processed with the real model.
"""

from __future__ import annotations

import itertools

import pytest

from miner.core.db import Warehouse
from miner.pipeline import process
from miner.replay.load import load_corpus_into
from miner.replay.truth import load_truth

pytestmark = pytest.mark.slow

MIN_PRECISION = 0.85  # measured 0.93: the misses are look-alike templates by different people and
MIN_RECALL = 0.85  # an op-ed and the letters answering it; measured 0.96 (the misses: heavy rewrites)
MIN_RECALL_BY_KIND = {"crosspost": 1.0, "repost": 0.8, "syndication": 0.8, "same_text": 0.9}


@pytest.fixture(scope="module")
def processed(tmp_path_factory, corpus):
    path = tmp_path_factory.mktemp("corpus") / "warehouse.duckdb"
    with Warehouse.open(path) as wh:
        load_corpus_into(wh, corpus)
    results = process(path)
    return path, {r.stage: r for r in results}


def predicted_pairs(wh: Warehouse) -> set[frozenset[str]]:
    groups: dict[str, list[str]] = {}
    for d, c in wh.rows("SELECT doc_id, canonical_id FROM dup_members"):
        groups.setdefault(c, []).append(d)
    return {frozenset(p) for g in groups.values() for p in itertools.combinations(g, 2)}


def test_duplicate_pairs_match_the_ground_truth(processed):
    path, _ = processed
    truth = load_truth()
    with Warehouse.open(path, read_only=True) as wh:
        pred = predicted_pairs(wh)
    expected = truth.duplicate_pairs()
    hits = pred & expected
    precision, recall = len(hits) / len(pred), len(hits) / len(expected)
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, (precision, recall)
    by_kind = truth.pair_recall_by_kind(pred)
    assert set(by_kind) == set(MIN_RECALL_BY_KIND)
    for kind, minimum in MIN_RECALL_BY_KIND.items():
        found, total = by_kind[kind]
        assert found / total >= minimum, (kind, found, total)


def test_the_original_is_canonical(processed, corpus):
    path, _ = processed
    with Warehouse.open(path, read_only=True) as wh:
        canonical = dict(wh.rows("SELECT doc_id, canonical_id FROM v_document_groups"))
        published = dict(wh.rows("SELECT doc_id, created_at FROM documents"))
    crossposts = [(s.doc_id, corpus.by_key[s.crosspost_of].doc_id) for s in corpus.submissions if s.crosspost_of]
    assert crossposts and all(canonical[c] == o == canonical[o] for c, o in crossposts)
    for g in load_truth().dup_groups:
        if "syndication" in g.kinds:  # the first outlet to run the story
            first = min(g.doc_ids, key=lambda d: (published[d], d))
            linked = [d for d in g.doc_ids if canonical[d] != d]
            assert canonical[first] == first and linked and all(canonical[d] == first for d in linked)


def test_later_stages_see_each_story_once_and_a_rerun_does_nothing(processed):
    path, first = processed
    assert first["embed"].counts["encoded"] > 1000
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM v_canonical_documents WHERE doc_id IN "
                         "(SELECT doc_id FROM dup_members WHERE NOT is_canonical)") == 0
        missing = wh.scalar("SELECT count(*) FROM v_canonical_documents c WHERE state = 'ok' AND NOT EXISTS "
                            "(SELECT 1 FROM v_document_vectors v WHERE v.doc_id = c.doc_id)")
        assert missing == 0  # every canonical document with text has a vector
        links = wh.rows("SELECT * FROM dup_links ORDER BY ALL")
    again = {r.stage: r.counts for r in process(path)}
    assert again["clean"]["cleaned"] == 0 and again["embed"]["encoded"] == 0
    assert again["dedup-text"]["compared"] == 0 and again["dedup-semantic"]["compared"] == 0
    with Warehouse.open(path, read_only=True) as wh:
        assert wh.rows("SELECT * FROM dup_links ORDER BY ALL") == links
