"""Nightly harvests: incremental, within limits, through faults, crashes and deletions."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from miner.collect.deletions import check_deletions, due
from miner.collect.harvest import Harvester, RetryPolicy
from miner.collect.store import harvest_lock, start_run
from miner.core.config import Endpoints
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.plan.budget import QueryHistory, plan_run
from miner.plan.plan import Budget, expand, load_plan
from miner.replay.server import Fault, RateWindow, ReplayOptions, ReplayServer
from tests.helpers import NO_SLEEP, harvest

ROOT = Path(__file__).resolve().parent.parent
PAPER = ROOT / "queries" / "paper.toml"


def snapshot(wh: Warehouse) -> dict:
    """What an uninterrupted run must leave: documents (with content) and hits (with rank)."""
    return {
        "documents": set(wh.rows("SELECT doc_id, content_hash, state FROM documents")),
        "hits": set(wh.rows("SELECT plan_id, query_id, doc_id, via, rank FROM hits")),
    }


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    """The paper plan harvested once, uninterrupted, from an untouched replay server."""
    path = tmp_path_factory.mktemp("ref") / "ref.duckdb"
    with ReplayServer(corpus) as server, Warehouse.open(path) as wh:
        harvest(wh, load_plan(PAPER), Endpoints(server.url, server.url))
        return snapshot(wh)


def small_plan(tmp_path, extra: str = "", budget: str = "") -> Path:
    p = tmp_path / "small.toml"
    p.write_text(f'''name = "small"
products = [{{name = "ChatGPT", priority = 2}}, "Claude", "Replika"]
[reddit]
templates = ["{{product}} and refuse", "{{product}} and stopped working"]
subreddits = ["CPTSD", "mentalhealth", "depression", "anxiety", "bipolar"]
{extra}
[news]
queries = ["mental health AI refused", "mental health AI denied"]
[budget]
{budget}
''')
    return p


# -- incremental ---------------------------------------------------------------------------
def test_new_items_between_runs_are_fetched_once_and_nothing_is_missed(fresh_replay, wh, reference):
    plan = load_plan(PAPER)
    ep = Endpoints(fresh_replay.url, fresh_replay.url)
    times = sorted(s.created_utc for s in fresh_replay.corpus.submissions)
    cutoff = times[len(times) * 3 // 4]
    fresh_replay.set_clock(cutoff)
    harvest(wh, plan, ep)
    first = {d for (d,) in wh.rows("SELECT DISTINCT doc_id FROM hits WHERE via = 'search'")}
    assert first, "the first run should find something before the cutoff"

    fresh_replay.set_clock(None)  # the posts written since appear
    run2, outcomes = harvest(wh, plan, ep)
    new = {d for (d,) in wh.rows("SELECT DISTINCT doc_id FROM hits WHERE via = 'search' AND run_id = ?", [run2])}
    assert new and not new & first
    created = dict(wh.rows("SELECT doc_id, epoch(created_at) FROM documents"))
    assert all(created[d] > cutoff for d in new)
    # the same hits as one full run (ranks differ: an incremental pass ranks only what is new)
    searched = {h[:4] for h in reference["hits"] if h[3] == "search"}
    assert {h[:4] for h in snapshot(wh)["hits"] if h[3] == "search"} == searched

    run3, outcomes = harvest(wh, plan, ep)
    assert sum(o.new_documents for o in outcomes) == 0
    assert wh.scalar("SELECT count(*) FROM requests WHERE run_id = ?", [run3]) == len(expand(plan))


def test_young_threads_get_their_comments_refreshed_old_ones_do_not(fresh_replay, wh):
    plan = load_plan(PAPER)
    ep = Endpoints(fresh_replay.url, fresh_replay.url)
    corpus = fresh_replay.corpus
    harvest(wh, plan, ep)  # to learn which threads the plan finds
    found = {n for (n,) in wh.rows("SELECT native_id FROM documents WHERE kind = 'submission'")}
    thread = next(s for s in corpus.submissions if f"t3_{s.id36}" in found and s.state == "ok"
                  and len(s.comments) >= 4 and len({c.created_utc for c in s.comments}) >= 4)

    # Start again, with only the thread's first comment written when the harvest runs.
    wh.execute("DELETE FROM documents; DELETE FROM hits; DELETE FROM query_state;")
    first_comment = min(c.created_utc for c in thread.comments)
    fresh_replay.set_clock(first_comment)
    run1, _ = harvest(wh, plan, ep)
    before = wh.scalar("SELECT count(*) FROM documents WHERE thread_id = ?", [f"reddit:t3_{thread.id36}"])
    fresh_replay.set_clock(None)

    now = datetime.fromtimestamp(thread.created_utc, tz=timezone.utc).replace(tzinfo=None) + timedelta(days=2)
    run2 = start_run(wh, plan, endpoint="replay")
    from miner.collect.sources import sources_for
    from miner.core.config import installation_secret
    from miner.collect.pseudonyms import Pseudonymizer
    h = Harvester(wh, plan, run2, Pseudonymizer(installation_secret(wh.path)),
                  reddit=sources_for(ep, "reddit", None), retry=NO_SLEEP)
    out = h.refresh_comments(expand(plan), max_age_days=7, now=now)
    after = wh.scalar("SELECT count(*) FROM documents WHERE thread_id = ?", [f"reddit:t3_{thread.id36}"])
    assert out.status == "ok" and after > before
    # only threads created in the 7 days before `now` were asked for
    young = wh.scalar("SELECT count(*) FROM documents WHERE kind = 'submission' AND created_at >= ? "
                      "AND created_at <= ?", [now - timedelta(days=7), now])
    assert 1 <= out.requests <= young
    # every refreshed comment is attributed to the queries that found its thread
    assert wh.scalar("SELECT count(*) FROM documents d WHERE thread_id = ? AND NOT EXISTS "
                     "(SELECT 1 FROM hits h WHERE h.doc_id = d.doc_id AND h.via = 'thread')",
                     [f"reddit:t3_{thread.id36}"]) == 0


def test_each_run_records_what_each_query_did(wh, endpoints):
    plan = load_plan(PAPER)
    run_id, outcomes = harvest(wh, plan, endpoints)
    rows = wh.dicts("SELECT * FROM run_queries WHERE run_id = ?", [run_id])
    assert len(rows) == len(expand(plan)) and all(r["status"] == "ok" for r in rows)
    assert sum(r["requests"] for r in rows) == wh.scalar("SELECT count(*) FROM requests WHERE run_id = ?", [run_id])
    run = wh.dicts("SELECT * FROM v_runs WHERE run_id = ?", [run_id])[0]
    assert run["status"] == "ok" and run["queries_ok"] == len(rows)
    by_run = {(r["source"], r["stage"]): r["n"] for r in wh.dicts("SELECT * FROM v_funnel_by_run WHERE run_id = ?",
                                                                  [run_id])}
    assert by_run[("reddit", "new documents")] + by_run[("news", "new documents")] == \
        wh.scalar("SELECT count(*) FROM documents")


# -- limits --------------------------------------------------------------------------------
def test_pacing_stays_under_an_enforced_limit(corpus, wh, tmp_path):
    """The server allows 20 requests per 2-second window; the client paces at 95% of that."""
    options = ReplayOptions(rate=RateWindow(requests=20, seconds=2.0))
    with ReplayServer(corpus, options=options) as server:
        from miner.collect.sources.reddit import RedditSource
        from miner.core.config import REPLAY_REDDIT
        plan = load_plan(small_plan(tmp_path))
        reddit = RedditSource(REPLAY_REDDIT, base_url=server.url, requests_per_minute=0.95 * 20 * 30,
                              window_seconds=2)
        run = start_run(wh, plan, endpoint="replay")
        h = Harvester(wh, plan, run, _pseudo(wh), reddit=reddit, retry=NO_SLEEP)
        t0 = time.monotonic()
        outcomes = [h.run_query(q) for q in expand(plan) if q.source == "reddit"]
        elapsed = time.monotonic() - t0
        assert all(o.status == "ok" for o in outcomes)
        assert server.stats["429"] == 0
        sent = server.stats["requests"]
        assert sent / elapsed <= 10.5  # never faster than the limit (10/s)


def test_a_429_waits_for_the_reset_the_server_gives(fresh_replay, wh, tmp_path):
    fresh_replay.add_fault(Fault("search", "429", first=1, seconds=3))
    slept: list[float] = []
    plan = load_plan(small_plan(tmp_path))
    run_id, outcomes = harvest(wh, plan, Endpoints(fresh_replay.url, fresh_replay.url), sources=("reddit",),
                               retry=RetryPolicy(attempts=3, base_seconds=0.01, sleep=slept.append))
    assert all(o.status == "ok" for o in outcomes)
    assert slept and max(slept) >= 3
    assert wh.scalar("SELECT count(*) FROM requests WHERE status = 429") == 1


def test_news_daily_budget_defers_queries_without_sending_them(fresh_replay, wh, tmp_path):
    plan = load_plan(small_plan(tmp_path, budget="news_requests_per_day = 1"))
    ep = Endpoints(fresh_replay.url, fresh_replay.url)
    run = start_run(wh, plan, endpoint="replay")
    from miner.collect.harvest import RequestBudget
    from miner.collect.sources import sources_for
    h = Harvester(wh, plan, run, _pseudo(wh), news=sources_for(ep, "news"), retry=NO_SLEEP,
                  budget=RequestBudget.for_run(wh, run, plan.budget))
    outcomes = [h.run_query(q) for q in expand(plan) if q.source == "news"]
    assert [o.status for o in outcomes] == ["ok", "deferred"]
    assert fresh_replay.stats["news"] == 1


def test_newsapi_rate_limited_is_the_end_of_the_day_not_a_crash(corpus, wh, tmp_path):
    with ReplayServer(corpus, options=ReplayOptions(news_daily_limit=1)) as server:
        plan = load_plan(small_plan(tmp_path))
        run_id, outcomes = harvest(wh, plan, Endpoints(server.url, server.url), sources=("news",))
        assert [o.status for o in outcomes] == ["ok", "deferred"]
        assert "rate limit" in outcomes[1].error
        assert server.stats["news"] == 2  # one answered, one refused; nothing after that
    assert wh.scalar("SELECT status FROM harvest_runs WHERE run_id = ?", [run_id]) == "partial"


def test_budget_planner_runs_priorities_first_and_rotates_the_rest():
    plan = load_plan(PAPER)
    queries = [q for q in expand(plan) if q.source == "reddit"][:6]
    queries[4] = replace(queries[4], priority=5)
    history = {q.query_id: QueryHistory(completed=True, last_requests=10,
                                        last_ran_at=datetime(2025, 1, 1) + timedelta(days=i))
               for i, q in enumerate(queries)}
    rp = plan_run(queries, Budget(reddit_requests_per_run=30), history)
    assert [q.query_id for q in rp.run] == [queries[4].query_id, queries[0].query_id, queries[1].query_id]
    assert len(rp.deferred) == 3 and "Budget cannot cover" in rp.message
    everything = plan_run(queries, Budget(reddit_requests_per_run=None), history)
    assert not everything.deferred and everything.message is None


def test_over_budget_queries_are_skipped_then_run_first_next_time(fresh_replay, tmp_path, wh_path):
    plan_path = small_plan(tmp_path, budget="reddit_requests_per_run = 40")
    script = ROOT / "bench" / "harvest_worker.py"

    def run_once() -> list[tuple[str, str]]:
        out = subprocess.run([sys.executable, str(script), str(wh_path), str(plan_path), fresh_replay.url],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        with Warehouse.open(wh_path) as wh:
            return wh.rows("SELECT r.query_id, r.status FROM run_queries r JOIN queries q USING (query_id) "
                           "WHERE q.source = 'reddit' AND run_id = (SELECT run_id FROM harvest_runs "
                           "ORDER BY started_at DESC LIMIT 1) ORDER BY r.started_at, r.query_id")

    by_priority = [q.query_id for q in expand(load_plan(plan_path)) if q.source == "reddit"]
    first = run_once()
    ran = [q for q, s in first if s != "skipped"]
    assert ran == by_priority[:1]  # highest priority first; the rest would blow the budget
    with Warehouse.open(wh_path) as wh:
        assert "Budget cannot cover" in wh.scalar("SELECT note FROM harvest_runs")
        assert wh.scalar("SELECT status FROM harvest_runs") == "partial"
    second = run_once()
    assert [q for q, s in second if s != "skipped"][0] == by_priority[1]  # the next one waited, now goes first


# -- faults --------------------------------------------------------------------------------
def test_transient_faults_are_retried_and_the_result_is_complete(fresh_replay, wh, reference):
    fresh_replay.add_fault(Fault("search", "500", first=3))
    fresh_replay.add_fault(Fault("search", "503", rate=0.05))
    fresh_replay.add_fault(Fault("comments", "malformed", first=2))
    fresh_replay.add_fault(Fault("news", "500", first=1))
    fresh_replay.add_fault(Fault("search", "short", rate=0.3))
    run_id, outcomes = harvest(wh, load_plan(PAPER), Endpoints(fresh_replay.url, fresh_replay.url),
                               retry=RetryPolicy(attempts=6, base_seconds=0.0, sleep=lambda s: None))
    assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes if o.error]
    assert snapshot(wh)["documents"] == reference["documents"]
    assert {h[:4] for h in snapshot(wh)["hits"]} == {h[:4] for h in reference["hits"]}
    assert wh.scalar("SELECT count(*) FROM requests WHERE error IS NOT NULL") >= 3


def test_every_attempt_is_a_requests_row_including_the_clients_own_retries(fresh_replay, wh, tmp_path):
    """prawcore retries a 5xx itself before our retry policy sees anything: each of those
    attempts must still be logged, or a researcher cannot tell a flaky API from a quiet one."""
    fresh_replay.add_fault(Fault("search", "503", rate=0.25))
    fresh_replay.add_fault(Fault("comments", "500", rate=0.1))
    plan = load_plan(small_plan(tmp_path))
    run_id, outcomes = harvest(wh, plan, Endpoints(fresh_replay.url, fresh_replay.url), sources=("reddit",),
                               retry=RetryPolicy(attempts=8, base_seconds=0.0, sleep=lambda s: None))
    assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes if o.error]
    injected = fresh_replay.state()["stats"]
    logged = dict(wh.rows("SELECT status, count(*) FROM requests WHERE run_id = ? AND status >= 500 GROUP BY 1",
                          [run_id]))
    faults = injected.get("fault:503", 0) + injected.get("fault:500", 0)
    assert injected.get("fault:503") and injected.get("fault:500")
    # On a loaded machine a faulted answer can arrive after the client's timeout: then the
    # attempt is logged as a timeout (no status), still a row.
    timeouts = wh.scalar("SELECT count(*) FROM requests WHERE run_id = ? AND status IS NULL", [run_id])
    seen = {"logged": logged, "timeouts": timeouts, "injected": injected}
    assert faults - timeouts <= logged.get(503, 0) + logged.get(500, 0) <= faults, seen
    # every request the server answered for this run's queries is a row (the token request aside),
    # and so is every attempt that timed out, whether or not the server saw it
    served = injected["search"] + injected["comments"]
    rows = wh.scalar("SELECT count(*) FROM requests WHERE run_id = ?", [run_id])
    assert served <= rows <= served + timeouts, seen


def test_slow_responses_past_the_timeout_are_retried(fresh_replay, wh, tmp_path):
    fresh_replay.add_fault(Fault("news", "slow", first=1, seconds=2.5))
    plan = load_plan(small_plan(tmp_path))
    run_id, outcomes = harvest(wh, plan, Endpoints(fresh_replay.url, fresh_replay.url, timeout=1.0),
                               sources=("news",))
    assert all(o.status == "ok" for o in outcomes)
    errors = [e for (e,) in wh.rows("SELECT error FROM requests WHERE error IS NOT NULL")]
    assert errors and "Timeout" in errors[0]


def test_a_failing_query_is_recorded_and_retried_next_run(fresh_replay, wh, reference):
    plan = load_plan(PAPER)
    ep = Endpoints(fresh_replay.url, fresh_replay.url)
    fresh_replay.add_fault(Fault("news", "500", rate=1.0))
    run1, outcomes = harvest(wh, plan, ep)
    news = [o for o in outcomes if o.source == "news"]
    assert all(o.status == "failed" for o in news) and all(o.status == "ok" for o in outcomes if o.source == "reddit")
    assert wh.scalar("SELECT status FROM harvest_runs WHERE run_id = ?", [run1]) == "partial"
    states = wh.dicts("SELECT last_status, last_error, failures FROM query_state s JOIN queries q USING (query_id) "
                      "WHERE q.source = 'news'")
    assert all(s["last_status"] == "failed" and "500" in s["last_error"] and s["failures"] == 1 for s in states)
    fresh_replay.clear_faults()
    run2, outcomes = harvest(wh, plan, ep)
    assert all(o.status == "ok" for o in outcomes)
    assert snapshot(wh)["documents"] == reference["documents"]


# -- crashes -------------------------------------------------------------------------------
def test_sigkill_mid_harvest_then_rerun_equals_an_uninterrupted_run(corpus, tmp_path, reference):
    """A few trials here; bench/crash.py runs 20+ and prints the results."""
    rng = random.Random(11)
    script = ROOT / "bench" / "harvest_worker.py"
    with ReplayServer(corpus) as server:
        for trial in range(3):
            path = tmp_path / f"crash{trial}.duckdb"
            proc = subprocess.Popen([sys.executable, str(script), str(path), str(PAPER), server.url],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(1.5, 4.0))  # python start-up is ~1 s; the harvest takes a few seconds
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            done = subprocess.run([sys.executable, str(script), str(path), str(PAPER), server.url],
                                  capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, done.stderr
            with Warehouse.open(path) as wh:
                assert snapshot(wh) == reference, f"trial {trial}"
                statuses = {s for (s,) in wh.rows("SELECT status FROM harvest_runs")}
                assert statuses <= {"ok", "interrupted"}


def test_only_one_harvest_at_a_time(wh_path):
    with harvest_lock(wh_path):
        with pytest.raises(MinerError, match="another harvest"):
            with harvest_lock(wh_path):
                pass
    with harvest_lock(wh_path):  # released when the holder finishes (or dies)
        pass


# -- deletions -----------------------------------------------------------------------------
def test_deleted_and_removed_items_are_tombstoned_and_purged_everywhere(fresh_replay, wh):
    plan = load_plan(PAPER)
    ep = Endpoints(fresh_replay.url, fresh_replay.url)
    harvest(wh, plan, ep)
    live = wh.rows("SELECT native_id, doc_id, coalesce(title, '') || ' ' || body FROM documents "
                   "WHERE source = 'reddit' AND state = 'ok' AND length(body) > 80 ORDER BY doc_id LIMIT 6")
    gone = {n: (d, text) for n, d, text in live}
    names = list(gone)
    fresh_replay.delete(names[:4], "deleted")
    fresh_replay.delete(names[4:], "removed")
    hits_before = wh.scalar("SELECT count(*) FROM hits")

    result = check_deletions(str(wh.path), Endpoints(fresh_replay.url), force=True, requests_per_minute=None)
    assert result.tombstoned == 6 and result.checked >= 6
    assert result.requests == -(-result.checked // 100)  # 100 ids per request
    rows = {r["doc_id"]: r for r in wh.dicts("SELECT * FROM documents WHERE doc_id IN (SELECT unnest(?))",
                                             [[d for d, _ in gone.values()]])}
    for name, (doc_id, text) in gone.items():
        row = rows[doc_id]
        assert row["state"] == ("deleted" if name in names[:4] else "removed")
        assert row["title"] is None and row["body"] is None and row["purged_at"] is not None
    stored: list[str] = []
    for (body,) in wh.rows("SELECT body::VARCHAR FROM raw_payloads"):
        _strings(json.loads(body), stored)
    stored_text = " ".join(" ".join(stored).split())
    for _, text in gone.values():
        tail = " ".join(text.split()[-8:])
        assert tail not in stored_text
    # and the check itself can see text when it is there
    kept = wh.scalar("SELECT body FROM documents WHERE state = 'ok' AND kind = 'submission' AND length(body) > 80")
    assert " ".join(kept.split()[-8:]) in stored_text
    assert wh.scalar("SELECT count(*) FROM hits") == hits_before  # lineage stays
    assert not due(wh)  # at most once a day


def _pseudo(wh: Warehouse):
    from miner.core.config import installation_secret
    from miner.collect.pseudonyms import Pseudonymizer
    return Pseudonymizer(installation_secret(wh.path))


def _strings(obj, out: list[str]) -> None:
    if isinstance(obj, dict):
        for v in obj.values():
            _strings(v, out)
    elif isinstance(obj, list):
        for v in obj:
            _strings(v, out)
    elif isinstance(obj, str):
        out.append(obj)
