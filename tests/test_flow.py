"""The nightly-harvest Prefect flow end to end: a real flow run, real clients, real DuckDB."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from miner.cli import main
from miner.core.db import Warehouse

pytestmark = pytest.mark.slow


def test_cli_harvest_runs_the_flow_and_prints_the_funnel(prefect_harness, replay, wh_path):
    runner = CliRunner()
    args = ["harvest", "queries/paper.toml", "--reddit-url", replay.url, "--newsapi-url", replay.url,
            "--rpm", "0", "--no-process", "--warehouse", str(wh_path)]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "Funnel" in first.output and "unique documents" in first.output and ": ok," in first.output
    with Warehouse.open(wh_path, read_only=True) as wh:
        runs = wh.dicts("SELECT * FROM harvest_runs")
        assert len(runs) == 1 and runs[0]["status"] == "ok" and runs[0]["flow_run_id"]
        docs = wh.scalar("SELECT count(*) FROM documents")
        hits = wh.rows("SELECT query_id, count(*) FROM hits GROUP BY 1 ORDER BY 1")
    second = runner.invoke(main, args)
    assert second.exit_code == 0, second.output
    with Warehouse.open(wh_path, read_only=True) as wh:
        assert wh.scalar("SELECT count(*) FROM documents") == docs
        assert wh.rows("SELECT query_id, count(*) FROM hits GROUP BY 1 ORDER BY 1") == hits
        assert wh.scalar("SELECT count(*) FROM harvest_runs WHERE status = 'ok'") == 2


def test_flow_with_embedded_replay_needs_no_credentials(prefect_harness, wh_path, monkeypatch):
    from miner.flows.nightly import nightly_harvest
    for var in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "NEWSAPI_KEY"):
        monkeypatch.delenv(var, raising=False)
    summary = nightly_harvest(plan="queries/paper.toml", warehouse=str(wh_path), replay=True, process=False)
    assert summary["status"] == "ok" and summary["queries"] == 79
    stages = {(r["source"], r["stage"]) for r in summary["funnel"]}
    assert ("reddit", "unique documents") in stages and ("news", "unique documents") in stages


def test_live_run_without_credentials_fails_every_query_and_exits_1(prefect_harness, wh_path, monkeypatch):
    for var in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USER_AGENT", "NEWSAPI_KEY"):
        monkeypatch.delenv(var, raising=False)
    res = CliRunner().invoke(main, ["harvest", "queries/paper.toml", "--no-process", "--warehouse", str(wh_path)])
    assert res.exit_code == 1, res.output
    with Warehouse.open(wh_path, read_only=True) as wh:
        errors = {r[0] for r in wh.rows("SELECT last_error FROM query_state")}
        assert any("REDDIT_CLIENT_ID" in e for e in errors) and any("NEWSAPI_KEY" in e for e in errors)
        assert wh.scalar("SELECT status FROM harvest_runs") == "failed"
        flow_run_id = wh.scalar("SELECT flow_run_id FROM harvest_runs")
    from prefect.client.orchestration import get_client
    with get_client(sync_client=True) as client:  # Prefect's record agrees with ours
        assert client.read_flow_run(flow_run_id).state.is_failed()


def test_identical_query_failures_are_said_once_with_their_count():
    from miner.collect.store import QueryOutcome
    from miner.flows.nightly import failure_summary
    missing = "Reddit credentials missing: set REDDIT_CLIENT_ID"
    outcomes = [QueryOutcome(f"q{i}", "reddit", "failed", error=missing) for i in range(75)]
    outcomes += [QueryOutcome("n1", "news", "failed", error="NEWSAPI_KEY missing"), QueryOutcome("ok", "news", "ok")]
    assert failure_summary(outcomes) == [f"75 queries failed: {missing}; they resume next run",
                                         "1 query failed: NEWSAPI_KEY missing; it resumes next run"]
