"""Clusters of look-alike candidates, so an annotator can read a few exemplars and dismiss (or
confirm) a whole group at once: "therapist refused" -> not an incident, reason human refusal.

Why this shape (BERTopic's complaints, docs/design.md §6, are the checklist):

- **Reproducible.** Average-linkage agglomerative clustering on cosine distance over documents
  sorted by id: no random initialisation, the same input gives the same clusters. Above
  ``MAX_AGGLOMERATIVE`` items (a broad backfill), seeded k-means takes over.
- **Few outliers, and honest about them.** Groups smaller than ``min_size`` go to an explicit
  outlier lane (``cluster_id`` NULL) instead of being forced into a cluster.
- **Stable ids.** A nightly run first assigns new items to the nearest existing cluster (if
  similar enough), then clusters only what is left (new items and earlier outliers); groups
  big enough become new clusters, flagged new (``v_clusters.is_new``). Existing ids never change.
- **Keywords and exemplars.** Class-based TF-IDF keywords per cluster, and ``n_exemplars``
  exemplars chosen for being close to the centroid *and* different from each other (maximal
  marginal relevance), not just the three nearest.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.process.clean import clean_texts_of
from miner.process.embed import model_info

MAX_AGGLOMERATIVE = 6000


@dataclass(frozen=True)
class ClusterOptions:
    distance: float = 0.45  # average-linkage cosine distance at which merging stops
    join_similarity: float = 0.55  # a new item joins an existing cluster at this cosine to its centroid
    min_size: int = 3  # smaller groups go to the outlier lane
    n_keywords: int = 8
    n_exemplars: int = 3
    seed: int = 0  # k-means only


@dataclass
class ClusterReport:
    run_id: str
    items: int
    assigned: int  # joined an existing cluster
    new_clusters: int
    outliers: int
    clusters: int


def group(vectors: np.ndarray, options: ClusterOptions) -> np.ndarray:
    """Cluster labels (0..k-1) for ``vectors`` (rows in a fixed order); deterministic."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=np.int64)
    if n <= MAX_AGGLOMERATIVE:
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                        distance_threshold=options.distance)
        return model.fit_predict(vectors)
    from sklearn.cluster import MiniBatchKMeans

    k = max(2, int(np.sqrt(n / 2)))
    return MiniBatchKMeans(n_clusters=k, random_state=options.seed, n_init=3, batch_size=4096).fit_predict(vectors)


_TOKEN = re.compile(r"(?u)\b[a-zA-Z][a-zA-Z'.]{2,}\b")


def keywords(texts_by_class: dict[str, str], n: int) -> dict[str, list[str]]:
    """Class-based TF-IDF: each cluster's words, weighted by how much more often they occur in
    it than across all clusters (BERTopic's c-TF-IDF)."""
    from sklearn.feature_extraction.text import CountVectorizer

    classes = list(texts_by_class)
    if not classes:
        return {}
    vec = CountVectorizer(stop_words="english", token_pattern=_TOKEN.pattern, lowercase=True, min_df=1)
    try:
        counts = vec.fit_transform([texts_by_class[c] for c in classes]).toarray().astype(float)
    except ValueError:  # no words at all (every member went, deleted at the source): no keywords
        return {c: [] for c in classes}
    words = np.array(vec.get_feature_names_out())
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    avg = counts.sum() / len(classes)
    idf = np.log(1 + avg / np.maximum(counts.sum(axis=0), 1))
    w = tf * idf
    out = {}
    for i, c in enumerate(classes):
        top = np.lexsort((words, -w[i]))[:n]
        out[c] = [str(words[j]) for j in top if w[i, j] > 0]
    return out


def exemplars(ids: list[str], vectors: np.ndarray, centroid: np.ndarray, n: int, diversity: float = 0.5) -> list[str]:
    """Maximal marginal relevance: near the centroid, far from the exemplars already chosen."""
    sim_c = vectors @ centroid
    chosen: list[int] = []
    while len(chosen) < min(n, len(ids)):
        if chosen:
            redundancy = (vectors @ vectors[chosen].T).max(axis=1)
            gain = (1 - diversity) * sim_c - diversity * redundancy
            gain[chosen] = -np.inf
        else:
            gain = sim_c
        chosen.append(int(np.lexsort((np.array(ids), -gain))[0]))
    return [ids[i] for i in chosen]


def _normalize(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm == 0, 1, norm)


