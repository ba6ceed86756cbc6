"""Archive imports of plans that sweep subreddits: every item there is kept, with lineage.

The dumps are written here, small enough to work out by hand which document is kept and
why; imports go into a real DuckDB file, through the real CLI where the output matters.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from miner.cli import main
from miner.collect.archive import backfill
from miner.collect.dumps import write_dump
from miner.core.db import Warehouse
from miner.plan.plan import expand_archive, expand_sweeps, load_plan
from tests.test_archive import comment, post

SWEEPING = """
name = "sweep-archive"
products = ["ChatGPT"]
[reddit]
templates = ["{product} and refuse"]
subreddits = ["depression"]
comments_per_post = 2
[[reddit.communities]]
subreddits = ["replika"]
product = "Replika"
templates = ["hotline"]
sweep = true
[[reddit.communities]]
subreddits = ["CharacterAI"]
product = "Character.AI"
templates = ["hotline"]
sweep = true
comments = false
"""

SUBMISSIONS = [
    post("r1", "replika", "my rep went cold after the update"),  # swept, matches nothing
    post("r2", "Replika", "it sent me the hotline again"),  # swept and matched
    post("h1", "CharacterAI", "just chatting with my bot"),  # swept (submissions only)
    post("d1", "depression", "ChatGPT refused to talk"),  # matched, not swept
    post("d2", "depression", "a quiet day"),  # neither
    post("g1", "gaming", "ChatGPT refused my mod"),  # out of scope
]
COMMENTS = [
    comment("k1", "r1", "same here, mine is distant", sub="replika"),  # swept comment
    comment("k2", "zz1", "mine too since tuesday", sub="replika"),  # swept, its post is in no file
    comment("k3", "h1", "nice", sub="CharacterAI"),  # CharacterAI comments are not swept
    comment("k4", "d1", "it did that to me too"),  # a comment of a matched post
    comment("k5", "d2", "hugs"),  # a comment of a post nobody kept
]
SWEPT_DOCS = {"reddit:t3_r1": "sweep:r/replika", "reddit:t3_r2": "sweep:r/replika",
              "reddit:t3_h1": "sweep:r/CharacterAI", "reddit:t1_k1": "sweep:r/replika",
              "reddit:t1_k2": "sweep:r/replika"}


def write_plan(tmp_path: Path, text: str = SWEEPING):
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return load_plan(path)


def dumps(tmp_path: Path) -> list[Path]:
    return [write_dump(tmp_path / "RS_2025-01.zst", SUBMISSIONS), write_dump(tmp_path / "RC_2025-01.ndjson", COMMENTS)]


def test_every_item_of_a_swept_subreddit_is_kept_with_a_sweep_hit_without_all(tmp_path, wh_path):
    plan = write_plan(tmp_path)
    res = CliRunner().invoke(main, ["import", "reddit-dump", *map(str, dumps(tmp_path)), "--plan", str(plan.path),
                                    "--warehouse", str(wh_path)])
    assert res.exit_code == 0, res.output
    assert "5 kept by sweeps" in res.output
    assert "1 swept comments kept without their submission" in res.output
    with Warehouse.open(wh_path, read_only=True) as wh:
        docs = {r[0] for r in wh.rows("SELECT doc_id FROM documents")}
        assert docs == set(SWEPT_DOCS) | {"reddit:t3_d1", "reddit:t1_k4"}
        sweeps = dict(wh.rows("SELECT h.doc_id, q.template FROM hits h JOIN queries q USING (query_id) "
                              "WHERE h.via = 'sweep' AND q.source = 'reddit-archive'"))
        assert sweeps == SWEPT_DOCS
        # the swept post that a query also matched keeps its search hit too
        assert wh.scalar("SELECT count(*) FROM hits WHERE doc_id = 'reddit:t3_r2' AND via = 'search'") == 1
        # the orphan comment is a document of its own that knows its thread
        assert wh.rows("SELECT kind, thread_id, community FROM documents WHERE doc_id = 'reddit:t1_k2'") == \
            [("comment", "reddit:t3_zz1", "replika")]
        funnel = {r[0]: r[1] for r in wh.rows("SELECT stage, n FROM v_funnel WHERE source = 'reddit-archive'")}
        assert funnel["unique documents"] == 7
        assert funnel["queries run"] == len(expand_archive(plan)) + len(expand_sweeps(plan)) == 6
        yields = dict(wh.rows("SELECT template, sum(unique_documents) FROM v_query_yield "
                              "WHERE source = 'reddit-archive' GROUP BY template"))
        assert yields["sweep:r/replika"] == 4 and yields["sweep:r/CharacterAI"] == 1
        assert wh.scalar("SELECT sum(swept) FROM archive_imports") == 5


def test_without_sweeps_the_same_dump_keeps_only_matches(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path, SWEEPING.replace("sweep = true\ncomments = false\n", "").replace("sweep = true\n", ""))
    summary = backfill(wh_path, plan, dumps(tmp_path))
    assert summary.totals.swept == 0 and summary.orphan_comments == 0
    assert {r[0] for r in wh.rows("SELECT doc_id FROM documents")} == \
        {"reddit:t3_r2", "reddit:t3_d1", "reddit:t1_k4"}


def test_all_still_keeps_everything_in_scope_and_sweeps_keep_their_lineage(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path)
    summary = backfill(wh_path, plan, dumps(tmp_path), keep_all=True)
    docs = {r[0] for r in wh.rows("SELECT doc_id FROM documents")}
    assert docs == set(SWEPT_DOCS) | {"reddit:t3_d1", "reddit:t1_k4", "reddit:t3_d2", "reddit:t1_k3",
                                      "reddit:t1_k5"}
    assert dict(wh.rows("SELECT h.doc_id, q.template FROM hits h JOIN queries q USING (query_id) "
                        "WHERE h.via = 'sweep'")) == SWEPT_DOCS
    assert summary.totals.kept == 4  # kept by --all, no hit of their own: d2, k3, k5, and k4 before it was attached


def test_an_orphan_comment_gets_its_thread_when_the_submission_arrives_later(tmp_path, wh_path):
    plan = write_plan(tmp_path)
    first = backfill(wh_path, plan, dumps(tmp_path))
    assert first.orphan_comments == 1
    later = write_dump(tmp_path / "RS_2024-12.zst", [post("zz1", "replika", "does your rep feel different?")])
    second = backfill(wh_path, plan, [later])
    assert second.orphan_comments == 0
    with Warehouse.open(wh_path, read_only=True) as wh:
        assert wh.rows("SELECT t.title FROM documents c JOIN documents t ON t.doc_id = c.thread_id "
                       "WHERE c.doc_id = 'reddit:t1_k2'") == [("does your rep feel different?",)]


def test_worker_processes_keep_exactly_what_one_process_keeps(tmp_path, monkeypatch):
    from miner.collect import archive_workers
    from tests.test_archive import import_snapshots

    monkeypatch.setattr(archive_workers, "MIN_BYTES", 0)  # any file is big enough for workers here
    plan = write_plan(tmp_path)
    mixed = write_dump(tmp_path / "RS_mixed.zst", [
        *SUBMISSIONS, *COMMENTS,
        *[post(f"m{i}", ["replika", "CharacterAI", "depression"][i % 3], f"day {i}", "plain words " * 10)
          for i in range(300)]])
    snapshots = import_snapshots(tmp_path, plan, [mixed], (("one", 1), ("three", 3)), (
        "SELECT doc_id, content_hash FROM documents ORDER BY ALL",
        "SELECT doc_id, query_id, via FROM hits ORDER BY ALL",
        "SELECT lines, swept, matched FROM archive_imports"))
    assert snapshots[0] == snapshots[1]
    assert snapshots[0][2] == [(311, 5 + 200, 2)]  # every replika and CharacterAI post, and k1, k2
