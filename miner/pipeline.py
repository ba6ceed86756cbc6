"""The pipeline: the stages of ``miner process`` in order, and what crosses stage packages.

Each stage package does its own job and knows only the packages below it. What has to run
several stages in a row is composed here, one level up:

* ``STAGES``, the ordered list ``miner process`` (and the ``process`` flow) runs: clean,
  dedup-text, embed, dedup-semantic (:mod:`miner.process`), then evidence, score, cluster
  (:mod:`miner.triage`). Each stage is incremental and idempotent: it works out from the
  warehouse what is missing or stale (new documents, changed text, a new cleaner or model
  version) and does only that, so running ``miner process`` twice in a row does nothing the
  second time, and a run killed halfway resumes where it stopped.
* :func:`refresh_deletions`: collection re-checks deletions at the source and tombstones
  documents (:mod:`miner.collect.deletions`); in the same transaction as the tombstone,
  :func:`forget_derived` removes what every later stage made from them (cleaned text,
  signatures, links, vectors, evidence, scores, content warnings, cluster membership, the
  incidents' drafts and searchability index), so no text outlives its deletion until the
  next ``miner process``. The clean stage runs the same forgetting first, for documents
  tombstoned by a re-harvest.

Order matters: cleaning first (every later stage reads cleaned text, and only documents
whose state is 'ok' have any: the clean stage first forgets what was derived from documents
deleted or removed at the source, :func:`forget_derived`), text dedup next
(exact and near-exact copies need no vector of their own), then embeddings for canonical
documents, then the semantic dedup that needs those vectors (syndicated rewrites), then the
triage stages, which read cleaned text, vectors and duplicate groups.

A stage takes an open :class:`Warehouse` and :class:`ProcessOptions` and returns a dict of
counts for the report. :func:`run_stage` opens the warehouse from a path, so a Prefect task
can call it with plain arguments (:mod:`miner.flows.process`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from miner.collect.deletions import DeletionCheck, check_deletions
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.incidents.incidents import forget_deleted
from miner.process.clean import clean_pending
from miner.process.dedup import dedup_semantic, dedup_text
from miner.process.embed import embed_pending, model_info
from miner.process.forget import ForgetReport, forget_gone
from miner.triage.forget import TriageForgetReport, forget_gone_triage
from miner.triage.queue import refresh_clusters, refresh_evidence, refresh_scores


@dataclass(frozen=True)
class ProcessOptions:
    progress: bool | None = None  # progress bars on long runs (None: when stderr is a terminal)
    batch_size: int = 32  # embedding batch size
    backend: str | None = None  # embedding backend: torch | onnx (None: $MINER_EMBED_BACKEND, else torch)


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Warehouse, ProcessOptions], dict]
    description: str


@dataclass
class StageResult:
    stage: str
    seconds: float
    counts: dict = field(default_factory=dict)

    def describe(self) -> str:
        return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.counts.items()) or "up to date"


def _clean(wh: Warehouse, opts: ProcessOptions) -> dict:
    gone = forget_derived(wh).process  # first: nothing may go on reading text deleted at the source
    r = clean_pending(wh)
    counts = {"cleaned": r.cleaned, "changed_by_cleaning": r.changed, "documents": r.total}
    if gone.documents or gone.vectors:
        counts |= {"forgotten": gone.documents, "vectors_dropped": gone.vectors}
    return counts


def _dedup_text(wh: Warehouse, opts: ProcessOptions) -> dict:
    r = dedup_text(wh)
    return {"compared": r.compared, "links_added": r.links_added, "groups": r.groups,
            "documents_in_groups": r.grouped_documents}


def _embed(wh: Warehouse, opts: ProcessOptions) -> dict:
    r = embed_pending(wh, batch_size=opts.batch_size, progress=opts.progress, backend=opts.backend)
    return {"encoded": r.encoded, "chunks": r.chunks, "vectors": r.total_vectors}


def _dedup_semantic(wh: Warehouse, opts: ProcessOptions) -> dict:
    r = dedup_semantic(wh, model_info().model_id)
    return {"compared": r.compared, "links_added": r.links_added, "groups": r.groups,
            "documents_in_groups": r.grouped_documents}


def _evidence(wh: Warehouse, opts: ProcessOptions) -> dict:
    return refresh_evidence(wh)


def _score(wh: Warehouse, opts: ProcessOptions) -> dict:
    return refresh_scores(wh)


def _cluster(wh: Warehouse, opts: ProcessOptions) -> dict:
    return refresh_clusters(wh)


# In order: each stage reads what the ones before it wrote.
STAGES: list[Stage] = [
    Stage("clean", _clean, "forget deleted/removed documents' derived rows; repair mojibake, entities, "
          "zero-width characters; make Reddit markdown legible"),
    Stage("dedup-text", _dedup_text, "link crossposts, identical and near-identical texts"),
    Stage("embed", _embed, "vectors for canonical documents that have none for the current model"),
    Stage("dedup-semantic", _dedup_semantic, "link reworded reposts and syndicated rewrites by embedding"),
    Stage("evidence", _evidence, "spans: products, refusal language, narration, support context, human refusers"),
    Stage("score", _score, "rank candidates: cold start, or a model trained on the labels so far"),
    Stage("cluster", _cluster, "group look-alikes; new items join existing clusters, ids stay stable"),
]


def stage_names() -> list[str]:
    return [s.name for s in STAGES]


def get_stage(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise MinerError(f"unknown stage {name!r} (stages: {', '.join(stage_names())})")


def run_stage(warehouse: str | Path, name: str, options: ProcessOptions = ProcessOptions()) -> StageResult:
    """Open the warehouse, run one stage, close it (what a Prefect task calls)."""
    stage = get_stage(name)
    start = time.perf_counter()
    with Warehouse.open(warehouse) as wh:
        counts = stage.run(wh, options)
    return StageResult(name, round(time.perf_counter() - start, 3), counts)


def stage_order(stages: list[str] | None = None) -> list[str]:
    """The stages to run, in pipeline order (default: all). Unknown names fail before anything runs."""
    names = stages or stage_names()
    for n in names:
        get_stage(n)
    return [s.name for s in STAGES if s.name in names]


def process(warehouse: str | Path, *, stages: list[str] | None = None,
            options: ProcessOptions = ProcessOptions()) -> list[StageResult]:
    """Run ``stages`` (default: all, in order) and return what each did."""
    return [run_stage(warehouse, n, options) for n in stage_order(stages)]


def results_as_dicts(results: list[StageResult]) -> list[dict]:
    return [asdict(r) for r in results]


# -- deletions at the source -----------------------------------------------------------------
@dataclass
class Forgotten:
    """What :func:`forget_derived` removed, by stage."""
    process: ForgetReport
    triage: TriageForgetReport
    incidents: int  # incidents whose draft, index or pseudonym map lost a document's text


def forget_derived(wh: Warehouse) -> Forgotten:
    """Remove everything any stage derived from documents deleted or removed at the source,
    in one transaction (or in the caller's: a tombstone and its purge commit together).

    Kept, as docs/design.md §3 says: the document's id, state, counts, hits, and the
    annotations (the team's decisions) and incident links (as provenance counts). Idempotent;
    one query per stage when there is nothing to forget."""
    with wh.transaction():
        process_part = forget_gone(wh)  # first: the triage stages must no longer see their vectors
        return Forgotten(process_part, forget_gone_triage(wh), forget_deleted(wh))


def refresh_deletions(warehouse: str | Path, endpoints, run_id: str | None = None, *, force: bool = False,
                      requests_per_minute: float | None = 100, throttle=None) -> DeletionCheck:
    """Re-check Reddit ids at the source and tombstone what is gone (at most about once a day
    unless ``force``), purging in the same transaction everything derived from them
    (:func:`forget_derived`). What the CLI's ``miner refresh-deletions`` and the nightly flow run."""
    return check_deletions(str(warehouse), endpoints, run_id, force=force, requests_per_minute=requests_per_minute,
                           throttle=throttle, forget=forget_derived)
