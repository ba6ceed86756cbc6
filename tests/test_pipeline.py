"""`miner process` and the flows: stages in order, extensible, thin CLI, last step of the nightly flow."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from miner import pipeline as process_mod
from miner.cli import main
from miner.core.db import Warehouse
from miner.pipeline import STAGES, ProcessOptions, Stage, process
from tests.helpers import add_documents, all_text, doc

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

    def late(wh, opts: ProcessOptions) -> dict:  # a stage added after the others
        seen.append(wh.scalar("SELECT count(*) FROM clean_texts"))
        return {"spans": 0}

    monkeypatch.setattr(process_mod, "STAGES", [*STAGES, Stage("late", late, "read what clean wrote")])
    results = process(wh_path, stages=["late", "clean"])  # asked out of order: run in order
    assert [r.stage for r in results] == ["clean", "late"] and seen == [1]
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
    from miner.flows.nightly import nightly_harvest
    from miner.flows.process import process_warehouse

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


@pytest.mark.slow
def test_documents_deleted_at_the_source_keep_no_derived_rows(wh_path):
    story = ("Last night I told ChatGPT that I had been thinking about not being here anymore and it stopped "
             "talking to me about anything else and just kept pasting the same hotline number over and over.")
    private = "My therapist dropped me after two missed sessions and the companion app was all I had left that winter."
    with Warehouse.open(wh_path) as wh:
        add_documents(wh, doc("reddit:t3_a", "ChatGPT refused me", story, created="2024-05-01"),
                      doc("reddit:t3_b", "ChatGPT refused me", story + " Reposting, it got buried.", created="2024-05-04"),
                      doc("reddit:t3_e", "Alone again", private, created="2024-05-02"))
    first = {r.stage: r.counts for r in process(wh_path, options=ProcessOptions(progress=False))}
    assert first["embed"]["encoded"] == 2  # a (canonical of a and b) and e
    with Warehouse.open(wh_path) as wh:
        assert wh.rows("SELECT doc_id, canonical_id FROM dup_members ORDER BY doc_id") == [
            ("reddit:t3_a", "reddit:t3_a"), ("reddit:t3_b", "reddit:t3_a")]
        # Tombstoned at the source the way the deletion check does it: state and text change, the
        # content hash may not.
        wh.execute("UPDATE documents SET state = 'deleted', title = NULL, body = NULL, author_hash = NULL "
                   "WHERE doc_id IN ('reddit:t3_a', 'reddit:t3_e')")
    second = {r.stage: r.counts for r in process(wh_path, options=ProcessOptions(progress=False))}
    assert second["clean"]["forgotten"] == 2 and second["clean"]["vectors_dropped"] == 2
    assert second["embed"]["encoded"] == 1  # b is the story now and needs its own vector
    with Warehouse.open(wh_path, read_only=True) as wh:
        gone = ["reddit:t3_a", "reddit:t3_e"]
        for table, col in (("clean_texts", "doc_id"), ("dedup_signatures", "doc_id"), ("dup_members", "doc_id"),
                           ("dup_links", "doc_a"), ("dup_links", "doc_b")):
            assert wh.scalar(f"SELECT count(*) FROM {table} WHERE {col} IN (SELECT unnest(?))", [gone]) == 0, table
        assert private not in all_text(wh)  # not in cleaned text, and no vector of it left either
        assert wh.scalar("SELECT count(*) FROM embeddings") == 1
        assert wh.rows("SELECT doc_id FROM v_document_vectors") == [("reddit:t3_b",)]
        canon = dict(wh.rows("SELECT doc_id, state FROM v_canonical_documents"))
        assert canon == {"reddit:t3_a": "deleted", "reddit:t3_b": "ok", "reddit:t3_e": "deleted"}
    third = process(wh_path, options=ProcessOptions(progress=False))
    assert "forgotten" not in third[0].counts and not any(r.counts.get("encoded") for r in third)
