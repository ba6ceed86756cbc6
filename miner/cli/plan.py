"""``miner plan``: what a plan expands to and costs (``show``), what it misses (``evaluate``),
and how to widen it (``suggest``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import FORMAT, console, open_existing, print_rows, warehouse_option, warehouse_path
from miner.collect.store import lost_windows, observed_per_day
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.plan.budget import sweep_load, sweep_warnings
from miner.plan.plan import estimate, harvest_queries, load_plan
from miner.replay.load import replay_corpus
from miner.tuning.evaluate import (EvalCorpus, Labels, annotation_labels, dump_corpus, evaluate, load_labels,
                                   warehouse_corpus)


@main.group()
def plan() -> None:
    """Inspect search plans (queries/*.toml)."""


@plan.command("show")
@click.argument("plan_file", type=click.Path(path_type=Path))
@FORMAT
@warehouse_option
def show(plan_file: Path, fmt: str, warehouse: Path | None) -> None:
    """Print every query PLAN_FILE expands to, rendered per source, and an API budget estimate.

    Swept communities get their requests a day (from the volume the warehouse observed, else
    the plan's expected_per_day) and the windows past sweeps could not reach.
    """
    p = load_plan(plan_file)
    queries = harvest_queries(p)
    rows = [(q.query_id, q.source, q.scope, q.product or "", q.rendered, q.priority, q.limit) for q in queries]
    if fmt != "table":
        print_rows(["query_id", "source", "scope", "product", "rendered", "priority", "max_items"], rows, fmt)
        return
    console.print(f"[bold]{p.name}[/bold]  {p.plan_id}  {p.description}")
    print_rows(["query_id", "source", "scope", "product", "rendered", "priority", "max_items"], rows)
    by_source = {}
    for q in queries:
        by_source[q.source] = by_source.get(q.source, 0) + 1
    console.print("Queries: " + ", ".join(f"{n} {s}" for s, n in by_source.items()))
    console.print("[bold]Budget estimate[/bold] (worst case; comments are fetched once per unique post)")
    print_rows(["source", "queries", "search requests", "comment requests (max)", "limit", "time at limit"],
               [(b.source, b.queries, b.search_requests, b.detail_requests_max, b.limit,
                 _duration(b.minutes_at_limit)) for b in estimate(p, queries)])
    priorities = sorted({q.priority for q in queries}, reverse=True)
    if len(priorities) > 1:
        # A run takes queries highest priority first: what fits before a budget runs out.
        rows = []
        for prio in priorities:
            upto = [q for q in queries if q.priority >= prio]
            for b in estimate(p, upto):
                rows.append((f">= {prio}", b.source, b.queries, b.search_requests, b.detail_requests_max,
                             _duration(b.minutes_at_limit)))
        print_rows(["priority", "source", "queries", "search requests", "comment requests (max)", "time at limit"],
                   rows, title="Cumulative, highest priority first")
    sweeps = [q for q in queries if q.kind == "sweep"]
    if sweeps:
        _show_sweeps(p, sweeps, warehouse_path(warehouse))


def _show_sweeps(p, sweeps, path: Path) -> None:
    """Requests a day per swept listing, warnings, and the lost windows to backfill."""
    observed, windows = {}, []
    if path.exists():
        with Warehouse.open(path, read_only=True) as wh:
            observed = observed_per_day(wh, [q.query_id for q in sweeps])
            windows = lost_windows(wh)
    loads = sweep_load(sweeps, observed)
    print_rows(["community", "listing", "items/day", "from", "runs/day", "requests/day"],
               [(f"r/{x.community}", x.listing, None if x.per_day is None else round(x.per_day),
                 x.basis, round(x.runs_per_day, 1), None if x.requests_per_day is None else round(x.requests_per_day))
                for x in loads], title="Sweeps")
    for line in sweep_warnings(loads, p.budget):
        console.print(f"[yellow]warning:[/yellow] {line}")
    if windows:
        print_rows(["community", "listing", "from", "to", "run"],
                   [(f"r/{w.community}", w.listing, w.window_from, w.window_to, w.run_id) for w in windows],
                   title="Lost windows (older than the listing reached): backfill them from a dump")


def _duration(minutes: float) -> str:
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


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
        with open_existing(warehouse, read_only=True) as wh:
            labels = labels or annotation_labels(wh)
            docs = warehouse_corpus(wh) if corpus == ("warehouse",) else None
    if corpus == ("replay",):
        docs = replay_corpus()
    elif corpus != ("warehouse",):
        docs = dump_corpus(corpus)
    return docs, labels


@plan.command("evaluate")
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


@plan.command("suggest")
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
    from miner.tuning.suggest import suggest  # lazy: it imports scikit-learn (0.7 s); only this command needs it
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
