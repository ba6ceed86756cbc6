"""How fast are the analysts' views, saved queries, the report and the export on a big warehouse?

Builds a warehouse of generated rows (default 1,000,000 documents and 5,000,000 hits from
300 queries over 30 nightly runs) in bulk with SQL generate_series, then times every public
view (v_*), every saved query (warehouse/queries/*.sql), ``miner report`` and
``miner export tables``. Target: each view and saved query under 1 s on 2 cores.

The incidents tables are created as stand-ins of the shape the views require when
the warehouse has none, so v_incidents_by_month and the incident columns of v_query_yield do
real work. Text columns are short: the views never read document text.

    python bench/warehouse.py                       # 1M documents, 5M hits (about a minute to build)
    python bench/warehouse.py --docs 100000 --hits 500000   # a quick check
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MINER_SECRET", "bench")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from miner.core.db import Warehouse, saved_queries_dir  # noqa: E402
from miner.report.render import build_report  # noqa: E402
from miner.report.tables import export_views  # noqa: E402
from miner.triage.care import CARE_VERSION  # noqa: E402

PRODUCTS = ["ChatGPT", "Claude", "Gemini", "Grok", "Copilot", "Bard", "GPT-4", "GPT-3", "OpenAI",
            "Anthropic", "Google AI", "Microsoft AI", "Perplexity", "Character.AI", "Replika"]
TEMPLATES = ["{product} and deny", "{product} and refuse", "{product} and reject",
             "{product} and guardrails", "{product} and stopped working"]
SCOPES = ["r/CPTSD+mentalhealth", "r/depression", "r/anxiety", "r/bipolar"]
CONTEXTS = ["psychotherapy", "companionship", "coaching", "interpersonal_advice", "crisis"]
FORMS = ["hard_refusal", "soft_redirect", "resource_referral", "content_flag", "persona_change",
         "stopped_responding"]


def sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def build(wh: Warehouse, docs: int, hits: int, runs: int, incidents: int) -> None:
    """Every table the views read, filled with SQL (no Python loop over rows)."""
    n_queries = len(PRODUCTS) * len(TEMPLATES) * len(SCOPES)
    if hits // n_queries > docs:
        raise SystemExit(f"--hits {hits} needs at least {hits // n_queries} documents")
    ex = wh.execute
    ex("INSERT INTO plans VALUES ('bench@1', 'bench', 'bench.toml', 'x', 'name = \"bench\"', TIMESTAMP '2024-01-01')")
    ex(f"""INSERT INTO queries
        SELECT 'q_' || p.i || '_' || t.i || '_' || s.i, 'reddit', s.v, p.v || ' ' || t.v, p.v || ' AND ' || t.v, p.v, t.v
        FROM (SELECT unnest({sql_list(PRODUCTS)}) v, generate_subscripts({sql_list(PRODUCTS)}, 1) i) p,
             (SELECT unnest({sql_list(TEMPLATES)}) v, generate_subscripts({sql_list(TEMPLATES)}, 1) i) t,
             (SELECT unnest({sql_list(SCOPES)}) v, generate_subscripts({sql_list(SCOPES)}, 1) i) s""")
    ex("INSERT INTO plan_queries SELECT 'bench@1', query_id, 0, 1000 FROM queries")
    ex(f"""CREATE TEMP TABLE qn AS SELECT row_number() OVER (ORDER BY query_id) - 1 AS qi, query_id FROM queries""")
    ex(f"""INSERT INTO harvest_runs (run_id, plan_id, started_at, finished_at, status, endpoint)
        SELECT 'run_' || lpad(r::VARCHAR, 4, '0'), 'bench@1', TIMESTAMP '2024-01-01' + INTERVAL (r) DAY,
               TIMESTAMP '2024-01-01' + INTERVAL (r) DAY + INTERVAL 20 MINUTE, 'ok', 'replay'
        FROM range({runs}) t(r)""")
    ex(f"""INSERT INTO run_queries
        SELECT 'run_' || lpad(r::VARCHAR, 4, '0'), query_id, 'reddit', CASE WHEN (qi + r) % 97 = 0 THEN 'failed' ELSE 'ok' END,
               1 + (qi + r) % 3, 5, 2, NULL, NULL, NULL
        FROM range({runs}) t(r), qn""")
    ex("""INSERT INTO requests (run_id, query_id, source, endpoint, status, items, started_at)
        SELECT run_id, query_id, source, '/search', 200, 25, TIMESTAMP '2024-01-01' FROM run_queries""")
    # Documents: 90% Reddit (a quarter of them comments), 10% news, written over three years, 2% deleted.
    ex(f"""INSERT INTO documents (doc_id, source, kind, native_id, community, created_at, state, content_hash,
                                  first_seen_at, last_seen_at, first_run_id, last_run_id)
        SELECT CASE WHEN i % 10 = 9 THEN 'news:' || i WHEN i % 4 = 3 THEN 'reddit:t1_' || i ELSE 'reddit:t3_' || i END,
               CASE WHEN i % 10 = 9 THEN 'news' ELSE 'reddit' END,
               CASE WHEN i % 10 = 9 THEN 'article' WHEN i % 4 = 3 THEN 'comment' ELSE 'submission' END,
               i::VARCHAR, 'community' || (i % 5),
               TIMESTAMP '2023-01-01' + INTERVAL ((i * 7919) % (3 * 365 * 86400)) SECOND,
               CASE WHEN i % 50 = 0 THEN 'deleted' ELSE 'ok' END, md5(i::VARCHAR),
               TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-01',
               'run_' || lpad((i % {runs})::VARCHAR, 4, '0'), 'run_' || lpad((i % {runs})::VARCHAR, 4, '0')
        FROM range({docs}) t(i)""")
    ex(f"""CREATE TEMP TABLE dn AS SELECT row_number() OVER (ORDER BY doc_id) - 1 AS di, doc_id, source FROM documents""")
    # Hits: query i % Q, document (i // Q + 3331 q) % D: unique per (query, document), spread over documents.
    ex(f"""INSERT INTO hits
        SELECT 'bench@1', qn.query_id, dn.doc_id, dn.source, CASE WHEN i % 5 = 4 THEN 'thread' ELSE 'search' END,
               'run_' || lpad((i % {runs})::VARCHAR, 4, '0'), 1 + (i // {n_queries}) % 1000,
               TIMESTAMP '2024-01-01' + INTERVAL (i % {runs}) DAY, NULL,
               'run_' || lpad((i % {runs})::VARCHAR, 4, '0'), TIMESTAMP '2024-02-01'
        FROM range({hits}) t(i)
        JOIN qn ON qn.qi = i % {n_queries}
        JOIN dn ON dn.di = (i // {n_queries} + 3331 * (i % {n_queries})) % {docs}""")
    if incidents:
        ex(f"""INSERT INTO incidents (incident_id, status, product, support_context, refusal_form, created_at, updated_at)
            SELECT 'inc_' || i, 'open', {sql_list(PRODUCTS)}[1 + i % {len(PRODUCTS)}],
                   {sql_list(CONTEXTS)}[1 + i % {len(CONTEXTS)}],
                   list_slice({sql_list(FORMS)}, 1 + i % {len(FORMS)}, 1 + i % {len(FORMS)} + i % 2),
                   TIMESTAMP '2024-02-01', TIMESTAMP '2024-02-01'
            FROM range({incidents}) t(i)""")
        ex(f"""INSERT INTO incident_documents (incident_id, doc_id, added_at)
            SELECT DISTINCT 'inc_' || i, dn.doc_id, TIMESTAMP '2024-02-01' FROM range({incidents}) t(i), range(2) k(j)
            JOIN dn ON dn.di = (i * 197 + j * 13) % {docs}""")
    if wh.relation_exists("clean_texts") and wh.relation_exists("annotations"):
        triage(wh, docs)
    ex("DROP TABLE qn")
    ex("DROP TABLE dn")
    wh.refresh_views(force=True)


def triage(wh: Warehouse, docs: int) -> None:
    """When the process and triage stages' tables exist: the state after
    `miner process` and some annotation. Deleted documents have no text; one document in 20 is
    a duplicate of its neighbour; one in 100 has a decision, a fifth of those "incident", and
    a tenth of those a second annotator; every canonical document with text has a score, three
    evidence spans, a cluster (or the outlier lane) and care flags."""
    ex = wh.execute
    ex("""INSERT INTO clean_texts (doc_id, content_hash, cleaner_version, state, text, text_hash, n_words, cleaned_at)
        SELECT d.doc_id, d.content_hash, 'bench', CASE WHEN d.state = 'ok' THEN 'ok' ELSE d.state END, 'x',
               d.content_hash, 1, TIMESTAMP '2024-02-01'
        FROM documents d""")
    ex("""INSERT INTO dup_members (doc_id, canonical_id, is_canonical, method, similarity, group_size, updated_at)
        SELECT doc_id, canonical_id, doc_id = canonical_id, CASE WHEN doc_id = canonical_id THEN NULL ELSE 'near_text' END,
               0.9, 2, TIMESTAMP '2024-02-01'
        FROM (SELECT dn.doc_id, first_value(dn.doc_id) OVER (PARTITION BY dn.di // 2 ORDER BY dn.di) AS canonical_id
              FROM dn WHERE (dn.di // 2) % 10 = 0)""")
    ex("""INSERT INTO annotations (doc_id, annotator, decision, created_at)
        SELECT doc_id, 'annotator_' || (di % 2), CASE WHEN di % 500 = 0 THEN 'incident' ELSE 'not' END,
               TIMESTAMP '2024-02-02'
        FROM dn WHERE di % 100 = 0""")
    # a second annotator on a tenth of those (agreement has pairs to measure)
    ex("""INSERT INTO annotations (doc_id, annotator, decision, created_at)
        SELECT doc_id, 'annotator_' || (1 - di % 2), CASE WHEN di % 3000 = 0 THEN 'incident' ELSE 'not' END,
               TIMESTAMP '2024-02-03'
        FROM dn WHERE di % 1000 = 0""")
    # scores of one cold scorer over every canonical document with text, in queue order
    ex("""INSERT INTO scorers VALUES ('cold-v2:bench', 'cold', 'bench', 0, 0, 0.0, '{}', TIMESTAMP '2024-02-03')""")
    ex("""INSERT INTO scores
        SELECT 'cold-v2:bench', doc_id, s, 1 - abs(2 * s - 1), row_number() OVER (ORDER BY s DESC, doc_id),
               'score', TIMESTAMP '2024-02-03'
        FROM (SELECT c.doc_id, (hash(c.doc_id) % 1000000) / 1e6 AS s FROM clean_texts c
              LEFT JOIN dup_members g USING (doc_id) WHERE c.state = 'ok' AND coalesce(g.is_canonical, true))""")
    # three evidence spans a document, 1,000 clusters (one in 20 documents an outlier), care flags
    ex("""INSERT INTO evidence SELECT doc_id, ['refusal', 'support', 'product'][k + 1], 'bench', 0, 1, 0.5
        FROM scores, range(3) t(k)""")
    ex("""INSERT INTO cluster_runs VALUES ('cl_bench', 'bench', 0, 0, 1000, 0, '{}', TIMESTAMP '2024-02-03')""")
    ex("""INSERT INTO clusters SELECT 'k' || i, 'bench', list_transform(range(384), lambda x: ((x * 31 + i) % 97) / 97.0)::FLOAT[384],
               0, ['word', 'other'], [], 'cl_bench', 'cl_bench', TIMESTAMP '2024-02-03', TIMESTAMP '2024-02-03'
        FROM range(1000) t(i)""")
    ex("""INSERT INTO cluster_members SELECT doc_id, CASE WHEN hash(doc_id) % 20 = 0 THEN NULL
               ELSE 'k' || (hash(doc_id) % 1000) END, 0.8, 'cl_bench', TIMESTAMP '2024-02-03' FROM scores""")
    ex("""UPDATE clusters SET size = n FROM (SELECT cluster_id, count(*) AS n FROM cluster_members GROUP BY 1) m
        WHERE m.cluster_id = clusters.cluster_id""")
    ex(f"""INSERT INTO care_flags SELECT doc_id, text_hash, '{CARE_VERSION}', CASE WHEN hash(doc_id) % 100 = 0 THEN ['suicide']
               ELSE [] END, TIMESTAMP '2024-02-03' FROM clean_texts""")


def timed(fn, repeat: int) -> tuple[float, float]:
    """(first run, median of the rest) in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times[0], statistics.median(times[1:] or times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--hits", type=int, default=5_000_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--incidents", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--path", type=Path, help="Warehouse file, kept (default: a temporary one, deleted after); "
                    "if it already holds hits, it is reused as it is")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="bench-warehouse-")
    path = args.path or Path(tmp.name) / "bench.duckdb"
    with Warehouse.open(path) as wh:
        t0 = time.perf_counter()
        reused = wh.scalar("SELECT count(*) FROM hits") > 0
        if not reused:
            build(wh, args.docs, args.hits, args.runs, args.incidents)
        print(f"{'reused' if reused else 'built'} {wh.scalar('SELECT count(*) FROM documents'):,} documents, "
              f"{wh.scalar('SELECT count(*) FROM hits'):,} hits, "
              f"{wh.scalar('SELECT count(*) FROM queries')} queries, "
              f"{wh.scalar('SELECT count(*) FROM harvest_runs')} runs in {time.perf_counter() - t0:.1f} s "
              f"(threads: {wh.scalar('SELECT current_setting(' + repr('threads') + ')')})")
        skipped = wh.skipped_views()
        if skipped:
            print("views not installed here:", "; ".join(f"{k} ({v})" for k, v in sorted(skipped.items())))
        rows = []
        targets = [(v, f'SELECT * FROM "{v}"') for v in wh.view_names("v_")]
        targets += [(f.name, f.read_text().strip().rstrip(";")) for f in sorted(saved_queries_dir().glob("*.sql"))]
        for name, sql in targets:
            # materialize the whole result inside DuckDB (no Python conversion in the timing)
            first, warm = timed(lambda: wh.execute(f"CREATE OR REPLACE TEMP TABLE _bench AS {sql}"), args.repeat)
            n = wh.scalar("SELECT count(*) FROM _bench")
            rows.append((name, n, first, warm))
        width = max(len(r[0]) for r in rows)
        print(f"{'view / saved query':<{width}}  {'rows':>8}  {'first s':>8}  {'median s':>8}")
        for name, n, first, warm in rows:
            flag = "" if max(first, warm) < 1.0 else "  OVER 1 s"
            print(f"{name:<{width}}  {n:>8,}  {first:>8.3f}  {warm:>8.3f}{flag}")
        out = Path(tmp.name)
        first, warm = timed(lambda: build_report(wh, out / "report"), 2)
        print(f"miner report: {first:.2f} s first, {warm:.2f} s again")
        first, _ = timed(lambda: export_views(wh, out / "export"), 1)
        print(f"miner export tables (parquet, {len(wh.view_names('v_'))} views): {first:.2f} s")
    tmp.cleanup()


if __name__ == "__main__":
    main()
