"""Harvesting the paper's plan from the replay server into a real DuckDB file."""

from __future__ import annotations

import pytest

from miner.plan.plan import load_plan
from tests.helpers import all_text, harvest

PAPER = "queries/paper.toml"


@pytest.fixture
def harvested(wh, endpoints):
    plan = load_plan(PAPER)
    run_id, outcomes = harvest(wh, plan, endpoints)
    return plan, run_id, outcomes


def test_every_query_runs_and_hits_carry_lineage(wh, harvested):
    plan, run_id, outcomes = harvested
    assert len(outcomes) == 79 and all(o.status == "ok" for o in outcomes), [o.error for o in outcomes if o.error]
    rows = wh.dicts("SELECT * FROM hits WHERE via = 'search'")
    assert rows
    for h in rows:
        assert h["plan_id"] == plan.plan_id and h["run_id"] == run_id
        assert h["rank"] >= 1 and h["fetched_at"] is not None and h["payload_id"]
    # every hit's payload is stored, and the document appears in it
    missing = wh.scalar("SELECT count(*) FROM hits h LEFT JOIN raw_payloads p USING (payload_id) "
                        "WHERE h.via = 'search' AND p.payload_id IS NULL")
    assert missing == 0


def test_a_document_found_by_many_queries_is_one_row_with_many_hits(wh, harvested):
    multi = wh.rows("SELECT doc_id, count(*) FROM hits WHERE via = 'search' GROUP BY 1 HAVING count(*) > 1")
    assert multi, "the paper's overlapping queries should find some posts more than once"
    assert wh.scalar("SELECT count(*) FROM documents") == wh.scalar("SELECT count(DISTINCT doc_id) FROM documents")
    assert wh.scalar("SELECT count(DISTINCT doc_id) FROM hits") == wh.scalar("SELECT count(*) FROM documents")


def test_hits_match_what_the_query_asks_for(wh, harvested, corpus):
    from miner.plan.query import IndexedText, compile_query, parse
    rows = wh.rows("SELECT q.rendered, d.native_id FROM hits h JOIN queries q USING (query_id) "
                   "JOIN documents d USING (doc_id) WHERE h.via = 'search' AND q.source = 'reddit'")
    by_id = {f"t3_{s.id36}": s for s in corpus.submissions}
    for rendered, native in rows:
        s = by_id[native]
        assert compile_query(parse(rendered))(IndexedText(f"{s.title}\n{s.selftext}")), (rendered, s.key)
        assert s.subreddit in ("CPTSD", "mentalhealth", "depression", "anxiety", "bipolar")


def test_comments_come_with_their_post_up_to_the_plan_limit(wh, harvested):
    per_post = wh.rows("SELECT thread_id, count(*) FROM documents WHERE kind = 'comment' GROUP BY 1")
    assert per_post and max(n for _, n in per_post) <= 10
    orphans = wh.scalar("SELECT count(*) FROM documents c WHERE kind = 'comment' AND NOT EXISTS "
                        "(SELECT 1 FROM documents s WHERE s.doc_id = c.thread_id)")
    assert orphans == 0
    # each comment has a 'thread' hit under the query that found its post
    assert wh.scalar("SELECT count(*) FROM documents d WHERE kind = 'comment' AND NOT EXISTS "
                     "(SELECT 1 FROM hits h WHERE h.doc_id = d.doc_id AND h.via = 'thread')") == 0


def test_rerun_is_idempotent_and_costs_one_request_per_query(wh, endpoints, harvested):
    plan, _, _ = harvested
    before_docs = wh.scalar("SELECT count(*) FROM documents")
    before_hits = wh.rows("SELECT query_id, count(*) FROM hits GROUP BY 1 ORDER BY 1")
    run2, outcomes = harvest(wh, plan, endpoints)
    assert wh.scalar("SELECT count(*) FROM documents") == before_docs
    assert wh.rows("SELECT query_id, count(*) FROM hits GROUP BY 1 ORDER BY 1") == before_hits
    assert sum(o.new_documents for o in outcomes) == 0
    assert wh.scalar("SELECT count(*) FROM requests WHERE run_id = ?", [run2]) == 79


def test_no_raw_username_or_handle_is_stored_anywhere(wh, harvested, corpus):
    text = all_text(wh)
    authors = {s.author for s in corpus.submissions} | {c.author for c, _ in corpus.comments()}
    found = [a for a in authors if a in text]
    assert not found, found[:5]
    handles = [p.text.removeprefix("/").removeprefix("u/") for p in corpus.pii if p.type == "handle"]
    assert handles and not [h for h in handles if h in text]


def test_funnel_counts_queries_hits_and_documents_per_source(wh, harvested):
    rows = {(r["source"], r["stage"]): r["n"] for r in wh.dicts("SELECT * FROM v_funnel")}
    assert rows[("reddit", "queries run")] == 75 and rows[("news", "queries run")] == 4
    for src in ("reddit", "news"):
        assert rows[(src, "hits")] == wh.scalar("SELECT count(*) FROM hits WHERE source = ?", [src])
        assert rows[(src, "unique documents")] <= rows[(src, "hits")]
