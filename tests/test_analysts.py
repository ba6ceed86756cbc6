"""The analysts' warehouse: views, saved queries, the report, the methods appendix, Parquet export.

A small warehouse is built in the test by inserting rows directly; every expected number is
recomputed here in Python from those same rows (sets and counters), never copied from SQL.
Triage columns are checked when the process and triage stages' tables exist; incidents use
the incidents tables when they exist and otherwise stand-ins of the shape the views declare
(``-- requires:`` in warehouse/views/52_incidents_by_month.sql).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

import miner.core.db
from miner.core.db import Warehouse, saved_queries_dir
from miner.report.data import gather
from miner.report.methods import methods_markdown
from miner.report.render import build_report
from miner.report.tables import ALLOWED
from tests.helpers import miner_cli

T = datetime(2026, 4, 1, 12, 0)
RUN = "run_test"
REFUSE, DENY = "{product} and refuse", "{product} and deny"
QUERIES = [  # query_id, source, scope, product, template
    ("q_gpt_refuse_a", "reddit", "r/a", "ChatGPT", REFUSE),
    ("q_gpt_refuse_b", "reddit", "r/b", "ChatGPT", REFUSE),
    ("q_claude_refuse", "reddit", "r/a", "Claude", REFUSE),
    ("q_gpt_deny", "reddit", "r/a", "ChatGPT", DENY),
    ("q_replika_deny", "reddit", "r/a", "Replika", DENY),  # finds nothing
    ("q_news", "news", "en", None, "mental health AI refused"),
]
DOCS = {  # doc_id: (source, kind, created_at, state)
    "reddit:t3_d1": ("reddit", "submission", datetime(2026, 1, 10), "ok"),
    "reddit:t3_d2": ("reddit", "submission", datetime(2026, 1, 20), "ok"),
    "reddit:t1_d3": ("reddit", "comment", datetime(2026, 2, 1), "deleted"),
    "reddit:t3_d4": ("reddit", "submission", datetime(2026, 2, 15), "ok"),
    "reddit:t3_d5": ("reddit", "submission", datetime(2026, 3, 1), "ok"),
    "news:n1": ("news", "article", datetime(2026, 3, 2), "ok"),
}
HITS = [  # query_id, doc_id, via
    ("q_gpt_refuse_a", "reddit:t3_d1", "search"), ("q_gpt_refuse_a", "reddit:t3_d2", "search"),
    ("q_gpt_refuse_a", "reddit:t1_d3", "thread"),
    ("q_gpt_refuse_b", "reddit:t3_d1", "search"), ("q_gpt_refuse_b", "reddit:t3_d5", "search"),
    ("q_claude_refuse", "reddit:t3_d2", "search"), ("q_claude_refuse", "reddit:t3_d4", "search"),
    ("q_gpt_deny", "reddit:t3_d1", "search"),
    ("q_news", "news:n1", "search"),
]
INCIDENTS = {  # incident_id: (product, context, forms, documents)
    "inc_1": ("ChatGPT", "psychotherapy", ["hard_refusal", "resource_referral"], ["reddit:t3_d1", "reddit:t1_d3"]),
    "inc_2": ("Claude", "companionship", ["persona_change"], ["reddit:t3_d4"]),
    "inc_3": ("ChatGPT", "crisis", [], ["reddit:t3_d5"]),
}
# Triage (used when the triage tables exist): d5 is a near-duplicate of d1; decisions on stories.
CANONICAL = {"reddit:t3_d5": "reddit:t3_d1"}
DECISIONS = {"reddit:t3_d1": "incident", "reddit:t3_d2": "not", "reddit:t3_d4": "incident"}
QUERY = {q[0]: q for q in QUERIES}


def canonical(doc: str) -> str:
    return CANONICAL.get(doc, doc)


def is_candidate(doc: str) -> bool:
    return DOCS[canonical(doc)][3] == "ok"


def docs_of(query_ids) -> set[str]:
    return {d for q, d, _ in HITS if q in query_ids}


def incidents_of(docs: set[str]) -> set[str]:
    return {i for i, (*_, idocs) in INCIDENTS.items() if docs & set(idocs)}


def build(wh: Warehouse, *, triage: bool = True, incidents: bool = True) -> None:
    wh.insert("plans", [dict(plan_id="test@1", name="test", path="t.toml", sha256="ab" * 32,
                             body='name = "test"', first_used_at=T)])
    wh.insert("queries", [dict(query_id=q, source=s, scope=sc, text=t, rendered=f"{p} AND x", product=p, template=t)
                          for q, s, sc, p, t in QUERIES])
    wh.insert("plan_queries", [dict(plan_id="test@1", query_id=q[0], priority=0, max_items=1000) for q in QUERIES])
    wh.insert("harvest_runs", [dict(run_id=RUN, plan_id="test@1", started_at=T, finished_at=T, status="ok",
                                    endpoint="replay")])
    wh.insert("run_queries", [dict(run_id=RUN, query_id=q[0], source=q[1], status="ok", requests=1,
                                   hits=sum(h[0] == q[0] for h in HITS), new_documents=0) for q in QUERIES])
    wh.insert("requests", [dict(run_id=RUN, query_id=q[0], source=q[1], endpoint="/search", status=200,
                                items=1, started_at=T) for q in QUERIES])
    wh.insert("documents", [dict(doc_id=d, source=s, kind=k, native_id=d.split(":")[1], state=st,
                                 content_hash=d, created_at=c, first_seen_at=T, last_seen_at=T,
                                 first_run_id=RUN, last_run_id=RUN) for d, (s, k, c, st) in DOCS.items()])
    wh.insert("hits", [dict(plan_id="test@1", query_id=q, doc_id=d, source=QUERY[q][1], via=v, run_id=RUN,
                            rank=i + 1, fetched_at=T, last_run_id=RUN, last_seen_at=T)
                       for i, (q, d, v) in enumerate(HITS)])
    if triage:
        _insert_triage(wh)
    if incidents:
        _insert_incidents(wh)
    wh.refresh_views(force=True)


def _insert_triage(wh: Warehouse) -> None:
    """Rows in the process and triage stages' tables."""
    wh.insert("clean_texts", [dict(doc_id=d, content_hash=d, cleaner_version="t", state=st, text="x",
                                   text_hash=d, n_words=1, cleaned_at=T) for d, (_, _, _, st) in DOCS.items()])
    wh.insert("dup_members", [dict(doc_id=d, canonical_id=c, is_canonical=d == c, group_size=2, updated_at=T)
                              for c in set(CANONICAL.values()) for d in [c, *[k for k, v in CANONICAL.items() if v == c]]])
    wh.insert("annotations", [dict(doc_id=d, annotator="ann", decision=dec, created_at=T)
                              for d, dec in DECISIONS.items()])


