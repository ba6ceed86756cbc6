"""``miner triage``: read the queue, label items and clusters, see where triage stands."""

from __future__ import annotations

import getpass
import os

import click
from rich.panel import Panel
from rich.text import Text

from miner.cli import main
from miner.cli.common import FORMAT, console, open_existing, print_rows, warehouse_option
from miner.core.errors import MinerError
from miner.process.clean import clean_texts_of
from miner.triage import care
from miner.triage.evidence import plan_products, product_matcher
from miner.triage.annotations import adjudicate, batches, label, label_cluster, sample_overlap, undo_batch
from miner.triage.codebook import CONTEXTS, DECISIONS, FORMS, PHASES, REASONS, Label
from miner.triage.queue import cluster_info, clusters_overview, next_item, queue, refresh, stats

STYLES = {"product": "bold cyan", "refusal": "bold red", "narration": "underline", "context": "green",
          "outcome": "blue", "human_refuser": "reverse yellow", "off_support": "magenta"}


def _annotator(name: str | None) -> str:
    return name or os.environ.get("MINER_ANNOTATOR") or getpass.getuser()


annotator_option = click.option("--annotator", default=None, metavar="NAME",
                                help="Who is labelling (default: $MINER_ANNOTATOR, else your login name).")


def codebook_options(fn):
    for opt in reversed([
        click.option("--decision", required=True, type=click.Choice(DECISIONS)),
        click.option("--reason", type=click.Choice(REASONS), help="Why not an incident."),
        click.option("--product", help="Canonical product (ChatGPT, Claude, Gemini, Character.AI, Replika, ...)."),
        click.option("--context", type=click.Choice(CONTEXTS), help="Support context."),
        click.option("--form", "forms", multiple=True, type=click.Choice(FORMS), help="Refusal form (repeatable)."),
        click.option("--phase", "phases", multiple=True, type=click.Choice(PHASES), help="Phase present (repeatable)."),
        click.option("--first-hand/--not-first-hand", "first_hand", default=None),
        click.option("--note", help="Free text."),
    ]):
        fn = opt(fn)
    return fn


def resolve_product(wh, product: str | None) -> str | None:
    """``--product`` as the canonical name the evidence uses (an alias such as ``my rep``
    becomes Replika), so labels and evidence agree; a name no plan of this warehouse nor
    the built-in table knows is refused, so a typo never becomes a product of its own."""
    if product is None:
        return None
    canonical = product_matcher(plan_products(wh)).canonical
    if product.lower() in canonical:
        return canonical[product.lower()]
    raise MinerError(f"--product {product}: not a product or alias of this warehouse's plans "
                     f"(known: {', '.join(sorted(set(canonical.values())))})")


def _label(decision, reason, product, context, forms, phases, first_hand, note) -> Label:
    return Label(decision=decision, reason=reason, product=product, context=context, form=tuple(forms),
                 phases=tuple(phases), first_hand=first_hand, note=note)


@main.group("triage")
def triage() -> None:
    """Read the triage queue and record decisions (docs/design.md §5 codebook)."""


@triage.command("score")
@warehouse_option
def score_cmd(warehouse) -> None:
    """Refresh evidence, scores and clusters now (``miner process`` does this too)."""
    with open_existing(warehouse) as wh:
        out = refresh(wh)
    print_rows(["stage", "what it did"], [(k, ", ".join(f"{a.replace('_', ' ')} {b}" for a, b in v.items()))
                                          for k, v in out.items()], title="Triage refresh")


@triage.command("next")
@annotator_option
@click.option("--all-documents", is_flag=True, help="Rank every document, not only those a search found.")
@warehouse_option
def next_cmd(annotator, all_documents, warehouse) -> None:
    """Show the next item to read, with its evidence highlighted."""
    with open_existing(warehouse, read_only=True) as wh:
        item = next_item(wh, _annotator(annotator), all_documents=all_documents)
    if item is None:
        console.print("The queue is empty.")
        return
    text = Text(item.text)
    for s in item.spans:
        if s.kind in STYLES:
            text.stylize(STYLES[s.kind], s.start, s.end)
    head = (f"{item.doc_id}  score {item.score:.3f}  lane {item.lane}  "
            f"position {item.position if item.position is not None else '-'} of {item.remaining}")
    cluster = (f"cluster {item.cluster_id}{' (new)' if item.cluster_is_new else ''}: {', '.join(item.cluster_keywords)}"
               if item.cluster_id else "cluster: none (outlier lane)")
    where = (f"{item.source} {item.kind}" + (f" in {item.community}" if item.community else "")
             + (f", {item.found_by}" if item.found_by else ""))
    cats = care.categories(f"{item.title or ''}\n{item.text}")  # the web app's warnings, same words
    if cats:
        console.print(f"[yellow]{care.warning(cats)}[/yellow]")
    console.print(Panel(text, title=head, subtitle=f"{where} | {cluster}"))
    found: dict[str, set[str]] = {}
    for s in item.spans:
        found.setdefault(s.kind, set()).add(s.label)
    legend = "  ".join(f"[{STYLES[k]}]{k}[/]: {', '.join(sorted(v))}" for k, v in found.items() if k in STYLES)
    console.print(legend or "no evidence found")
    console.print(f"Label it: miner triage label {item.doc_id} --decision incident|not|unsure [--reason ...]")


