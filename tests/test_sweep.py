"""Sweeping whole communities: the real praw client reads the replay server's ``new`` and
comment listings page by page, back to the last pass, within Reddit's ~1,000-item cap."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from miner.collect.store import lost_windows
from miner.core.config import Endpoints
from miner.core.db import Warehouse
from miner.cli import main
from miner.plan.plan import harvest_queries, load_plan
from miner.replay.server import Fault, ReplayOptions, ReplayServer
from tests.helpers import harvest

ROOT = Path(__file__).resolve().parent.parent
SUBS = ("mentalhealth", "depression")


def sweep_plan(tmp_path, subs=SUBS) -> Path:
    p = tmp_path / "sweep.toml"
    p.write_text(f'''name = "sweep"
[reddit]
templates = []
subreddits = []
[[reddit.communities]]
subreddits = {list(subs)!r}
sweep = true
'''.replace("'", '"'))
    return p


def in_community(corpus, subs=SUBS, until: float | None = None) -> tuple[set[str], set[str]]:
    """Doc ids of the submissions and comments the communities hold (visible by ``until``)."""
    keep = {s.lower() for s in subs}
    seen = lambda t: until is None or t <= until  # noqa: E731
    subs_ = {s.doc_id for s in corpus.submissions if s.subreddit.lower() in keep and seen(s.created_utc)}
    coms = {c.doc_id for c, s in corpus.comments() if s.subreddit.lower() in keep and seen(c.created_utc)}
    return subs_, coms


def stored(wh: Warehouse, kind: str) -> set[str]:
    return {d for (d,) in wh.rows("SELECT doc_id FROM documents WHERE kind = ?", [kind])}


def sweep_requests(wh: Warehouse, run_id: str) -> dict[str, int]:
    return dict(wh.rows("SELECT q.rendered, count(*) FROM requests r JOIN queries q USING (query_id) "
                        "WHERE r.run_id = ? GROUP BY 1", [run_id]))


def test_a_sweep_stores_every_item_of_its_communities_in_pages_and_a_rerun_costs_one_request(
        fresh_replay, wh, corpus, tmp_path):
    plan = load_plan(sweep_plan(tmp_path))
    ep = Endpoints(fresh_replay.url, fresh_replay.url)
    run1, outcomes = harvest(wh, plan, ep, sources=("reddit",))
    assert [o.status for o in outcomes] == ["ok"] * 4
    want_subs, want_comments = in_community(corpus)
    assert stored(wh, "submission") == want_subs and stored(wh, "comment") == want_comments
    # every swept document has a hit with the sweep's own lineage
    rows = wh.rows("SELECT h.doc_id, q.template, h.via FROM hits h JOIN queries q USING (query_id)")
    assert {d for d, _, _ in rows} == want_subs | want_comments
    assert {(t, v) for _, t, v in rows} == {("sweep:r/mentalhealth", "sweep"), ("sweep:r/depression", "sweep")}
    # 248 and 229 comments: three pages each at 100 a request
    reqs = sweep_requests(wh, run1)
    assert reqs["sweep:r/mentalhealth/comments"] == 3 and reqs["sweep:r/depression/comments"] == 3
    assert lost_windows(wh) == []
    run2, outcomes = harvest(wh, plan, ep, sources=("reddit",))
    assert sum(o.new_documents for o in outcomes) == 0
    assert set(sweep_requests(wh, run2).values()) == {1}


def test_new_items_since_the_last_pass_are_read_back_to_it_without_gaps(fresh_replay, wh, corpus, tmp_path):
    plan = load_plan(sweep_plan(tmp_path))
    ep = Endpoints(fresh_replay.url, fresh_replay.url)
    times = sorted(c.created_utc for c, s in corpus.comments() if s.subreddit.lower() in SUBS)
    cutoff = times[len(times) // 2]
    fresh_replay.set_clock(cutoff)
    harvest(wh, plan, ep, sources=("reddit",))
    assert stored(wh, "comment") == in_community(corpus, until=cutoff)[1]
    fresh_replay.set_clock(None)
    harvest(wh, plan, ep, sources=("reddit",))
    assert stored(wh, "comment") == in_community(corpus)[1]
    assert wh.scalar("SELECT count(*) FROM hits") == wh.scalar("SELECT count(*) FROM documents")


def test_a_gap_longer_than_the_listing_reaches_is_recorded_as_a_lost_window(corpus, tmp_path):
    """Reddit's listings stop at ~1,000 items; here the cap is 100, so 248 comments overflow it."""
    plan = load_plan(sweep_plan(tmp_path, ("mentalhealth",)))
    comments = sorted((c for c, s in corpus.comments() if s.subreddit == "mentalhealth"), key=lambda c: c.created_utc)
    first = comments[9].created_utc  # the first pass sees the 10 oldest comments
    with ReplayServer(corpus, options=ReplayOptions(listing_cap=100)) as server, \
            Warehouse.open(tmp_path / "w.duckdb") as wh:
        ep = Endpoints(server.url, server.url)
        server.set_clock(first)
        harvest(wh, plan, ep, sources=("reddit",))
        server.set_clock(None)
        run2, _ = harvest(wh, plan, ep, sources=("reddit",))
        [window] = lost_windows(wh, run2)
        reached = comments[-100:]  # the 100 newest: all the listing shows
        assert (window.community, window.listing) == ("mentalhealth", "comments")
        assert window.window_from.timestamp() == pytest.approx(first, abs=1)
        assert window.window_to.timestamp() == pytest.approx(reached[0].created_utc, abs=1)
        lost = {c.doc_id for c in comments[10:-100]}
        have = stored(wh, "comment")
        assert lost and not lost & have and {c.doc_id for c in reached} <= have
        # the submissions listing reached its last pass: nothing lost there
        assert [w.listing for w in lost_windows(wh)] == ["comments"]
    # `miner plan show` lists the window to backfill, and the volume it observed
    res = CliRunner().invoke(main, ["plan", "show", str(plan.path), "--warehouse", str(tmp_path / "w.duckdb")])
    assert res.exit_code == 0, res.output
    assert "Lost windows" in res.output and "backfill" in res.output
    assert "observed" in res.output