def _insert_incidents(wh: Warehouse) -> None:
    """Rows in the incidents stage's tables."""
    wh.insert("incidents", [dict(incident_id=i, status="open", product=p, support_context=c, refusal_form=f,
                                 created_at=T, updated_at=T) for i, (p, c, f, _) in INCIDENTS.items()])
    wh.insert("incident_documents", [dict(incident_id=i, doc_id=d, added_at=T)
                                     for i, (*_, ds) in INCIDENTS.items() for d in ds])


@pytest.fixture
def small(wh):
    build(wh)
    return wh


# -- views ---------------------------------------------------------------------------------

def test_query_yield_counts_hits_documents_and_incidents_per_query(small):
    rows = {r["query_id"]: r for r in small.dicts("SELECT * FROM v_query_yield")}
    assert set(rows) == set(QUERY)  # a query that found nothing still has its row
    for q, (_, source, scope, product, template) in QUERY.items():
        r, docs = rows[q], docs_of({q})
        assert (r["source"], r["scope"], r["product"], r["template"]) == (source, scope, product, template)
        assert r["hits"] == sum(h[0] == q for h in HITS)
        assert r["search_hits"] == sum(h[0] == q and h[2] == "search" for h in HITS)
        assert r["unique_documents"] == len(docs)
        assert r["incidents"] == len(incidents_of(docs))
    assert rows["q_replika_deny"]["hits"] == 0 and rows["q_replika_deny"]["precision"] is None


