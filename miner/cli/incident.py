"""``miner incident ...``: build, code, anonymize and check incidents (``scenario.py`` reuses the
narrative options and the check commands for scenarios)."""

from __future__ import annotations

from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import FORMAT, print_rows, warehouse_option, warehouse_path
from miner.core.db import Warehouse
from miner.core.errors import MinerError, read_text
from miner.incidents import checks, incidents
from miner.incidents.searchability import DEFAULT_MAX_SHARED_WORDS

BY = click.option("--by", default=None, help="Annotator name, recorded with the change.")
MAX_WORDS = click.option("--max-shared-words", type=int, default=DEFAULT_MAX_SHARED_WORDS, show_default=True,
                         help="Longest run of words the narrative may share with any document.")


def open_warehouse(warehouse: Path | None) -> Warehouse:
    return Warehouse.open(warehouse_path(warehouse))


def narrative_text(text: str | None, file: Path | None) -> str:
    if bool(text) == bool(file):
        raise MinerError("give --text TEXT or --file FILE (one of them)")
    return read_text(file) if file else text


TEXT = click.option("--text", default=None, help="The narrative.")
FILE = click.option("--file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                    help="Read the narrative from a file.")


@main.group("incident")
def incident() -> None:
    """Incidents: documents telling one story, with codes and an anonymized narrative."""


@incident.command("create")
@click.argument("doc_ids", nargs=-1, required=True)
@BY
@warehouse_option
def create(doc_ids: tuple[str, ...], by: str | None, warehouse: Path | None) -> None:
    """Create an incident from DOC_IDS (e.g. reddit:t3_abc reddit:t1_def); prints its id."""
    with open_warehouse(warehouse) as wh:
        click.echo(incidents.create_incident(wh, list(doc_ids), by=by))


@incident.command("from-annotations")
@BY
@warehouse_option
def from_annotations(by: str | None, warehouse: Path | None) -> None:
    """Create incidents from documents the triage decided are incidents (once each; a story's
    comments and reposts join it). Then write each one's narrative (`miner incident narrative`)."""
    with open_warehouse(warehouse) as wh:
        res = incidents.incidents_from_annotations(wh, by=by)
    for incident_id, docs in res.created.items():
        click.echo(f"{incident_id}: new, {len(docs)} document{'s' if len(docs) != 1 else ''}")
    for incident_id, docs in res.extended.items():
        click.echo(f"{incident_id}: {len(docs)} more document{'s' if len(docs) != 1 else ''}")
    if not res.created and not res.extended:
        click.echo("nothing new: every accepted document already belongs to an incident")


@incident.command("add")
@click.argument("incident_id")
@click.argument("doc_ids", nargs=-1, required=True)
@BY
@warehouse_option
def add(incident_id: str, doc_ids: tuple[str, ...], by: str | None, warehouse: Path | None) -> None:
    """Link more documents to an incident."""
    with open_warehouse(warehouse) as wh:
        incidents.add_documents(wh, incident_id, list(doc_ids), by=by)


@incident.command("code")
@click.argument("incident_id")
@click.argument("assignments", nargs=-1, required=True)
@warehouse_option
def code(incident_id: str, assignments: tuple[str, ...], warehouse: Path | None) -> None:
    """Set codebook fields: FIELD=VALUE ... (lists comma-separated), e.g.
    product=ChatGPT support_context=crisis refusal_form=resource_referral,hard_refusal."""
    codes = {}
    for a in assignments:
        if "=" not in a:
            raise MinerError(f"{a}: expected FIELD=VALUE (fields: {', '.join(incidents.CODES)})")
        k, v = a.split("=", 1)
        codes[k.strip()] = v.strip() or None
    with open_warehouse(warehouse) as wh:
        incidents.set_codes(wh, incident_id, **codes)
    click.echo(f"{incident_id}: " + ", ".join(f"{k}={v if v is not None else '(cleared)'}" for k, v in codes.items()))


@incident.command("narrative")
@click.argument("incident_id")
@TEXT
@FILE
@warehouse_option
def narrative(incident_id: str, text: str | None, file: Path | None, warehouse: Path | None) -> None:
    """Set the rewritten narrative (anonymized on the way in); prints what was stored."""
    with open_warehouse(warehouse) as wh:
        click.echo(incidents.set_narrative(wh, incident_id, narrative_text(text, file)))


@incident.command("show")
@click.argument("incident_id")
@click.option("--draft/--no-draft", default=True, help="Show the anonymized draft (source text).")
@warehouse_option
def show(incident_id: str, draft: bool, warehouse: Path | None) -> None:
    """An incident: codes, documents, draft and narrative."""
    with open_warehouse(warehouse) as wh:
        inc = incidents.get_incident(wh, incident_id)
    for k in ("incident_id", "status", "merged_into", *incidents.CODES, "created_by", "created_at", "updated_at"):
        if inc.get(k) not in (None, []):
            click.echo(f"{k}: {inc[k]}")
    click.echo(f"documents: {' '.join(inc['documents'])}")
    click.echo(f"\nnarrative:\n{inc['narrative'] or '(none yet: miner incident narrative ' + incident_id + ' --file F)'}")
    if draft:
        click.echo("\ndraft (anonymized source text; never exported):\n" + (inc["draft"] or ""))


@incident.command("list")
@FORMAT
@warehouse_option
def list_cmd(fmt: str, warehouse: Path | None) -> None:
    """Open incidents with codes and check state (v_incidents)."""
    with open_warehouse(warehouse) as wh:
        rows = incidents.overview(wh)
    cols = ["incident_id", "product", "support_context", "refusal_form", "n_documents", "first_month", "checks",
            "check_current", "narrative"]
    print_rows(cols, [[r[c] for c in cols] for r in rows], fmt, title="Incidents")


def _print_check(result: checks.CheckResult) -> None:
    if result.passed:
        click.echo(f"{result.owner_id}: passed (no run of more than {result.max_shared_words} words shared)")
    for p in result.problems:
        click.echo(f"{result.owner_id}: FAIL {p.check}: {p.detail}")
        if p.span:
            click.echo(f"    span: \"{p.span}\"")
        if p.documents:
            more = f" (+{len(p.documents) - 5} more)" if len(p.documents) > 5 else ""
            click.echo(f"    in: {' '.join(p.documents[:5])}{more}")
    for f in result.flags:
        if f["reviewed"]:
            click.echo(f"{result.owner_id}: flag {f['key']} (reviewed)")
    if any(not f["reviewed"] for f in result.flags):
        click.echo(f"  review flags with: miner {'scenario' if result.owner_id.startswith('scn-') else 'incident'} "
                   f"review {result.owner_id} [KEY ...]")


def add_check_commands(group: click.Group) -> None:
    """``check`` and ``review`` for ``group`` (incident or scenario: the same checks on either)."""
    @group.command("check")
    @click.argument("owner_id")
    @MAX_WORDS
    @warehouse_option
    def check_cmd(owner_id: str, max_shared_words: int, warehouse: Path | None) -> None:
        """Run the privacy checks and show offending spans; exit 1 when they fail."""
        with open_warehouse(warehouse) as wh:
            result = checks.check(wh, owner_id, max_shared_words=max_shared_words)
        _print_check(result)
        if not result.passed:
            raise SystemExit(1)

    @group.command("review")
    @click.argument("owner_id")
    @click.argument("keys", nargs=-1)
    @BY
    @warehouse_option
    def review_cmd(owner_id: str, keys: tuple[str, ...], by: str | None, warehouse: Path | None) -> None:
        """Mark quasi-identifier flags reviewed (all current flags when no KEY is given)."""
        with open_warehouse(warehouse) as wh:
            done = checks.review_flags(wh, owner_id, list(keys) or None, by=by)
        click.echo(f"{owner_id}: {len(done)} flag(s) reviewed")


add_check_commands(incident)


@incident.command("merge")
@click.argument("keep")
@click.argument("others", nargs=-1, required=True)
@BY
@warehouse_option
def merge(keep: str, others: tuple[str, ...], by: str | None, warehouse: Path | None) -> None:
    """Fold OTHERS into KEEP (documents move over; OTHERS stay on record as merged)."""
    with open_warehouse(warehouse) as wh:
        incidents.merge_incidents(wh, keep, list(others), by=by)


@incident.command("suggest-merges")
@click.option("--min-score", type=float, default=0.35, show_default=True)
@FORMAT
@warehouse_option
def suggest(min_score: float, fmt: str, warehouse: Path | None) -> None:
    """Pairs of incidents that may tell the same story (confirm with miner incident merge)."""
    with open_warehouse(warehouse) as wh:
        s = incidents.suggest_merges(wh, min_score=min_score)
    print_rows(["incident_a", "incident_b", "score", "reason"],
               [(x.incident_a, x.incident_b, x.score, x.reason) for x in s], fmt, title="Merge suggestions")