def test_plan_show_prints_requests_a_day_and_warns_when_a_listing_outruns_its_cadence(tmp_path, wh_path):
    p = tmp_path / "big.toml"
    p.write_text('name = "big"\n[reddit]\n[[reddit.communities]]\nsubreddits = ["ChatGPT"]\nsweep = true\n'
                 'submissions = false\nexpected_per_day = 40000\n'
                 '[[reddit.communities]]\nsubreddits = ["replika"]\nsweep = true\nexpected_per_day = 2000\n'
                 'every = "2h"\n')
    res = CliRunner().invoke(main, ["plan", "show", str(p), "--warehouse", str(wh_path)])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    # r/ChatGPT comments: one run a day, 40,000 items = 400 pages + 1
    assert "r/ChatGPT │ comments │ 40000 │ plan │ 1 │ 401" in out
    assert "r/replika │ submissions │ 2000 │ plan │ 12 │ 32" in out
    assert 'r/ChatGPT comments: about 40,000 a day' in out and 'every = "36m"' in out
    assert "r/replika" not in out.split("warning:", 1)[1]  # 12 runs a day reach 12,000 items


def test_schedule_deploys_each_sweep_cadence_as_its_own_schedule(tmp_path, wh_path):
    p = tmp_path / "cadence.toml"
    p.write_text('name = "cadence"\n[reddit]\n[[reddit.communities]]\nsubreddits = ["ChatGPT"]\nsweep = true\n'
                 'every = "15m"\n[[reddit.communities]]\nsubreddits = ["replika"]\nsweep = true\n')
    res = CliRunner().invoke(main, ["schedule", str(p), "--dry-run", "--warehouse", str(wh_path)])
    assert res.exit_code == 0, res.output
    assert "nightly-harvest/nightly\n" in res.output and "nightly-harvest/nightly-sweep-15m" in res.output
    assert "every 15m" in res.output and "sweep_every_seconds = 900" in res.output
    plan = load_plan(p)
    assert {q.scope for q in harvest_queries(plan, main=True)} == {"replika"}
    assert {q.scope for q in harvest_queries(plan, timedelta(minutes=15))} == {"ChatGPT"}
    assert {q.scope for q in harvest_queries(plan)} == {"replika", "ChatGPT"}  # a run by hand: everything