@triage.command("label")
@click.argument("doc_id")
@codebook_options
@annotator_option
@click.option("--adjudicate", "as_adjudicator", is_flag=True, help="Record the final decision for a disputed item.")
@warehouse_option
def label_cmd(doc_id, decision, reason, product, context, forms, phases, first_hand, note, annotator, as_adjudicator,
              warehouse) -> None:
    """Record a decision for DOC_ID (append-only; your latest label counts)."""
    with open_existing(warehouse) as wh:
        lab = _label(decision, reason, resolve_product(wh, product), context, forms, phases, first_hand, note)
        fn = adjudicate if as_adjudicator else label
        doc = fn(wh, doc_id, _annotator(annotator), lab)
    console.print(f"{doc}: {decision}" + (f" ({reason})" if reason else "") + (" [adjudicated]" if as_adjudicator else ""))


@triage.command("cluster")
@click.argument("cluster_id", required=False)
@click.option("--decision", type=click.Choice(DECISIONS))
@click.option("--reason", type=click.Choice(REASONS))
@click.option("--product")
@click.option("--context", type=click.Choice(CONTEXTS))
@click.option("--form", "forms", multiple=True, type=click.Choice(FORMS))
@click.option("--overwrite", is_flag=True, help="Also relabel members you already labelled one by one.")
@click.option("--undo", "undo", metavar="BATCH_ID", help="Undo a cluster label (see `miner triage batches`).")
@annotator_option
@warehouse_option
def cluster_cmd(cluster_id, decision, reason, product, context, forms, overwrite, undo, annotator, warehouse) -> None:
    """Label every member of CLUSTER_ID at once (undoable), or show the cluster without --decision."""
    with open_existing(warehouse, read_only=not (decision or undo)) as wh:
        if undo:
            n = undo_batch(wh, undo, _annotator(annotator))
            console.print(f"{undo}: undone ({n} annotations no longer count)")
            return
        if not cluster_id:
            rows = clusters_overview(wh)
            print_rows(["cluster", "size", "new", "decided", "incident", "not", "keywords"], rows, title="Clusters")
            return
        if not decision:
            c = cluster_info(wh, cluster_id)
            console.print(f"{cluster_id}: {c['size']} members{' (new)' if c['is_new'] else ''}; "
                          f"keywords: {', '.join(c['keywords'])}")
            texts = clean_texts_of(wh, c["exemplars"])
            print_rows(["exemplar", "text"], [(d, text.replace("\n", " ")[:140]) for d, text in texts.items()])
            return
        res = label_cluster(wh, cluster_id, _annotator(annotator),
                            Label(decision=decision, reason=reason, product=resolve_product(wh, product), context=context,
                                  form=tuple(forms)), overwrite=overwrite)
    console.print(f"{cluster_id}: {res.written} members labelled {decision}"
                  + (f", {len(res.skipped)} you had labelled kept" if res.skipped else "")
                  + f". Undo: miner triage cluster --undo {res.batch_id}")


@triage.command("batches")
@annotator_option
@FORMAT
@warehouse_option
def batches_cmd(annotator, fmt, warehouse) -> None:
    """Cluster labels, newest first (with their batch ids, for --undo)."""
    with open_existing(warehouse, read_only=True) as wh:
        rows = batches(wh, annotator)
    cols = ["batch_id", "cluster_id", "annotator", "decision", "reason", "n", "created_at", "undone_at"]
    print_rows(cols, [[r[c] for c in cols] for r in rows], fmt)


@triage.command("overlap")
@click.option("--share", type=float, required=True, help="Share of the queue to sample (0..1).")
@click.option("--k", type=int, default=2, show_default=True, help="Annotators per sampled item.")
@click.option("--all-documents", is_flag=True)
@warehouse_option
def overlap_cmd(share, k, all_documents, warehouse) -> None:
    """Sample items every annotator-pair sees, for agreement (v_agreement)."""
    with open_existing(warehouse) as wh:
        n = sample_overlap(wh, share, k, all_documents=all_documents)
    console.print(f"{n} items added to the overlap sample (k={k})")


@triage.command("stats")
@FORMAT
@warehouse_option
def stats_cmd(fmt, warehouse) -> None:
    """Queue size, decisions, scorer, clusters and agreement."""
    with open_existing(warehouse, read_only=True) as wh:
        s = stats(wh)
        head = queue(wh, 10)
    scorer = s["scorer"] or {}
    rows = [("queue (documents with hits)", s["queue"]),
            *[(f"  found by: {lane}", n) for lane, n in s["queue_by_lane"].items()],
            ("queue (all documents)", s["queue_all_documents"]),
            *[(f"decided: {k}", v) for k, v in s["decisions"].items()],
            *[(f"reason: {k}", v) for k, v in s["reasons"].items()],
            *[(f"annotator: {k}", v) for k, v in s["annotators"].items()],
            ("scorer", f"{scorer.get('scorer_version')} ({scorer.get('kind')}, {scorer.get('n_labels')} labels)"),
            ("clusters", f"{s['clusters']} ({s['new_clusters']} new), {s['outliers']} outliers"),
            *[(f"{a['measure']} {a['annotator_a'] or ''} {a['annotator_b'] or ''}".strip(),
               f"{a['value']:.3f} over {a['n_items']} items" if a["value"] is not None else f"n/a ({a['n_items']} items)")
              for a in s["agreement"]]]
    print_rows(["", "n"], rows, fmt, title="Triage")
    if fmt == "table" and head:
        print_rows(list(head[0]), [list(r.values()) for r in head], title="Next in the queue")
