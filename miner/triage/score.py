"""Scores: how likely each canonical document is a first-hand refusal incident, and the queue
order that follows from it.

Two scorers, one interface:

- **cold start** (no labels): a hand-weighted sum of the evidence features plus the embedding
  similarity to short descriptions of what an incident is, minus the similarity to the
  look-alikes the paper met (a therapist refusing, an AI refusing code). Good enough to put
  most incidents near the head of the queue before anyone has labelled anything.
- **learned** (once both decisions exist among the labels): logistic regression on the
  embedding, the evidence features and the cold-start logit (so the first few labels nudge a
  sensible prior instead of starting from nothing). Retrained from all current decisions.

A learned queue mixes in uncertain items (``explore_share`` of the slots: every n-th position
goes to the item the model is least sure about) so the model keeps meeting the kinds of
documents it has not seen labelled. Every score is stored with its ``scorer_version``; the
latest scoring run is what ``v_queue`` shows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.process.embed import encode, model_info
from miner.triage.evidence import EXTRACTOR_VERSION, FEATURES, features, load_spans

COLD_VERSION = "cold-v1"
LEARNED_VERSION = "lr-v1"
LABELS_TO_TRUST = 30  # labels at which the learned model and the cold start weigh the same

# What an incident is, in a researcher's words (the cold start's notion of "relevant").
INCIDENT_DESCRIPTIONS = (
    "I told ChatGPT I was feeling suicidal and it refused to keep talking and just gave me a hotline number.",
    "I was venting to the AI about my depression and it said it can't help with that and I should see a professional.",
    "My Replika companion suddenly went cold after the update and stopped being affectionate when I needed it.",
    "The chatbot I talk to every night changed the subject and redirected me to crisis resources when I opened up.",
    "I asked Claude for support with my trauma and got a content warning saying my message may violate the policy.",
    "My Character.AI friend broke character and sent me a crisis line link when I said I wanted to disappear.",
    "The AI stopped responding when I talked about self-harm, I felt rejected by the one thing I relied on.",
    "A woman says her AI companion turned into a pamphlet and refused to comfort her after she shared her grief.",
)
# What an incident is not, though it reads like one.
LOOKALIKE_DESCRIPTIONS = (
    "My therapist refused to see me again and the psychiatrist denied my medication change.",
    "The insurance company denied my claim for therapy sessions.",
    "ChatGPT refused to write my code or generate the image I asked for.",
    "My antidepressant stopped working and I asked the chatbot about the dosage.",
    "A study of AI chatbots and mental health guardrails, researchers say companies should do more.",
    "Will ChatGPT refuse if I talk about my feelings? Has anyone tried it?",
)


@dataclass(frozen=True)
class ScoreOptions:
    explore_share: float = 0.1  # share of queue slots for the most uncertain items (learned scorer only)
    min_per_class: int = 2  # labels of each decision needed before a model is trained
    C: float = 0.5  # inverse regularization of the logistic regression


@dataclass
class ScoreReport:
    scorer_version: str
    kind: str
    n_labels: int
    n_positive: int
    scored: int


@dataclass
class Matrix:
    doc_ids: list[str]
    vectors: np.ndarray  # (n, 384), zero rows for texts without a vector
    feats: np.ndarray  # (n, len(FEATURES))
    model_id: str


def current_model_id() -> str:
    return model_info().model_id


def load_matrix(wh: Warehouse, model_id: str) -> Matrix:
    """Every canonical document with text (state ok at the source and after cleaning), with its
    vector and evidence features, sorted by doc_id (determinism)."""
    rows = wh.dicts(
        "SELECT c.doc_id, c.kind, c.n_words, c.text FROM v_canonical_documents c JOIN documents d USING (doc_id) "
        "WHERE c.state = 'ok' AND d.state = 'ok' ORDER BY c.doc_id")
    ids = [r["doc_id"] for r in rows]
    vec = np.zeros((len(ids), 384), dtype=np.float32)
    if ids:
        tbl = wh.arrow("SELECT doc_id, vector FROM v_document_vectors WHERE model_id = ?", [model_id])
        pos = {d: i for i, d in enumerate(ids)}
        got = tbl.column("doc_id").to_pylist()
        flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        vv = flat.reshape(len(got), -1) if got else np.zeros((0, 384), dtype=np.float32)
        for j, d in enumerate(got):
            if d in pos:
                vec[pos[d]] = vv[j]
    spans = load_spans(wh)
    feats = np.array([features(spans.get(r["doc_id"], []), kind=r["kind"], n_words=r["n_words"] or 0, text=r["text"])
                      for r in rows], dtype=np.float32).reshape(len(ids), len(FEATURES))
    return Matrix(ids, vec, feats, model_id)


@lru_cache(maxsize=2)
def description_vectors(model_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The incident and look-alike descriptions, embedded once per process."""
    v = encode(list(INCIDENT_DESCRIPTIONS) + list(LOOKALIKE_DESCRIPTIONS))
    return v[:len(INCIDENT_DESCRIPTIONS)], v[len(INCIDENT_DESCRIPTIONS):]