def test_faults_mid_sweep_are_retried_and_the_sweep_is_complete(fresh_replay, wh, corpus, tmp_path):
    plan = load_plan(sweep_plan(tmp_path))
    ep = Endpoints(fresh_replay.url, fresh_replay.url)
    for kind in ("429", "503", "malformed", "short"):
        fresh_replay.add_fault(Fault("stream", kind, first=1))
        fresh_replay.add_fault(Fault("new", kind, first=1))
    run_id, outcomes = harvest(wh, plan, ep, sources=("reddit",))
    assert all(o.status == "ok" for o in outcomes), [o.error for o in outcomes]
    want_subs, want_comments = in_community(corpus)
    assert stored(wh, "submission") == want_subs and stored(wh, "comment") == want_comments
    assert wh.scalar("SELECT count(*) FROM requests WHERE run_id = ? AND error IS NOT NULL", [run_id]) >= 2


def snapshot(wh: Warehouse) -> tuple[set, set]:
    return (set(wh.rows("SELECT doc_id, content_hash FROM documents")),
            set(wh.rows("SELECT query_id, doc_id, via, rank FROM hits")))


def test_sigkill_mid_sweep_then_rerun_equals_an_uninterrupted_sweep(corpus, tmp_path):
    plan = sweep_plan(tmp_path, ("mentalhealth", "depression", "anxiety", "CPTSD", "bipolar"))
    script = ROOT / "bench" / "harvest_worker.py"
    slow = ReplayOptions(faults=[Fault(e, "slow", rate=1.0, seconds=0.12) for e in ("new", "stream")])
    rng = random.Random(5)
    with ReplayServer(corpus, options=slow) as server:
        def run(path: Path) -> None:
            done = subprocess.run([sys.executable, str(script), str(path), str(plan), server.url],
                                  capture_output=True, text=True, timeout=180)
            assert done.returncode == 0, done.stderr
        run(tmp_path / "ref.duckdb")
        with Warehouse.open(tmp_path / "ref.duckdb") as wh:
            reference = snapshot(wh)
        for trial in range(2):
            path = tmp_path / f"kill{trial}.duckdb"
            proc = subprocess.Popen([sys.executable, str(script), str(path), str(plan), server.url],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(2.0, 3.5))  # start-up ~1.5 s; the sweep takes ~3 s more
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            run(path)
            with Warehouse.open(path) as wh:
                assert snapshot(wh) == reference, f"trial {trial}"


@pytest.mark.slow
def test_a_swept_and_searched_plan_queues_both_lanes_and_says_which_found_what(prefect_harness, replay, tmp_path,
                                                                                wh_path, corpus):
    """The whole path: `miner harvest` (Prefect flow, praw against the replay server), process,
    then the queue, the funnel and `miner triage next` tell the two lanes apart."""
    p = tmp_path / "lanes.toml"
    p.write_text('name = "lanes"\nproducts = ["ChatGPT"]\n[reddit]\ntemplates = ["{product} and refuse"]\n'
                 'subreddits = ["mentalhealth"]\ncomments_per_post = 2\n'
                 '[[reddit.communities]]\nsubreddits = ["replika"]\nsweep = true\n')
    args = ["harvest", str(p), "--reddit-url", replay.url, "--rpm", "0", "--no-deletion-check",
            "--warehouse", str(wh_path)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "candidates: swept" in res.output and "candidates: matched a query" in res.output
    with Warehouse.open(wh_path, read_only=True) as wh:
        lanes = dict(wh.rows("SELECT found_by, count(*) FROM v_queue GROUP BY ALL"))
        queued = dict(wh.rows("SELECT doc_id, found_by FROM v_queue WHERE community = 'replika'"))
        readable = {d for (d,) in wh.rows(
            "SELECT d.doc_id FROM documents d JOIN clean_texts c USING (doc_id) LEFT JOIN dup_members g USING (doc_id) "
            "WHERE d.community = 'replika' AND d.state = 'ok' AND c.state = 'ok' AND coalesce(g.is_canonical, true)")}
    assert lanes.get("swept") and lanes.get("matched a query")
    # every readable r/replika story is queued, found by the sweep, though no search matched most
    assert readable and set(queued) == readable and all("swept" in f for f in queued.values())
    res = CliRunner().invoke(main, ["triage", "stats", "--warehouse", str(wh_path)])
    assert "found by: swept" in res.output and "found by: matched a query" in res.output