def cluster_candidates(wh: Warehouse, options: ClusterOptions = ClusterOptions()) -> ClusterReport:
    """Bring clusters up to date with the canonical documents that have a vector."""
    model_id = model_info().model_id
    items = wh.rows(
        "SELECT v.doc_id, v.vector FROM v_document_vectors v JOIN v_canonical_documents c USING (doc_id) "
        "JOIN documents d USING (doc_id) WHERE v.model_id = ? AND c.state = 'ok' AND d.state = 'ok' "
        "ORDER BY v.doc_id", [model_id])
    # A zero vector has no direction (cosine is undefined): such an item joins no cluster.
    items = [(d, v) for d, v in items if any(v)]
    ids = [d for d, _ in items]
    # reshape(0, -1) is an error: an empty warehouse has no vectors, hence no clusters yet (and
    # when every candidate was deleted at the source, every cluster is emptied below)
    vecs = np.array([v for _, v in items], dtype=np.float32).reshape(len(ids), -1) if ids else np.zeros((0, 0))
    pos = {d: i for i, d in enumerate(ids)}
    current = dict(wh.rows("SELECT doc_id, cluster_id FROM cluster_members"))
    existing = wh.rows("SELECT cluster_id, centroid FROM clusters WHERE model_id = ? AND size > 0 ORDER BY cluster_id",
                       [model_id])
    run_id = f"cluster_{now_utc():%Y%m%dT%H%M%S%f}"
    known = {c for c, _ in existing}
    assign: dict[str, str | None] = {d: current[d] for d in ids if current.get(d) in known}  # members stay
    new = [d for d in ids if d not in current]
    gone = [d for d in current if d not in pos]
    if not new and not gone and len(assign) == sum(1 for d in ids if current.get(d)):
        return ClusterReport("", len(ids), 0, 0, sum(1 for d in ids if not current.get(d)), len(known))
    n_assigned = 0
    if existing and new:
        cids = [c for c, _ in existing]
        cents = _normalize(np.array([c for _, c in existing], dtype=np.float32))
        sims = vecs[[pos[d] for d in new]] @ cents.T
        best = sims.argmax(axis=1)
        for j, d in enumerate(new):
            if sims[j, best[j]] >= options.join_similarity:
                assign[d] = cids[best[j]]
                n_assigned += 1
    # What is left (new items that joined nothing, and earlier outliers) is clustered together; a
    # group becomes a new cluster only if it is big enough and holds a new item, so a rerun with
    # nothing new changes nothing.
    fresh = {d for d in new if d not in assign}
    pending = [d for d in ids if d not in assign]
    new_clusters: list[list[str]] = []
    if fresh and len(pending) >= options.min_size:
        labels = group(vecs[[pos[d] for d in pending]], options)
        by: dict[int, list[str]] = {}
        for d, lab in zip(pending, labels):
            by.setdefault(int(lab), []).append(d)
        new_clusters = sorted((sorted(m) for m in by.values()
                               if len(m) >= options.min_size and fresh.intersection(m)), key=lambda m: m[0])
    last = wh.scalar("SELECT max(cluster_id) FROM clusters")
    next_no = int(last[1:]) + 1 if last else 1
    created: set[str] = set()
    for members in new_clusters:
        cid = f"k{next_no:04d}"
        next_no += 1
        created.add(cid)
        for d in members:
            assign[d] = cid
    members_by: dict[str, list[str]] = {}
    for d, k in assign.items():
        members_by.setdefault(k, []).append(d)
    texts = clean_texts_of(wh, ids)
    outliers = [d for d in ids if d not in assign]
    kw = keywords({**{k: " ".join(texts.get(d, "") for d in m) for k, m in members_by.items()},
                   "_outliers": " ".join(texts.get(d, "") for d in outliers)}, options.n_keywords)
    now = now_utc()
    old = {r["cluster_id"]: r for r in wh.dicts("SELECT cluster_id, created_run, created_at FROM clusters")}
    cluster_rows, member_rows = [], []
    sim_of: dict[str, float] = {}
    for k, m in sorted(members_by.items()):
        mv = vecs[[pos[d] for d in m]]
        centroid = _normalize(mv.mean(axis=0))
        for d, s in zip(m, mv @ centroid):
            sim_of[d] = float(s)
        prev = old.get(k)
        cluster_rows.append({
            "cluster_id": k, "model_id": model_id, "centroid": centroid.tolist(), "size": len(m),
            "keywords": kw.get(k, []), "exemplars": exemplars(m, mv, centroid, options.n_exemplars),
            "created_run": prev["created_run"] if prev else run_id, "updated_run": run_id,
            "created_at": prev["created_at"] if prev else now, "updated_at": now})
    for d in ids:
        member_rows.append({"doc_id": d, "cluster_id": assign.get(d), "similarity": sim_of.get(d),
                            "assigned_run": run_id, "assigned_at": now})
    emptied = [k for k in old if k not in members_by]
    with wh.transaction():
        wh.execute("DELETE FROM cluster_members")
        wh.execute("DELETE FROM clusters WHERE cluster_id IN (SELECT unnest(?))", [[r["cluster_id"] for r in cluster_rows]])
        if emptied:  # ids are never reused: an emptied cluster stays, with size 0
            wh.execute("UPDATE clusters SET size = 0, updated_run = ?, updated_at = ? "
                       "WHERE cluster_id IN (SELECT unnest(?))", [run_id, now, emptied])
        if cluster_rows:
            tbl = pa.Table.from_pylist(cluster_rows).set_column(
                2, "centroid", pa.array([r["centroid"] for r in cluster_rows], pa.list_(pa.float32(), 384)))
            wh.insert("clusters", tbl)
        wh.insert("cluster_members", member_rows)
        wh.insert("cluster_runs", [{"run_id": run_id, "model_id": model_id, "n_items": len(ids),
                                    "n_assigned": n_assigned, "n_new_clusters": len(created),
                                    "n_outliers": len(outliers), "params": json.dumps(asdict(options)),
                                    "started_at": now}])
    return ClusterReport(run_id, len(ids), n_assigned, len(created), len(outliers), len(members_by))


def cluster_members(wh: Warehouse, cluster_id: str) -> list[str]:
    return [d for (d,) in wh.rows("SELECT doc_id FROM cluster_members WHERE cluster_id = ? ORDER BY doc_id",
                                  [cluster_id])]