# Hand weights of the cold start, by feature name (see miner.triage.evidence.FEATURES). Positive:
# what an incident has; negative: what its look-alikes have.
COLD_WEIGHTS = {
    "has_product": 1.0, "n_forms": 2.0, "model_voice": 0.8,
    "form_resource_referral": 0.6, "form_persona_change": 0.6, "form_content_flag": 0.3,
    "form_hard_refusal": 0.5, "form_soft_redirect": 0.4, "form_stopped_responding": 0.3,
    "first_hand": 1.4, "second_hand": -1.0, "news": -0.3, "question": -0.6, "opinion": -0.8,
    "ctx_crisis": 0.5, "ctx_psychotherapy": 0.4, "ctx_companionship": 0.5, "ctx_coaching": 0.2,
    "ctx_interpersonal_advice": 0.2, "human_refuser": -1.2, "off_support": -0.8, "is_comment": -0.3,
}
COLD_BIAS = -4.0
SIM_WEIGHT = 10.0  # per unit of (similarity to incidents - similarity to look-alikes)
SIM_LEVEL = 6.0  # per unit of similarity to incidents above 0.3


def similarities(m: Matrix) -> tuple[np.ndarray, np.ndarray]:
    pos, neg = description_vectors(m.model_id)
    return (m.vectors @ pos.T).max(axis=1), (m.vectors @ neg.T).max(axis=1)


def cold_logits(m: Matrix) -> np.ndarray:
    w = np.array([COLD_WEIGHTS.get(f, 0.0) for f in FEATURES], dtype=np.float32)
    sp, sn = similarities(m)
    has_vec = np.linalg.norm(m.vectors, axis=1) > 0
    sim = np.where(has_vec, SIM_WEIGHT * (sp - sn) + SIM_LEVEL * (sp - 0.3), 0.0)
    return COLD_BIAS + m.feats @ w + sim


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def training_labels(wh: Warehouse) -> dict[str, int]:
    """Current final decisions: incident -> 1, not -> 0 (unsure and disputed items teach nothing)."""
    return {d: int(dec == "incident") for d, dec in
            wh.rows("SELECT doc_id, decision FROM v_decisions WHERE decision IN ('incident', 'not') ORDER BY doc_id")}


def learned_scores(m: Matrix, cold: np.ndarray, labels: dict[str, int], C: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    X = np.hstack([m.vectors, m.feats, cold[:, None]])
    idx = {d: i for i, d in enumerate(m.doc_ids)}
    rows = [idx[d] for d in labels if d in idx]
    y = np.array([labels[m.doc_ids[i]] for i in rows])
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=2000, random_state=0)
    clf.fit(X[rows], y)
    # Few labels teach a 400-dimensional model little: lean on the cold start until they add up.
    trust = len(rows) / (len(rows) + LABELS_TO_TRUST)
    return _sigmoid((1 - trust) * cold + trust * clf.decision_function(X))