def test_query_yield_counts_a_document_once_when_two_plans_share_the_query(small):
    """A new plan version re-finds documents under its own plan_id: more hits, not more documents."""
    small.insert("plans", [dict(plan_id="test@2", name="test", sha256="cd" * 32, body="", first_used_at=T)])
    again = ["reddit:t3_d1", "reddit:t3_d4"]  # d1 was found before by this query, d4 was not
    small.insert("hits", [dict(plan_id="test@2", query_id="q_gpt_refuse_a", doc_id=d, source="reddit", via="search",
                               run_id=RUN, fetched_at=T, last_run_id=RUN, last_seen_at=T) for d in again])
    r = small.dicts("SELECT * FROM v_query_yield WHERE query_id = 'q_gpt_refuse_a'")[0]
    assert r["hits"] == sum(h[0] == "q_gpt_refuse_a" for h in HITS) + len(again)
    assert r["unique_documents"] == len(docs_of({"q_gpt_refuse_a"}) | set(again))


def test_yield_by_product_template_counts_a_document_once_across_scopes(small):
    rows = {(r["product"], r["template"]): r for r in small.dicts("SELECT * FROM v_yield_by_product_template")}
    groups = defaultdict(set)
    for q, _, _, p, t in QUERIES:
        groups[(p, t)].add(q)
    assert set(rows) == set(groups)
    for key, qs in groups.items():
        assert rows[key]["queries"] == len(qs)
        assert rows[key]["hits"] == sum(h[0] in qs for h in HITS)
        assert rows[key]["unique_documents"] == len(docs_of(qs))
        assert rows[key]["incidents"] == len(incidents_of(docs_of(qs)))
    # ChatGPT x refuse: two scopes found d1 both times; it counts once
    assert rows[("ChatGPT", REFUSE)]["unique_documents"] < rows[("ChatGPT", REFUSE)]["hits"]


def test_triage_columns_count_stories_candidates_and_precision(small):
    rows = {r["query_id"]: r for r in small.dicts("SELECT * FROM v_query_yield")}
    for q in QUERY:
        stories = {canonical(d) for d in docs_of({q}) if is_candidate(d)}
        annotated = {s for s in stories if s in DECISIONS}
        accepted = {s for s in annotated if DECISIONS[s] == "incident"}
        r = rows[q]
        assert (r["candidates"], r["annotated"], r["incident_documents"]) == (len(stories), len(annotated), len(accepted))
        assert r["precision"] == (len(accepted) / len(annotated) if annotated else None)


def test_hits_by_month_uses_the_month_documents_were_written(small):
    expected = defaultdict(lambda: [0, set()])
    for q, d, _ in HITS:
        key = (DOCS[d][2].date().replace(day=1), QUERY[q][1], QUERY[q][3])
        expected[key][0] += 1
        expected[key][1].add(d)
    got = {(r["month"], r["source"], r["product"]): (r["hits"], r["unique_documents"])
           for r in small.dicts("SELECT * FROM v_hits_by_month")}
    assert got == {k: (n, len(ds)) for k, (n, ds) in expected.items()}


def test_incidents_by_month_by_product_context_and_form(small):
    by_form, monthly = Counter(), Counter()
    for i, (product, context, forms, docs) in INCIDENTS.items():
        month = min(DOCS[d][2] for d in docs).date().replace(day=1)
        monthly[(month, product, context)] += 1
        for f in forms or [None]:
            by_form[(month, product, context, f)] += 1
    got = {(r["month"], r["product"], r["context"], r["form"]): r["incidents"]
           for r in small.dicts("SELECT * FROM v_incidents_by_month")}
    assert got == dict(by_form)
    got = {(r["month"], r["product"], r["context"]): r["incidents"]
           for r in small.dicts("SELECT * FROM v_incidents_monthly")}
    assert got == dict(monthly)


def test_every_view_exists_in_a_fresh_warehouse(wh):
    """A warehouse without the later stages opens, and every analysts' view answers (empty)."""
    for view in ("v_funnel", "v_funnel_by_run", "v_runs", "v_query_yield", "v_yield_by_product_template",
                 "v_hits_by_month", "v_incidents_by_month", "v_incidents_monthly"):
        assert wh.scalar(f"SELECT count(*) FROM {view}") == 0


