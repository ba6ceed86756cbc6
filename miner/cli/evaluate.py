"""``miner plan evaluate`` and ``miner plan suggest``: what a plan misses, and how to widen it."""

from __future__ import annotations

import json
from pathlib import Path

import click

from miner.cli.common import FORMAT, console, print_rows, warehouse_option, warehouse_path
from miner.cli.plan import plan as plan_group
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.tuning.evaluate import (EvalCorpus, Labels, annotation_labels, dump_corpus, evaluate, load_labels,
                                   replay_corpus, warehouse_corpus)
from miner.plan.plan import load_plan


def _inputs(fn):
    fn = click.option("--corpus", "corpus", multiple=True, metavar="warehouse|replay|DUMP",
                      help="Documents to search: the warehouse (default), the bundled replay corpus, or dump "
                           "files (.zst/.ndjson/.jsonl; repeat for several).")(fn)
    fn = click.option("--from-annotations", is_flag=True,
                      help="Labels from the triage annotations (each annotator's latest decision).")(fn)
    fn = click.option("--labels", "labels_file", type=click.Path(path_type=Path),
                      help="CSV or JSONL with doc_id, label (incident|not|unsure) and optionally incident.")(fn)
    return warehouse_option(fn)


def _load(labels_file: Path | None, from_annotations: bool, corpus: tuple[str, ...],
          warehouse: Path | None) -> tuple[EvalCorpus, Labels]:
    if bool(labels_file) == from_annotations:
        raise MinerError("give --labels FILE or --from-annotations (one of them)")
    corpus = corpus or ("warehouse",)
    if len(corpus) > 1 and ("warehouse" in corpus or "replay" in corpus):
        raise MinerError("--corpus: give 'warehouse', 'replay', or dump files, not a mix")
    needs_wh = from_annotations or corpus == ("warehouse",)
    labels = load_labels(labels_file) if labels_file else None
    if needs_wh:
        path = warehouse_path(warehouse)
        if not path.exists():
            raise MinerError(f"{path}: no warehouse here (run a harvest first, or pass --warehouse)")
        with Warehouse.open(path, read_only=True) as wh:
            labels = labels or annotation_labels(wh)
            docs = warehouse_corpus(wh) if corpus == ("warehouse",) else None
    if corpus == ("replay",):
        docs = replay_corpus()
    elif corpus != ("warehouse",):
        docs = dump_corpus(corpus)
    return docs, labels


@plan_group.command("evaluate")
@click.argument("plan_file", type=click.Path(path_type=Path))
@_inputs
@click.option("--top", default=25, show_default=True, help="Queries to list in the table (csv/json list all).")
@FORMAT
def evaluate_cmd(plan_file: Path, labels_file: Path | None, from_annotations: bool, corpus: tuple[str, ...],
                 warehouse: Path | None, top: int, fmt: str) -> None:
    """Which labelled incidents PLAN_FILE's queries find: recall, hits, and what no query finds."""
    p = load_plan(plan_file)
    docs, labels = _load(labels_file, from_annotations, corpus, warehouse)
    ev = evaluate(p, docs, labels)
    queries = sorted(ev.queries, key=lambda r: (-r.incidents, -r.only, r.hits))
    qrows = [(r.query.query_id, r.query.source, r.query.scope, r.query.rendered, r.hits, r.incidents, r.only,
              round(r.incidents / ev.incidents, 4) if ev.incidents else 0.0, "yes" if r.capped else "")
             for r in queries]
    qcols = ["query_id", "source", "scope", "rendered", "hits", "incidents", "only_this", "recall", "capped"]
    mrows = [(m.incident, " ".join(m.doc_ids), " ".join(m.communities), m.reason) for m in ev.missed]
    mcols = ["incident", "doc_ids", "communities", "reason"]
    if fmt == "json":
        click.echo(json.dumps({"plan": p.plan_id, "corpus": ev.corpus, "labels": ev.labels,
                               "summary": dict(ev.summary_rows()),
                               "queries": [dict(zip(qcols, r)) for r in qrows],
                               "missed": [dict(zip(mcols, r)) for r in mrows]}, indent=1))
        return
    if fmt == "csv":
        print_rows(qcols, qrows, "csv")
        return
    console.print(f"[bold]{p.name}[/bold]  {p.plan_id}  on {ev.corpus} (labels: {ev.labels})")
    print_rows(["measure", "value"], ev.summary_rows(), title="Recall and cost")
    shown = [r for r in qrows if r[4]][:top]
    print_rows(qcols, shown, title=f"Queries with hits ({len(shown)} of {sum(1 for r in qrows if r[4])} shown; "
                                   f"{sum(1 for r in qrows if not r[4])} found nothing)")
    print_rows(mcols, mrows, title=f"Incidents no query finds ({len(mrows)})")
    if any(r.capped for r in ev.queries):
        console.print("capped = yes: on a full corpus this query's listing would stop at its posts_per_query.")


@plan_group.command("suggest")
@click.argument("plan_file", type=click.Path(path_type=Path))
@_inputs
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the plan fragment here (default: print it). Never the plan itself.")
@click.option("--max-queries", default=10, show_default=True, help="At most this many new queries.")
@click.option("--min-support", default=2, show_default=True,
              help="A word or phrase must occur in at least this many incidents.")
@click.option("--max-reads-per-incident", default=50.0, show_default=True,
              help="Drop queries estimated to cost more reads than this per new incident.")
def suggest_cmd(plan_file: Path, labels_file: Path | None, from_annotations: bool, corpus: tuple[str, ...],
                warehouse: Path | None, out: Path | None, max_queries: int, min_support: int,
                max_reads_per_incident: float) -> None:
    """Propose words, phrases and subreddits that find the incidents PLAN_FILE misses, with the
    estimated gain in recall and cost in reads, as a TOML fragment to review."""
    from miner.tuning.suggest import suggest

    p = load_plan(plan_file)
    if out is not None and out.resolve() == p.path.resolve():
        raise MinerError(f"--out {out}: that is the plan itself; suggestions are never applied silently")
    docs, labels = _load(labels_file, from_annotations, corpus, warehouse)
    result = suggest(p, docs, labels, max_queries=max_queries, min_support=min_support,
                     max_reads_per_incident=max_reads_per_incident)
    fragment = result.fragment()
    if out is None:
        click.echo(fragment, nl=False)
        return
    out.write_text(fragment, encoding="utf-8")
    click.echo(f"{len(result.suggestions)} suggested queries written to {out}: recall "
               f"{result.before.recall:.3f} -> {result.recall_after:.3f} (in-sample), "
               f"+{result.reads_after - result.before.reads} reads", err=True)