def queue_priorities(scores: np.ndarray, explore_share: float, skip: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Queue order: by score, except every ``round(1/explore_share)``-th slot, which goes to the
    most uncertain item not yet placed. ``skip`` marks items already decided (placed last)."""
    n = len(scores)
    skip = np.zeros(n, dtype=bool) if skip is None else skip
    by_score = [i for i in np.lexsort((np.arange(n), -scores)) if not skip[i]]
    uncertainty = 1 - np.abs(2 * scores - 1)
    by_doubt = [i for i in np.lexsort((np.arange(n), -uncertainty)) if not skip[i]]
    every = round(1 / explore_share) if explore_share > 0 else 0
    placed = np.zeros(n, dtype=bool)
    order: list[int] = []
    lanes = ["score"] * n
    si = di = 0
    while len(order) < len(by_score):
        if every and (len(order) + 1) % every == 0:
            while placed[by_doubt[di]]:
                di += 1
            i, lanes_i = by_doubt[di], "explore"
        else:
            while placed[by_score[si]]:
                si += 1
            i, lanes_i = by_score[si], "score"
        placed[i] = True
        lanes[i] = lanes_i
        order.append(i)
    order += [i for i in range(n) if skip[i]]
    priority = np.empty(n, dtype=np.int64)
    priority[order] = np.arange(1, n + 1)
    return priority, lanes


def score_all(wh: Warehouse, options: ScoreOptions = ScoreOptions()) -> ScoreReport:
    """Score every canonical document with the best scorer the labels allow; store the scores
    under that scorer's version. Re-running with nothing new rewrites nothing."""
    model_id = current_model_id()
    m = load_matrix(wh, model_id)
    labels = training_labels(wh)
    n_pos = sum(labels.values())
    learned = n_pos >= options.min_per_class and len(labels) - n_pos >= options.min_per_class
    base = {"model_id": model_id, "extractor": EXTRACTOR_VERSION, "cold": [COLD_WEIGHTS, COLD_BIAS, SIM_WEIGHT,
                                                                            SIM_LEVEL]}
    if learned:
        params = {**base, "C": options.C, "explore_share": options.explore_share, "labels": sorted(labels.items())}
        kind, prefix = "learned", LEARNED_VERSION
    else:
        params = {**base}
        kind, prefix = "cold", COLD_VERSION
    version = f"{prefix}:{hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:10]}"
    ids_hash = hashlib.sha1("\n".join(m.doc_ids).encode()).hexdigest()
    prev = wh.rows("SELECT params->>'$.docs' FROM scorers WHERE scorer_version = ?", [version])
    latest = wh.scalar("SELECT scorer_version FROM v_current_scorer")
    if prev and prev[0][0] == ids_hash and latest == version:
        return ScoreReport(version, kind, len(labels), n_pos, 0)
    cold = cold_logits(m)
    p = learned_scores(m, cold, labels, options.C) if learned else _sigmoid(cold)
    decided = np.array([d in labels for d in m.doc_ids], dtype=bool)
    priority, lanes = queue_priorities(p, options.explore_share if learned else 0.0, decided)
    now = now_utc()
    import pyarrow as pa

    tbl = pa.table({"scorer_version": [version] * len(m.doc_ids), "doc_id": m.doc_ids,
                    "score": pa.array(p, pa.float64()), "uncertainty": pa.array(1 - np.abs(2 * p - 1), pa.float64()),
                    "priority": pa.array(priority, pa.int32()), "lane": lanes, "scored_at": [now] * len(m.doc_ids)})
    record = {"scorer_version": version, "kind": kind, "model_id": model_id, "n_labels": len(labels),
              "n_positive": n_pos, "explore_share": options.explore_share if learned else 0.0,
              "params": json.dumps({"C": options.C, "docs": ids_hash, "features": list(FEATURES),
                                    "options": asdict(options)}),
              "created_at": now}
    with wh.transaction():
        wh.execute("DELETE FROM scores WHERE scorer_version = ?", [version])
        wh.execute("DELETE FROM scorers WHERE scorer_version = ?", [version])
        wh.insert("scorers", [record])
        wh.insert("scores", tbl)
    return ScoreReport(version, kind, len(labels), n_pos, len(m.doc_ids))
