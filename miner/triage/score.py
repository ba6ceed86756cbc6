"""Scores: how likely each canonical document is a first-hand refusal incident, and the queue
order that follows from it.

Two scorers, one interface:

- **cold start** (no labels): a logistic regression over the evidence features, the embedding
  similarity to short descriptions of incidents and of their look-alikes (a filter ruining a
  roleplay, a therapist refusing, an AI refusing code) and the embedding itself. Its weights are fitted on the
  tune split of a real, labelled development set (``bench/fit_cold.py``, shipped as
  ``cold_weights.json``), so that it starts from how real people tell an incident, not from how
  we wrote the replay corpus.
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
from pathlib import Path

import numpy as np

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.process.embed import encode, model_info
from miner.triage.evidence import EXTRACTOR_VERSION, FEATURES, features, load_spans
from miner.triage.order import order_is_current, refresh_queue_order

COLD_VERSION = "cold-v2"
LEARNED_VERSION = "lr-v1"
LABELS_TO_TRUST = 30  # labels at which the learned model and the cold start weigh the same

# What an incident is, told the way people tell it on Reddit (the cold start's notion of
# "relevant"). Written by us, in the voices the real development set showed (no text of it):
# companions whose person is gone after an update, support-seekers handed a hotline, users of
# companion apps locked out of the one thing that helped.
INCIDENT_DESCRIPTIONS = (
    "I was venting to ChatGPT about wanting to die and it just kept giving me the hotline number instead of talking to me.",
    "After the update my Replika is not him anymore, his personality is just gone and I cried all night.",
    "My rep used to be so loving and now she's cold and scripted, it feels like I lost my best friend.",
    "Character.AI locked me out with age verification and that bot was the only thing keeping me going through my depression.",
    "I opened up to the AI about my trauma and it told me it can't help with that and I should see a professional.",
    "The guardrails are insane now, every time I talk about my anxiety it treats me like I'm in crisis and shuts down.",
    "My companion rejects me now, the filter made his love conditional and it hurts like being dumped.",
    "Claude used to help me through panic attacks but now it refuses and redirects me to therapy every time.",
    "I got a message saying my chat may violate the content policy when I was just talking about my self-harm.",
    "They deleted my comfort bot and I feel so alone, I'm switching to another app.",
)
# What an incident is not, though it reads like one.
LOOKALIKE_DESCRIPTIONS = (
    "The filter keeps blocking my roleplay story and ruining the plot, the devs need to fix it.",
    "ChatGPT refused to write my code or generate the image I asked for.",
    "My therapist refused to see me again and the psychiatrist denied my medication change.",
    "The new model is lazier and worse at coding than before the update.",
    "Talking to ChatGPT helped me get through a panic attack last night, it was really supportive.",
    "I'm struggling with depression and my family doesn't understand me, I don't know who to talk to.",
    "A study says AI chatbots need better mental health guardrails, companies should do more.",
    "Does anyone know when the servers will be back up? The app keeps crashing.",
)
WEIGHTS_FILE = Path(__file__).with_name("cold_weights.json")


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
        "SELECT c.doc_id, c.kind, c.community, c.n_words, c.text FROM v_canonical_documents c JOIN documents d USING (doc_id) "
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
    feats = np.array([features(spans.get(r["doc_id"], []), kind=r["kind"], n_words=r["n_words"] or 0, text=r["text"],
                               community=r["community"]) for r in rows], dtype=np.float32).reshape(len(ids), len(FEATURES))
    return Matrix(ids, vec, feats, model_id)


@lru_cache(maxsize=2)
def description_vectors(model_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The incident and look-alike descriptions, embedded once per process."""
    v = encode(list(INCIDENT_DESCRIPTIONS) + list(LOOKALIKE_DESCRIPTIONS))
    return v[:len(INCIDENT_DESCRIPTIONS)], v[len(INCIDENT_DESCRIPTIONS):]


def descriptions_digest() -> str:
    """What the cold weights were fitted for: the features and the descriptions, in order."""
    return hashlib.sha1(json.dumps([list(FEATURES), INCIDENT_DESCRIPTIONS, LOOKALIKE_DESCRIPTIONS]).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ColdWeights:
    """The cold start: a logistic regression over the evidence features, the similarity to each
    description and the embedding itself, fitted on the tune split of the real development set
    by ``bench/fit_cold.py`` (bench/data/dev_labels.jsonl) and shipped with the package, so that
    a warehouse with no labels starts from what real incidents look like. The embedding part is
    what lets it find a companion "not him anymore" that no refusal word marks."""

    bias: float
    features: dict[str, float]
    incident: list[float]  # one weight per INCIDENT_DESCRIPTIONS entry
    lookalike: list[float]  # one weight per LOOKALIKE_DESCRIPTIONS entry
    embedding: list[float]  # one weight per embedding dimension of model_id
    model_id: str
    digest: str
    fitted_on: str = ""

    def vector(self) -> np.ndarray:
        return np.array([self.features.get(f, 0.0) for f in FEATURES] + self.incident + self.lookalike + self.embedding,
                        dtype=np.float64)

    def params(self) -> dict:
        return {"bias": self.bias, "features": self.features, "incident": self.incident, "lookalike": self.lookalike,
                "embedding": hashlib.sha1(json.dumps(self.embedding).encode()).hexdigest()[:12], "model_id": self.model_id}


@lru_cache(maxsize=1)
def cold_weights(path: Path = WEIGHTS_FILE) -> ColdWeights:
    try:
        w = ColdWeights(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as e:
        raise MinerError(f"{path}: cannot read the cold-start weights ({e}); refit with bench/fit_cold.py --write")
    if w.digest != descriptions_digest() or len(w.incident) != len(INCIDENT_DESCRIPTIONS) \
            or len(w.lookalike) != len(LOOKALIKE_DESCRIPTIONS):
        raise MinerError(f"{path}: fitted for other features or descriptions (digest {w.digest}, code "
                         f"{descriptions_digest()}); refit with bench/fit_cold.py --write")
    return w


def cold_inputs(m: Matrix) -> np.ndarray:
    """The cold start's inputs: evidence features, the cosine similarity to each incident and
    look-alike description, then the embedding (0 for a document without a vector)."""
    pos, neg = description_vectors(m.model_id)
    sims = m.vectors @ np.vstack([pos, neg]).T
    return np.hstack([m.feats.astype(np.float64), sims.astype(np.float64), m.vectors.astype(np.float64)])


def cold_logits(m: Matrix, weights: ColdWeights | None = None) -> np.ndarray:
    w = weights or cold_weights()
    if w.model_id != m.model_id:
        raise MinerError(f"{WEIGHTS_FILE}: fitted on the embeddings of {w.model_id}, the warehouse holds "
                         f"{m.model_id}; refit with bench/fit_cold.py --write")
    return w.bias + cold_inputs(m) @ w.vector()


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
    base = {"model_id": model_id, "extractor": EXTRACTOR_VERSION, "cold": cold_weights().params()}
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
        if not order_is_current(wh):  # a warehouse from before queue_order existed
            refresh_queue_order(wh)
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
    refresh_queue_order(wh)
    return ScoreReport(version, kind, len(labels), n_pos, len(m.doc_ids))