def test_view_files_needing_absent_tables_are_skipped_with_the_reason(wh_path, tmp_path, monkeypatch):
    views = tmp_path / "views"
    views.mkdir()
    (views / "10_base.sql").write_text("CREATE OR REPLACE VIEW v_base AS SELECT 1 AS x;")
    (views / "20_later.sql").write_text("-- requires: later_table(a, b), documents(doc_id)\n"
                                        "CREATE OR REPLACE VIEW v_later AS SELECT a, b FROM later_table;")
    monkeypatch.setattr(miner.core.db, "views_dir", lambda: views)
    with Warehouse.open(wh_path) as wh:
        assert wh.view_names() == ["v_base"]
        assert wh.skipped_views() == {"20_later.sql": "needs later_table"}
        wh.execute("CREATE TABLE later_table (a INTEGER)")
        wh.refresh_views(force=True)
        assert wh.skipped_views() == {"20_later.sql": "needs later_table(b)"}
        wh.execute("ALTER TABLE later_table ADD COLUMN b INTEGER")
        wh.refresh_views(force=True)
        assert wh.view_names() == ["v_base", "v_later"] and wh.skipped_views() == {}
    # a file without a requires line that fails is a bug: it raises instead of hiding
    (views / "30_broken.sql").write_text("CREATE OR REPLACE VIEW v_broken AS SELECT * FROM nowhere;")
    with pytest.raises(Exception, match="nowhere"):
        Warehouse.open(wh_path).close()


# -- saved queries ---------------------------------------------------------------------------

def test_saved_queries_say_what_they_answer_and_run_with_miner_sql(small, wh_path):
    files = sorted(saved_queries_dir().glob("*.sql"))
    assert len(files) >= 4
    small.close()
    for f in files:
        first = f.read_text().splitlines()[0]
        assert first.startswith("-- ") and first.rstrip().endswith("?"), f"{f.name}: starts with its question"
        res = miner_cli("sql", "--file", str(f), "--format", "csv", "--warehouse", str(wh_path))
        assert res.returncode == 0, f"{f.name}: {res.stderr}"
        assert len(res.stdout.splitlines()) > 1, f"{f.name} returned no rows"


def test_saved_template_query_adds_up_per_template(small):
    rows = small.dicts((saved_queries_dir() / "templates_that_find_incidents.sql").read_text())
    by_template = {(r["source"], r["template"]): r for r in rows}
    for (source, template), r in by_template.items():
        qs = {q for q, s, _, _, t in QUERIES if (s, t) == (source, template)}
        assert r["hits"] == sum(h[0] in qs for h in HITS)
        assert r["queries"] == len(qs)
    # ordered by incidents found, most first
    assert [r["incidents"] for r in rows] == sorted((r["incidents"] for r in rows), reverse=True)


# -- the report and the methods appendix --------------------------------------------------------

