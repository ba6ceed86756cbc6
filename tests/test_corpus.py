"""The replay corpus is a fair test bed: big enough, varied, labelled, and kept apart."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from miner.replay.truth import load_truth

ROOT = Path(__file__).resolve().parent.parent


def test_corpus_size_and_incident_variety(corpus):
    truth = load_truth(corpus)
    assert sum(corpus.count().values()) >= 1500
    incidents = [lab for lab in truth.labels.values() if lab.label == "incident"]
    assert len({lab.incident for lab in incidents}) >= 60
    assert len({lab.product for lab in incidents}) >= 8
    assert {lab.context for lab in incidents} == {"psychotherapy", "companionship", "coaching",
                                                  "interpersonal_advice", "crisis"}
    assert {f for lab in incidents for f in lab.form} == {"hard_refusal", "soft_redirect", "resource_referral",
                                                          "content_flag", "persona_change", "stopped_responding"}
    assert len({lab.incident for lab in incidents if truth.kinds[lab.doc_id] == "comment"}) >= 5
    assert len({lab.incident for lab in incidents if lab.implied}) >= 5


def test_hard_negatives_duplicates_deletions_and_pii_are_present(corpus):
    truth = load_truth(corpus)
    reasons = Counter(lab.reason for lab in truth.labels.values() if lab.label == "not")
    for reason in ("human_refusal", "ai_refusal_outside_support", "not_first_hand", "off_topic", "no_refusal"):
        assert reasons[reason] >= 5, reason
    traps = {lab.trap for lab in truth.labels.values() if lab.trap}
    assert {"therapist", "crisis_line", "insurer", "medication"} <= traps
    kinds = Counter(k for g in truth.dup_groups for k in g.kinds)
    assert kinds["crosspost"] and kinds["repost"] and kinds["syndication"]
    states = Counter(s.state for s in corpus.submissions) + Counter(c.state for c, _ in corpus.comments())
    assert states["deleted"] and states["removed"]
    assert {"name", "email", "phone", "city", "handle"} <= {p.type for p in truth.pii}
    assert any(a.state == "removed" for a in corpus.articles)


def test_planted_pii_offsets_point_at_the_text(corpus):
    for span in corpus.pii:
        item = corpus.by_key[span.item_key]
        text = {"title": getattr(item, "title", ""), "description": getattr(item, "description", ""),
                "body": getattr(item, "selftext", None) or getattr(item, "body", "")}[span.field]
        if getattr(item, "crosspost_of", None):
            continue  # a crosspost shows the original's title
        assert text[span.start:span.end] == span.text, span


def test_the_pipeline_never_reads_the_ground_truth():
    """Only tests, benches, the replay package and its own command (`miner replay labels` prints
    the truth on purpose) may import the truth or the corpus files."""
    offenders = []
    replay_cli = ROOT / "miner" / "cli" / "replay.py"
    for path in list((ROOT / "miner").rglob("*.py")) + list((ROOT / "flows").rglob("*.py")):
        if "replay" in path.parts or path == replay_cli:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("miner.replay.truth")]
        assert "replay/truth" not in path.read_text(), path
    assert not offenders, offenders


def test_the_corpus_is_the_same_every_time(corpus):
    from miner.replay.corpus import load_corpus
    other = load_corpus.__wrapped__()
    assert [s.id36 for s in other.submissions] == [s.id36 for s in corpus.submissions]
    assert [s.selftext for s in other.submissions] == [s.selftext for s in corpus.submissions]
