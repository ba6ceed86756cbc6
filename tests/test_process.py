"""`miner process` and the flows: stages in order, extensible, thin CLI, last step of the nightly flow."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from miner import process as process_mod
from miner.cli import main
from miner.db import Warehouse
from miner.process import STAGES, ProcessOptions, Stage, process
from tests.helpers import add_documents, doc

SMALL_PLAN = """
name = "small"
products = ["Character.AI", "Replika"]

[reddit]
templates = ["{product} and refuse"]
subreddits = ["CPTSD", "mentalhealth", "depression", "anxiety", "bipolar"]
posts_per_query = 100
comments_per_post = 3

[news]
queries = ["mental health AI refused"]
"""


def test_stages_run_in_pipeline_order_and_later_stages_can_join(wh_path, monkeypatch):
    with Warehouse.open(wh_path) as wh:
        add_documents(wh, doc("reddit:t3_a", "A title", "A body"))
    seen = []

    def evidence(wh, opts: ProcessOptions) -> dict:  # what the triage stages will look like
        seen.append(wh.scalar("SELECT count(*) FROM clean_texts"))
        return {"spans": 0}

    monkeypatch.setattr(process_mod, "STAGES", [*STAGES, Stage("evidence", evidence, "find evidence")])
    results = process(wh_path, stages=["evidence", "clean"])  # asked out of order: run in order
    assert [r.stage for r in results] == ["clean", "evidence"] and seen == [1]
    assert results[1].describe() == "spans 0" and results[0].counts["cleaned"] == 1


def test_cli_lists_stages_and_rejects_what_it_cannot_do(wh_path):
    runner = CliRunner()
    listed = runner.invoke(main, ["process", "--list"])
    assert listed.exit_code == 0
    order = [s.name for s in STAGES]
    assert [listed.output.index(n) for n in order] == sorted(listed.output.index(n) for n in order)
    missing = runner.invoke(main, ["process", "--warehouse", str(wh_path)])
    assert missing.exit_code == 2 and "no warehouse here" in missing.output
    Warehouse.open(wh_path).close()
    unknown = runner.invoke(main, ["process", "--stage", "nope", "--warehouse", str(wh_path)])
    assert unknown.exit_code == 2 and "unknown stage 'nope'" in unknown.output


def test_cli_runs_one_stage_and_prints_the_funnel(wh_path):
    with Warehouse.open(wh_path) as wh:
        add_documents(wh, doc("reddit:t3_a", "A title", "A &amp; body"))
    res = CliRunner().invoke(main, ["process", "--stage", "clean", "--warehouse", str(wh_path)])
    assert res.exit_code == 0, res.output
    assert "cleaned 1" in res.output and "Funnel" in res.output and "embed" not in res.output
    with Warehouse.open(wh_path, read_only=True) as wh:
        assert wh.scalar("SELECT text FROM clean_texts") == "A title\n\nA & body"


@pytest.mark.slow
def test_the_nightly_flow_ends_by_processing_and_the_process_flow_runs_alone(prefect_harness, wh_path, tmp_path,
                                                                              replay):
    from flows.nightly import nightly_harvest
    from flows.process import process_warehouse

    plan = tmp_path / "small.toml"
    plan.write_text(SMALL_PLAN)
    summary = nightly_harvest(plan=str(plan), warehouse=str(wh_path), reddit_url=replay.url, newsapi_url=replay.url)
    assert summary["status"] == "ok"
    done = {s["stage"]: s["counts"] for s in summary["process"]}
    assert list(done) == [s.name for s in STAGES]
    assert done["clean"]["cleaned"] > 20 and done["embed"]["encoded"] > 10
    funnel = {(r["source"], r["stage"]): r["n"] for r in summary["funnel"]}
    for source in ("reddit", "news"):
        assert funnel[(source, "unique documents")] >= funnel[(source, "with text")] >= funnel[(source, "after dedup")] > 0
    alone = process_warehouse(warehouse=str(wh_path))
    assert all(not s["counts"].get(k) for s in alone["stages"] for k in ("cleaned", "compared", "encoded"))