def _funnel_table(methods: str) -> dict[tuple[str, str], int]:
    """(stage, source) -> n from the appendix's "Counts at every stage" table."""
    section = methods.split("### Counts at every stage", 1)[1].split("###", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    out = {}
    for ln in lines[2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        for col, val in zip(header[2:], cells[2:]):
            out[(cells[1], col)] = int(val.replace(",", ""))
    return out


def test_methods_appendix_counts_equal_the_funnel(small):
    methods = methods_markdown(gather(small))
    table = _funnel_table(methods)
    funnel = small.rows("SELECT stage, source, n FROM v_funnel")
    by_source = {(s, src): n for s, src, n in funnel}
    assert funnel and all(table[k] == n for k, n in by_source.items())
    # a stage a source has no row for shows 0 (e.g. no news article annotated yet)
    assert all(v == 0 for k, v in table.items() if k[1] != "total" and k not in by_source)
    for stage in {s for s, _, _ in funnel}:
        assert table[(stage, "total")] == sum(n for s, _, n in funnel if s == stage)
    # the plan and every query as sent are in it, and the run
    for q in QUERIES:
        assert f"`{q[3]} AND x`" in methods
    assert RUN in methods and 'name = "test"' in methods


def test_report_builds_with_every_figure_on_the_small_warehouse(small, tmp_path, wh_path):
    small.close()
    out = tmp_path / "report"
    res = miner_cli("report", "--out", str(out), "--warehouse", str(wh_path))
    assert res.returncode == 0, res.stderr
    html = (out / "index.html").read_text()
    for name in ("funnel", "yield_heatmap", "incidents_over_time", "agreement"):
        png = out / f"{name}.png"
        assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"
        assert f'src="{name}.png"' in html
    # every figure but agreement has data here (agreement needs two annotators)
    assert "agreement.png  (no data yet)" in res.stdout
    assert "funnel.png  (no data yet)" not in res.stdout and "incidents_over_time.png  (no data yet)" not in res.stdout
    methods = (out / "methods.md").read_text()
    assert methods.startswith("## Methods appendix") and methods in html.replace("&#34;", '"').replace("&#39;", "'")


def test_report_of_an_empty_warehouse_says_no_data_yet(wh, tmp_path):
    report = build_report(wh, tmp_path / "r")
    assert [f.has_data for f in report.figures] == [False] * 4
    assert all((tmp_path / "r" / f"{f.name}.png").exists() for f in report.figures)
    assert "No data yet." in report.html.read_text()
    assert "No harvest has run yet." in report.methods.read_text()


# -- export ------------------------------------------------------------------------------------

def _rows(table) -> list[str]:
    """Rows, order-free; a 128-bit count (Decimal in Arrow) equals the same count as BIGINT."""
    def norm(v):
        return int(v) if isinstance(v, Decimal) and v == v.to_integral_value() else v
    return sorted(repr({k: norm(v) for k, v in r.items()}) for r in table.to_pylist())


def test_parquet_export_round_trips_every_view(small, tmp_path, wh_path):
    views = small.view_names()
    expected = {v: small.arrow(f'SELECT * FROM "{v}"') for v in views if v in ALLOWED}
    small.close()
    res = miner_cli("export", "tables", "--format", "parquet", "--out", str(tmp_path / "x"),
                    "--warehouse", str(wh_path))
    assert res.returncode == 0, res.stderr
    assert sorted(p.stem for p in (tmp_path / "x").glob("*.parquet")) == [v for v in views if v in ALLOWED]
    for v, table in expected.items():
        back = pq.read_table(tmp_path / "x" / f"{v}.parquet")
        assert back.schema.names == table.schema.names
        assert _rows(back) == _rows(table), v
    assert expected["v_query_yield"].num_rows == len(QUERIES)


@pytest.mark.parametrize("view,why", [
    ("pseudonym_maps", "not an exportable view"), ("documents", "not an exportable view"),
    ("v_nope", "no such view"), ("v_canonical_documents", "raw text, permalinks"),
    ("v_incidents", "miner export incidents")])
def test_export_tables_refuses_what_carries_text_or_identifiers(small, tmp_path, wh_path, view, why):
    small.close()
    res = miner_cli("export", "tables", "--view", view, "--out", str(tmp_path / "x"), "--warehouse", str(wh_path))
    assert res.returncode == 2 and why in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not list((tmp_path / "x").glob("*")) if (tmp_path / "x").exists() else True


def test_report_shows_agreement_when_two_annotators_overlap(small, tmp_path):
    second = {"reddit:t3_d1": "incident", "reddit:t3_d2": "incident", "reddit:t3_d4": "incident"}
    small.insert("annotations", [dict(doc_id=d, annotator="bob", decision=dec, created_at=T)
                                 for d, dec in second.items()])
    report = build_report(small, tmp_path / "r")
    assert {f.name: f.has_data for f in report.figures}["agreement"]
    kappa = small.dicts("SELECT * FROM v_agreement WHERE measure = 'cohen_kappa'")[0]
    assert kappa["n_items"] == len(second)
    line = next(ln for ln in report.methods.read_text().splitlines() if ln.startswith("| Cohen's kappa"))
    assert f"| {kappa['n_items']} |" in line and f"{kappa['observed']:.3f}" in line


def test_report_funnel_says_why_items_drop_and_time_axis_keeps_empty_months():
    from datetime import date

    from miner.report.figures import drop_reason, every_month
    # the candidates left out scored below the threshold; they are not "likely (score >= 0.5)"
    assert drop_reason("candidates", "likely incidents (score >= 0.5)") == "scored below 0.5"
    # scenarios count scenarios: incidents outside any scenario are not "condensed" into one
    assert drop_reason("incidents", "scenarios") is None
    assert every_month({date(2025, 11, 1), date(2026, 2, 1)}) == [date(2025, 11, 1), date(2025, 12, 1),
                                                                 date(2026, 1, 1), date(2026, 2, 1)]


def test_sql_csv_lines_end_with_a_bare_newline_for_shell_pipelines(small, wh_path):
    small.close()
    res = subprocess.run([sys.executable, "-m", "miner", "sql", "SELECT 'inc-0001' AS id", "--format", "csv",
                          "--warehouse", str(wh_path)], capture_output=True, env={**os.environ})  # bytes: no newline translation
    assert res.returncode == 0, res.stderr
    assert res.stdout == b"id\ninc-0001\n"  # CRLF made id=$(... | tail -1) end in \r
