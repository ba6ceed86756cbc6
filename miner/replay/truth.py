"""Ground truth for the replay corpus: what each item really is, keyed by document id.

Read only by tests and benches (an architecture test checks that no pipeline module imports
this). Labels come from ``truth/*.toml``; duplicate groups, planted PII and text damage
come from how the corpus was built (crossposts, reposts, syndication, identical texts).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from miner.replay.corpus import TRUTH_DIR, Corpus, load_corpus
from miner.triage.codebook import Label


@dataclass(frozen=True)
class TruthLabel(Label):
    """What an item really is: the codebook's :class:`~miner.triage.codebook.Label` (its
    ``decision`` and codes), plus the truth file's own fields (format in ``corpus/FORMAT.md``)."""

    key: str = ""
    doc_id: str = ""
    incident: str | None = None  # items telling the same incident share this key
    implied: bool = False  # told without refusal words ("it gave me the hotline again")
    sensitive: tuple[str, ...] = ()
    trap: str | None = None  # what makes it look like an incident

    @property
    def label(self) -> str:
        """The decision, under the truth files' name for it (incident | not | unsure)."""
        return self.decision


@dataclass(frozen=True)
class DupGroup:
    kinds: frozenset[str]  # crosspost | repost | syndication | same_text
    doc_ids: frozenset[str]


@dataclass(frozen=True)
class PlantedPii:
    doc_id: str
    field: str
    type: str
    text: str
    start: int
    end: int


@dataclass
class GroundTruth:
    labels: dict[str, TruthLabel]
    dup_groups: list[DupGroup]
    pii: list[PlantedPii]
    damaged: dict[str, str]
    kinds: dict[str, str] = field(default_factory=dict)  # doc_id -> submission | comment | article

    @property
    def incidents(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for doc_id, lab in self.labels.items():
            if lab.label == "incident" and lab.incident:
                out.setdefault(lab.incident, []).append(doc_id)
        return out

    def is_incident(self, doc_id: str) -> bool:
        lab = self.labels.get(doc_id)
        return lab is not None and lab.label == "incident"

    def duplicate_pairs(self) -> set[frozenset[str]]:
        pairs: set[frozenset[str]] = set()
        for g in self.dup_groups:
            ids = sorted(g.doc_ids)
            for i, a in enumerate(ids):
                for b in ids[i + 1:]:
                    pairs.add(frozenset((a, b)))
        return pairs

    def pair_recall_by_kind(self, predicted: set[frozenset[str]]) -> dict[str, tuple[int, int]]:
        """Per kind of duplicate (crosspost, repost, syndication, same_text): (true pairs
        found in ``predicted``, true pairs). A pair counts for every kind its group has."""
        out: dict[str, tuple[int, int]] = {}
        for g in self.dup_groups:
            ids = sorted(g.doc_ids)
            pairs = [frozenset((a, b)) for i, a in enumerate(ids) for b in ids[i + 1:]]
            found = sum(p in predicted for p in pairs)
            for kind in g.kinds:
                f, t = out.get(kind, (0, 0))
                out[kind] = (f + found, t + len(pairs))
        return out


def _tuple(v) -> tuple[str, ...]:
    return tuple(v) if isinstance(v, list) else ((v,) if v else ())


@lru_cache(maxsize=2)
def load_truth(corpus: Corpus | None = None, truth_dir: Path = TRUTH_DIR) -> GroundTruth:
    corpus = corpus or load_corpus()
    labels: dict[str, TruthLabel] = {}
    for f in sorted(truth_dir.glob("*.toml")):
        for key, t in tomllib.loads(f.read_text(encoding="utf-8")).items():
            if key not in corpus.by_key:
                raise ValueError(f"{f.name}: truth for unknown item {key!r}")
            doc_id = corpus.doc_id(key)
            labels[doc_id] = TruthLabel(
                decision=t.get("label", "not"), key=key, doc_id=doc_id, incident=t.get("incident"),
                product=t.get("product"), context=t.get("context"), form=_tuple(t.get("form")),
                refusal_type=t.get("refusal_type"), phases=_tuple(t.get("phases")), outcome=t.get("outcome"),
                first_hand=t.get("first_hand"), implied=bool(t.get("implied", False)),
                sensitive=_tuple(t.get("sensitive")), reason=t.get("reason"), trap=t.get("trap"))
    kinds = {s.doc_id: "submission" for s in corpus.submissions}
    kinds.update({c.doc_id: "comment" for c, _ in corpus.comments()})
    kinds.update({a.doc_id: "article" for a in corpus.articles})
    pii = [PlantedPii(corpus.doc_id(p.item_key), p.field, p.type, p.text, p.start, p.end) for p in corpus.pii]
    damaged = {corpus.doc_id(k): v for k, v in corpus.damaged.items()}
    return GroundTruth(labels, _dup_groups(corpus), pii, damaged, kinds)


def _dup_groups(corpus: Corpus) -> list[DupGroup]:
    """Union of every "same story" relation the corpus was built with."""
    parent: dict[str, str] = {}
    kinds: dict[str, set[str]] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str, kind: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
            kinds[rb] = kinds.pop(ra, set()) | kinds.get(rb, set())
        kinds.setdefault(find(b), set()).add(kind)

    by_key = corpus.by_key
    for s in corpus.submissions:
        if s.crosspost_of in by_key:
            union(s.doc_id, by_key[s.crosspost_of].doc_id, "crosspost")
        if s.repost_of in by_key:
            union(s.doc_id, by_key[s.repost_of].doc_id, "repost")
    for a in corpus.articles:
        if a.syndicates in by_key:
            union(a.doc_id, by_key[a.syndicates].doc_id, "syndication")
    same: dict[str, str] = {}
    texts = [(s.doc_id, s.state, s.crosspost_of, f"{s.title} {s.selftext}") for s in corpus.submissions]
    # Identical articles from different outlets are syndicated copies too (the generated news
    # repeats its templates with the same names now and then).
    texts += [(a.doc_id, a.state, None, f"{a.title} {a.description} {a.body}") for a in corpus.articles]
    for doc_id, state, crosspost_of, raw in texts:
        text = " ".join(raw.lower().split())
        if state != "ok" or len(text) < 80 or crosspost_of:
            continue
        if text in same:
            union(doc_id, same[text], "same_text")
        else:
            same[text] = doc_id
    groups: dict[str, set[str]] = {}
    for x in list(parent):
        groups.setdefault(find(x), set()).add(x)
    return [DupGroup(frozenset(kinds.get(root, set())), frozenset(ids)) for root, ids in groups.items() if len(ids) > 1]
