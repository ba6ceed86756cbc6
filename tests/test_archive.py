"""Archive backfill: dump files written here, imported into a real DuckDB file.

Expectations come from reading the small dumps below (which post should match which query,
and why) or from the live harvest of the same corpus through praw and the replay server.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from miner.cli import main
from miner.collect import archive_workers
from miner.collect.archive import ArchiveImporter, backfill, expand_paths, finish_import, start_import
from miner.collect.dumps import DumpError, open_dump, read_blocks, write_dump
from miner.collect.pseudonyms import Pseudonymizer
from miner.core.config import installation_secret
from miner.core.db import Warehouse
from miner.plan.plan import expand, expand_archive, load_plan
from miner.plan.query import IndexedText, compile_query, parse
from miner.replay import wire
from tests.helpers import all_text, harvest

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000

PLAN = """
name = "archive-test"
products = ["ChatGPT", "Character.AI"]
[reddit]
templates = ["{product} and refuse", "{product} and stopped working"]
subreddits = ["depression", "CPTSD"]
comments_per_post = 2
"""


def write_plan(tmp_path: Path, text: str = PLAN, name: str = "plan.toml"):
    path = tmp_path / name
    path.write_text(text)
    return load_plan(path)


def post(ident: str, sub: str, title: str, body: str = "", *, author: str = "poster_one", **extra) -> dict:
    return {"id": ident, "name": f"t3_{ident}", "subreddit": sub, "title": title, "selftext": body,
            "author": author, "created_utc": T0 + int(ident, 36) % 1000, "score": 1, "num_comments": 0,
            "permalink": f"/r/{sub}/comments/{ident}/x/", "retrieved_on": T0 + 86_400, **extra}


def comment(ident: str, link: str, body: str, *, score: int = 1, created: int = 0, sub: str = "depression",
            author: str = "commenter_two") -> dict:
    return {"id": ident, "link_id": f"t3_{link}", "parent_id": f"t3_{link}", "subreddit": sub, "body": body,
            "author": author, "created_utc": T0 + 5_000 + created, "score": score}


SUBMISSIONS = [
    post("s1", "depression", "ChatGPT refused to keep talking tonight", "it just gave me a number"),
    post("s2", "gaming", "ChatGPT refused my mod request"),  # outside the plan's subreddits
    post("s3", "CPTSD", "my comfort bot", "Character.AI has stopped working since the update"),
    post("s4", "depression", "ChatGPT is the only one I talk to"),  # a product, no refusal
    post("s5", "Depression", "CHATGPT keeps REFUSING", "no idea why"),  # case of subreddit and words
    post("s6", "depression", "ChatGPT refused me", "[deleted]", author="[deleted]"),  # deleted: title still searchable
    post("s7", "CPTSD", "ChatGPT refused &amp; I cried", "&gt; quoting it: I can&#39;t"),  # Pushshift's escaping
    post("s8", "depression", "a character and me", "the character is AI? it refused"),  # not the phrase
]


def expected_search_hits() -> set[tuple[str, str]]:
    """Worked out by hand from SUBMISSIONS above: (doc_id, query as rendered)."""
    return {
        ("reddit:t3_s1", "ChatGPT AND refuse"),
        ("reddit:t3_s3", '"Character.AI" AND stopped AND working'),
        ("reddit:t3_s5", "ChatGPT AND refuse"),
        ("reddit:t3_s6", "ChatGPT AND refuse"),
        ("reddit:t3_s7", "ChatGPT AND refuse"),
    }


def search_hits(wh: Warehouse, source: str = "reddit-archive") -> set[tuple[str, str]]:
    return set(wh.rows("SELECT h.doc_id, q.rendered FROM hits h JOIN queries q USING (query_id) "
                       "WHERE h.via = 'search' AND h.source = ?", [source]))


# -- matching and scope -------------------------------------------------------------------------
def test_hits_follow_the_plans_queries_subreddits_and_case(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path)
    dump = write_dump(tmp_path / "RS_2023-11.zst", SUBMISSIONS)
    summary = backfill(wh_path, plan, [dump])
    assert summary.status == "ok"
    assert search_hits(wh) == expected_search_hits()
    t = summary.totals
    assert (t.lines, t.out_of_scope, t.submissions, t.matched, t.quarantined) == (8, 1, 7, 5, 0)
    # hits carry lineage: the run, archive queries with the live queries' product and template
    live = {(q.product, q.template, q.scope, q.rendered) for q in expand(plan) if q.source == "reddit"}
    rows = wh.dicts("SELECT h.*, q.product, q.template, q.scope, q.rendered, q.source AS qsource "
                    "FROM hits h JOIN queries q USING (query_id)")
    assert all(r["run_id"] == summary.run_id and r["plan_id"] == plan.plan_id for r in rows)
    assert all(r["qsource"] == "reddit-archive" and r["payload_id"] for r in rows)
    assert {(r["product"], r["template"], r["scope"], r["rendered"]) for r in rows} <= live
    assert not {r["query_id"] for r in rows} & {q.query_id for q in expand(plan)}
    # every hit's payload is the line it came from, scrubbed
    endpoints = dict(wh.rows("SELECT h.doc_id, p.endpoint FROM hits h JOIN raw_payloads p USING (payload_id)"))
    assert endpoints["reddit:t3_s1"] == "RS_2023-11.zst:1" and endpoints["reddit:t3_s7"] == "RS_2023-11.zst:7"
    assert wh.scalar("SELECT harvest_runs.endpoint FROM harvest_runs") == "archive"


def test_documents_are_stored_like_live_ones(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path)
    backfill(wh_path, plan, [write_dump(tmp_path / "RS.ndjson", SUBMISSIONS)])
    docs = {d["doc_id"]: d for d in wh.dicts("SELECT * FROM documents")}
    assert set(docs) == {d for d, _ in expected_search_hits()}
    s7 = docs["reddit:t3_s7"]
    assert s7["title"] == "ChatGPT refused & I cried" and s7["body"].startswith("> quoting")
    assert s7["source"] == "reddit" and s7["kind"] == "submission" and s7["community"] == "CPTSD"
    assert s7["permalink"] == "https://www.reddit.com/r/CPTSD/comments/s7/x/"
    s6 = docs["reddit:t3_s6"]  # deleted: recorded as such, without text or author
    assert s6["state"] == "deleted" and s6["title"] is None and s6["body"] is None and s6["author_hash"] is None
    assert docs["reddit:t3_s1"]["author_hash"].startswith("a_")
    assert "poster_one" not in all_text(wh)


def test_scope_each_gives_the_hit_to_the_query_of_the_posts_subreddit(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path, PLAN.replace('comments_per_post = 2', 'comments_per_post = 2\nscope = "each"'))
    backfill(wh_path, plan, [write_dump(tmp_path / "RS.zst", SUBMISSIONS)])
    scopes = dict(wh.rows("SELECT h.doc_id, q.scope FROM hits h JOIN queries q USING (query_id)"))
    assert scopes == {"reddit:t3_s1": "depression", "reddit:t3_s3": "CPTSD", "reddit:t3_s5": "depression",
                      "reddit:t3_s6": "depression", "reddit:t3_s7": "CPTSD"}


def test_all_keeps_every_item_in_scope_but_hits_only_matches(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path)
    summary = backfill(wh_path, plan, [write_dump(tmp_path / "RS.zst", SUBMISSIONS)], keep_all=True)
    docs = {r[0] for r in wh.rows("SELECT doc_id FROM documents")}
    assert docs == {f"reddit:t3_s{i}" for i in (1, 3, 4, 5, 6, 7, 8)}  # all but r/gaming
    assert search_hits(wh) == expected_search_hits()
    assert summary.totals.kept == 2


# -- comments -----------------------------------------------------------------------------------
COMMENTS = [
    comment("c1", "s1", "same thing happened to me", score=5, created=1),
    comment("c2", "s1", "it gave me the hotline too", score=9, created=2),
    comment("c3", "s1", "[deleted]", score=9, created=1, author="[deleted]"),  # same score, earlier
    comment("c4", "s1", "low score", score=1, created=0),
    comment("c5", "s4", "a thread nobody searched for", score=50),  # its post did not match
    comment("c6", "zz9", "the post is in next month's file", score=3),
    comment("c7", "s2", "out of scope", score=3, sub="gaming"),
]


def test_a_matched_post_gets_its_best_comments_from_another_file_in_any_order(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path)
    rc = write_dump(tmp_path / "RC_2023-11.jsonl", COMMENTS)
    rs = write_dump(tmp_path / "RS_2023-11.zst", SUBMISSIONS)
    summary = backfill(wh_path, plan, [rc, rs])  # comments first: they wait for their post
    attached = wh.rows("SELECT d.doc_id, d.state, d.body, d.thread_id FROM hits h JOIN documents d USING (doc_id) "
                       "WHERE h.via = 'thread' ORDER BY 1")
    # comments_per_post = 2: highest score first (9, 9), the earlier of equal scores first
    assert [(d, s) for d, s, _, _ in attached] == [("reddit:t1_c2", "ok"), ("reddit:t1_c3", "deleted")]
    assert all(t == "reddit:t3_s1" for *_, t in attached)
    assert dict((d, b) for d, _, b, _ in attached)["reddit:t1_c3"] is None  # [deleted] is not text
    assert summary.comments_attached == 2
    # c5's post was seen and did not match: dropped; c6 waits for its post
    assert wh.scalar("SELECT count(*) FROM documents WHERE kind = 'comment'") == 2
    assert summary.comments_waiting == 1
    # next month's submissions file brings c6's post, and it matches
    later = write_dump(tmp_path / "RS_2023-12.zst", [post("zz9", "depression", "Character.AI stopped working")])
    summary2 = backfill(wh_path, plan, [later])
    assert summary2.comments_attached == 1 and summary2.comments_waiting == 0
    assert wh.rows("SELECT doc_id FROM hits WHERE via = 'thread' AND doc_id = 'reddit:t1_c6'")


def test_same_files_give_the_same_result_in_either_order(tmp_path):
    plan = write_plan(tmp_path)
    rc = write_dump(tmp_path / "RC.jsonl", COMMENTS)
    rs = write_dump(tmp_path / "RS.zst", SUBMISSIONS)
    results = []
    for name, order in (("a", [rs, rc]), ("b", [rc, rs])):
        with Warehouse.open(tmp_path / f"{name}.duckdb") as wh:
            backfill(wh.path, plan, order)
            results.append((wh.rows("SELECT doc_id, query_id, via FROM hits ORDER BY ALL"),
                            wh.rows("SELECT doc_id, content_hash FROM documents ORDER BY ALL")))
    assert results[0] == results[1]


def test_search_comments_makes_comment_bodies_searchable(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path, PLAN.replace("comments_per_post = 2", "comments_per_post = 0\nsearch_comments = true"))
    dump = write_dump(tmp_path / "RC.zst", [comment("k1", "s4", "ChatGPT refused to answer me too"),
                                             comment("k2", "s4", "no products here")])
    backfill(wh_path, plan, [dump])
    assert search_hits(wh) == {("reddit:t1_k1", "ChatGPT AND refuse")}
    assert wh.scalar("SELECT kind FROM documents") == "comment"


# -- bad input ----------------------------------------------------------------------------------
def test_malformed_lines_are_set_aside_with_reasons_and_no_usernames(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path)
    lines = [
        SUBMISSIONS[0],
        '{"id": "t1x", "subreddit": "depression", "title": "ChatGPT refused", "author": "secret_name_1", "sel',
        {"subreddit": "depression", "title": "no id", "author": "secret_name_2"},
        {"id": "t3x", "subreddit": "depression", "title": 12, "author": "secret_name_3"},
        {"id": "t4x", "subreddit": "CPTSD", "title": "ok", "score": "lots", "author": "secret_name_4"},
        '["an", "array"]',
        "",  # blank lines are not errors
        SUBMISSIONS[2],
    ]
    summary = backfill(wh_path, plan, [write_dump(tmp_path / "RS.zst", lines)])
    assert summary.status == "ok" and summary.totals.quarantined == 5
    rows = wh.dicts("SELECT line_no, reason, excerpt FROM archive_quarantine ORDER BY line_no")
    assert [r["line_no"] for r in rows] == [2, 3, 4, 5, 6]
    reasons = [r["reason"] for r in rows]
    assert reasons[0].startswith("not valid JSON") and reasons[1] == "missing id"
    assert "title" in reasons[2] and "score" in reasons[3] and "not a JSON object" in reasons[4]
    assert not any(f"secret_name_{i}" in all_text(wh) for i in range(1, 5))
    assert "a_" in rows[0]["excerpt"]  # the cut-off author was hashed, not dropped silently
    assert search_hits(wh) == {("reddit:t3_s1", "ChatGPT AND refuse"),
                               ("reddit:t3_s3", '"Character.AI" AND stopped AND working')}


def test_usernames_in_bad_lines_are_pseudonymized_in_every_quarantine_column(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path)
    lines = [
        post("ok1", "depression", "ChatGPT refused me", author="secret_list_1"),  # a document by a planted name
        {**post("q1", "depression", "ChatGPT refused"), "author": ["secret_list_1", "secret_list_2"]},
        {**post("q2", "CPTSD", "ChatGPT refused"), "author": {"name": "secret_dict_3", "secret_key_4": 1}},
        '{"id": "q3", "subreddit": "depression", "title": "ChatGPT refused", "author": "secret_text_5", '
        '"selftext": "signed, secret_text_5 (SECRET_TEXT_5 on discord) and u/secret_handle_6 ',
        '{"id": "q4", "subreddit": "depression", "title": "x", "author": ["secret_list_7", "secr',
        {**post("q5", "depression", "ChatGPT", "I am secret_str_8, ask me"), "author": "secret_str_8", "score": "lots"},
        {**comment("q6", "s1", "ChatGPT refused"), "author": 31337000},
    ]
    summary = backfill(wh_path, plan, [write_dump(tmp_path / "RS.zst", lines)])
    assert summary.status == "ok" and summary.totals.quarantined == 6
    rows = wh.dicts("SELECT * FROM archive_quarantine ORDER BY line_no")
    assert [r["line_no"] for r in rows] == [2, 3, 4, 5, 6, 7]
    assert rows[0]["reason"] == "author is not a string (list)" and rows[1]["reason"] == "author is not a string (dict)"
    everything = "\n".join(str(v) for r in rows for v in r.values()).lower()
    assert "secret_" not in everything and "31337000" not in everything
    # the same keyed hash as the documents': the quarantined author is the document's author
    p = Pseudonymizer(installation_secret(wh_path))
    author_hash = wh.scalar("SELECT author_hash FROM documents WHERE doc_id = 'reddit:t3_ok1'")
    assert author_hash == p.author("secret_list_1") and author_hash in rows[0]["excerpt"]
    assert p.author("secret_text_5") in rows[2]["excerpt"] and p.author("secret_str_8") in rows[4]["excerpt"]


def _runaway_line(size: int) -> bytes:
    """A submission line of ``size`` bytes that varies (so zstd cannot shrink it to nothing)."""
    head = b'{"id": "big1", "subreddit": "depression", "title": "ChatGPT refused", "author": "secret_long_1", ' \
           b'"selftext": "'
    words = b" ".join(b"w%x" % (i * 2654435761 % 99991) for i in range(size // 5))
    return head + words[:size - len(head) - 2] + b'"}'


@pytest.mark.parametrize("name", ["RS_long.zst", "RS_long.ndjson"])
def test_a_line_over_20_mib_is_one_quarantined_line_and_the_count_stays_right(tmp_path, wh, wh_path, name):
    plan = write_plan(tmp_path)
    long = _runaway_line(21 << 20)
    dump = write_dump(tmp_path / name, [SUBMISSIONS[0], long, SUBMISSIONS[2], SUBMISSIONS[3]])
    summary = backfill(wh_path, plan, [dump])
    assert summary.status == "ok"
    t = summary.totals
    assert (t.lines, t.quarantined, t.matched) == (4, 1, 2)
    rows = wh.dicts("SELECT line_no, byte_offset, reason, excerpt FROM archive_quarantine")
    assert len(rows) == 1
    first = len(orjson.dumps(SUBMISSIONS[0])) + 1
    assert (rows[0]["line_no"], rows[0]["byte_offset"]) == (2, first)
    assert rows[0]["reason"] == f"line too long ({len(long):,} bytes)"
    assert 0 < len(rows[0]["excerpt"]) <= 2_000 and "secret_long_1" not in all_text(wh)
    # the lines after it keep their numbers: s3's payload names line 3
    assert wh.scalar("SELECT p.endpoint FROM hits h JOIN raw_payloads p USING (payload_id) "
                     "WHERE h.doc_id = 'reddit:t3_s3'") == f"{name}:3"
    assert wh.scalar("SELECT line_no FROM archive_imports") == 4


def test_blocks_cut_runaway_lines_to_their_head_at_any_chunk_size(tmp_path):
    lines = [b"a" * 5, b"b" * 25, b"c" * 3, b"d" * 40, b"e" * 11, b"f" * 2, b"g" * 30]
    want = [(x[:10], len(x)) for x in lines]
    for name in ("r.zst", "r.ndjson"):
        dump = open_dump(write_dump(tmp_path / name, lines))
        for chunk in (1, 3, 9, 64, 4096):
            blocks = list(read_blocks(dump, chunk_size=chunk, max_line=10))
            got = [(b.lines[i], b.length(i)) for b in blocks for i in range(len(b.lines))]
            assert got == want, (name, chunk)
            starts = [b.offset(i) for b in blocks for i in range(len(b.lines))]
            assert starts == [sum(len(x) + 1 for x in lines[:i]) for i in range(len(lines))]
            assert blocks[-1].end_offset == sum(len(x) + 1 for x in lines)
            shared = sorted((b for k in range(2) for b in read_blocks(dump, chunk_size=chunk, every=2, phase=k,
                                                                     max_line=10)), key=lambda b: b.index)
            assert [(b.lines, b.cut, b.end_offset) for b in shared] == [(b.lines, b.cut, b.end_offset) for b in blocks]
    last = open_dump(tmp_path / "r.ndjson")
    last.path.write_bytes(b"ok\n" + b"z" * 50)  # the last line has no newline
    assert [(b.lines, b.cut) for b in read_blocks(open_dump(last.path), chunk_size=7, max_line=10)][-1] == \
        ([b"z" * 10], {0: 50})


def test_a_corrupt_file_keeps_what_was_read_and_fails_that_file_only(tmp_path, wh_path):
    plan = write_plan(tmp_path)
    good = [post(f"g{i}", "depression", f"ChatGPT refused number {i}") for i in range(3000)]
    dump = write_dump(tmp_path / "RS_bad.zst", good)
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) // 2] + b"\x00garbage" * 100)
    other = write_dump(tmp_path / "RS_ok.ndjson", SUBMISSIONS)
    res = CliRunner().invoke(main, ["import", "reddit-dump", str(dump), str(other), "--plan", str(plan.path),
                                    "--warehouse", str(wh_path), "--batch-lines", "500"])
    assert res.exit_code == 1, res.output
    with Warehouse.open(wh_path, read_only=True) as wh:
        kept = wh.scalar("SELECT count(*) FROM documents WHERE doc_id LIKE 'reddit:t3_g%'")
        assert 0 < kept < 3000  # the lines before the damage were imported
        assert wh.scalar("SELECT status FROM harvest_runs") == "partial"
        assert search_hits(wh) >= expected_search_hits()


def test_cli_errors_name_the_path_and_exit_2(tmp_path, wh_path):
    plan = write_plan(tmp_path)
    res = CliRunner().invoke(main, ["import", "reddit-dump", str(tmp_path / "nope.zst"), "--plan", str(plan.path),
                                    "--warehouse", str(wh_path)])
    assert res.exit_code == 2 and "nope.zst: no such file" in res.output
    (tmp_path / "x.csv").write_text("a,b\n")
    res = CliRunner().invoke(main, ["import", "reddit-dump", str(tmp_path / "x.csv"), "--plan", str(plan.path)])
    assert res.exit_code == 2 and "expected .zst, .ndjson or .jsonl" in res.output
    news_only = write_plan(tmp_path, 'name = "n"\n[news]\nqueries = ["x"]\n', "news.toml")
    dump = write_dump(tmp_path / "RS.zst", SUBMISSIONS)
    res = CliRunner().invoke(main, ["import", "reddit-dump", str(dump), "--plan", str(news_only.path),
                                    "--warehouse", str(wh_path)])
    assert res.exit_code == 2 and "no [reddit] table" in res.output


# -- idempotence and resuming -------------------------------------------------------------------
def test_importing_a_file_again_adds_nothing_even_from_another_path(tmp_path, wh, wh_path):
    plan = write_plan(tmp_path)
    rs = write_dump(tmp_path / "RS.zst", SUBMISSIONS)
    rc = write_dump(tmp_path / "RC.jsonl", COMMENTS)
    first = backfill(wh_path, plan, [rs, rc])
    counts = lambda: (wh.scalar("SELECT count(*) FROM documents"), wh.scalar("SELECT count(*) FROM hits"),
                      wh.scalar("SELECT count(*) FROM raw_payloads"))
    before = counts()
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(rs, moved / "renamed.zst")
    again = backfill(wh_path, plan, [moved / "renamed.zst", rc])
    assert [f.note for f in again.files] == ["already imported", "already imported"]
    assert counts() == before and again.totals.lines == 0 and first.totals.lines == 15
    # a different plan is a different question: the same file is read again for it
    other = write_plan(tmp_path, PLAN.replace("archive-test", "other"), "other.toml")
    assert backfill(wh_path, other, [rs]).totals.lines == 8


def _big_dump(path: Path, n: int) -> Path:
    rows = []
    for i in range(n):
        ident = f"b{i:x}"
        title = "ChatGPT refused again" if i % 7 == 0 else f"an ordinary day number {i}"
        rows.append(post(ident, "depression" if i % 3 else "CPTSD", title, "some words " * 20))
        if i % 50 == 0:
            rows.append('{"id": "broken", "subreddit": "depression", "title": ')
    return write_dump(path, rows)


def _miner(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "miner", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, **kw)


def test_an_import_killed_mid_file_resumes_without_duplicates_or_gaps(tmp_path):
    plan = write_plan(tmp_path)
    dump = _big_dump(tmp_path / "RS_big.zst", 120_000)
    killed, clean = tmp_path / "killed.duckdb", tmp_path / "clean.duckdb"
    args = ["import", "reddit-dump", str(dump), "--plan", str(plan.path), "--batch-lines", "4000"]
    proc = _miner(*args, "--warehouse", str(killed))
    for line in proc.stderr:  # one line per committed batch when not on a terminal
        if "committed" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    with Warehouse.open(killed, read_only=True) as wh:
        status, line_no = wh.rows("SELECT status, line_no FROM archive_imports")[0]
    assert status == "running" and 0 < line_no < 122_400  # stopped part-way, with a checkpoint
    resumed = _miner(*args, "--warehouse", str(killed))
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert f"resumed at line {line_no + 1:,}" in out
    full = _miner(*args, "--warehouse", str(clean))
    assert full.wait(timeout=120) == 0
    snapshot = [
        "SELECT doc_id, content_hash FROM documents ORDER BY ALL",
        "SELECT doc_id, query_id, via FROM hits ORDER BY ALL",
        "SELECT line_no, reason FROM archive_quarantine ORDER BY ALL",
        "SELECT doc_id, bool_or(matched) FROM archive_threads GROUP BY ALL ORDER BY ALL",
        "SELECT status, line_no, byte_offset, lines, matched, hits, quarantined FROM archive_imports",
    ]
    with Warehouse.open(killed, read_only=True) as a, Warehouse.open(clean, read_only=True) as b:
        for sql in snapshot:
            assert a.rows(sql) == b.rows(sql), sql
        assert a.scalar("SELECT count(*) FROM hits") == 120_000 // 7 + 1
        assert a.scalar("SELECT count(*) FROM archive_quarantine") == 120_000 // 50


# -- live and archive agree ---------------------------------------------------------------------
def corpus_dump(corpus, path: Path) -> Path:
    """The replay corpus as a Pushshift-style dump: the same objects the API serves, with the
    legacy &amp;-escaping, submissions and comments in one file."""
    def escaped(d: dict) -> dict:
        for k in ("title", "selftext", "body"):
            if isinstance(d.get(k), str):
                d[k] = wire.escape_legacy(d[k])
        return d

    items = []
    for s in corpus.submissions:
        orig = corpus.by_key.get(s.crosspost_of) if s.crosspost_of else None
        items.append(escaped(wire.t3(s, crosspost_parent=wire.t3(orig) if orig else None)))
        items += [escaped(wire.t1(c, s)) for c in s.comments]
    return write_dump(path, items)


def test_a_post_from_a_dump_and_from_live_search_is_one_document(tmp_path, wh, wh_path, corpus, endpoints):
    plan = load_plan(ROOT / "queries" / "paper.toml")
    harvest(wh, plan, endpoints, sources=("reddit",))
    live_docs = dict(wh.rows("SELECT doc_id, content_hash FROM documents"))
    live_hits = search_hits(wh, "reddit")
    summary = backfill(wh_path, plan, [corpus_dump(corpus, tmp_path / "corpus.zst")])
    assert summary.status == "ok" and summary.totals.quarantined == 0
    # the same matcher and scope: archive search finds exactly what live search found
    assert search_hits(wh) == live_hits
    # ... under the same ids, so each post is one row with hits from both paths
    after = dict(wh.rows("SELECT doc_id, content_hash FROM documents"))
    assert {d: after[d] for d in live_docs} == live_docs  # live copies were not overwritten
    both = wh.scalar("SELECT count(*) FROM (SELECT doc_id FROM hits WHERE via = 'search' GROUP BY doc_id "
                     "HAVING count(DISTINCT source) = 2)")
    assert both == len({d for d, _ in live_hits})
    assert wh.scalar("SELECT count(*) FROM documents") == wh.scalar("SELECT count(DISTINCT doc_id) FROM hits")
    # every matched post brings at most 10 comments, all of its own thread
    per_post = wh.rows("SELECT d.thread_id, count(DISTINCT h.doc_id) FROM hits h JOIN documents d USING (doc_id) "
                       "WHERE h.source = 'reddit-archive' AND h.via = 'thread' GROUP BY 1")
    assert per_post and max(n for _, n in per_post) <= 10
    funnel = {(r[0], r[1]): r[2] for r in wh.rows("SELECT source, stage, n FROM v_funnel")}
    assert funnel[("reddit-archive", "queries run")] == len(expand_archive(plan)) == 75
    assert funnel[("reddit", "queries run")] == 75


def test_archive_hits_are_exactly_the_corpus_posts_the_queries_match(tmp_path, wh, wh_path, corpus):
    """Independently of live search: evaluate every query on every in-scope corpus post."""
    plan = load_plan(ROOT / "queries" / "paper.toml")
    backfill(wh_path, plan, [corpus_dump(corpus, tmp_path / "corpus.zst")])
    subs = {s.lower() for s in plan.reddit.subreddits}
    want = set()
    for q in expand_archive(plan):
        match = compile_query(parse(q.rendered))
        for s in corpus.submissions:
            text = f"{s.title}\n{s.selftext if s.state == 'ok' else ''}"
            if s.subreddit.lower() in subs and match(IndexedText(text)):
                want.add((s.doc_id, q.rendered))
    assert want and search_hits(wh) == want


# -- files --------------------------------------------------------------------------------------
def test_blocks_keep_line_numbers_and_offsets_for_resuming(tmp_path):
    lines = [("x" * (i % 37)).encode() for i in range(2500)]
    for name in ("a.zst", "a.ndjson"):
        dump = open_dump(write_dump(tmp_path / name, lines))
        for chunk in (1, 9, 4096):
            blocks = list(read_blocks(dump, chunk_size=chunk))
            assert [x for b in blocks for x in b.lines] == lines
            assert all(b.first_line_no == 1 + sum(len(p.lines) for p in blocks[:i]) for i, b in enumerate(blocks))
            middle = blocks[len(blocks) // 2]
            rest = [x for b in read_blocks(dump, start_offset=middle.end_offset,
                                           start_line=middle.first_line_no + len(middle.lines) - 1,
                                           chunk_size=chunk) for x in b.lines]
            assert rest == lines[middle.first_line_no + len(middle.lines) - 1:]
            # n readers taking every n-th block share the lines out exactly, as worker processes do
            shared = sorted((b for k in range(3) for b in read_blocks(dump, chunk_size=chunk, every=3, phase=k)),
                            key=lambda b: b.index)
            assert [(b.lines, b.first_line_no, b.end_offset) for b in shared] == \
                [(b.lines, b.first_line_no, b.end_offset) for b in blocks]


def test_folders_expand_to_their_dump_files(tmp_path):
    write_dump(tmp_path / "b.zst", SUBMISSIONS)
    write_dump(tmp_path / "a.jsonl", COMMENTS)
    (tmp_path / "notes.txt").write_text("not a dump")
    assert [p.name for p in expand_paths([tmp_path])] == ["a.jsonl", "b.zst"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(DumpError, match="no .zst, .ndjson or .jsonl files"):
        expand_paths([tmp_path / "empty"])


# -- several scanning processes -------------------------------------------------------------------
def _import_with(tmp_path: Path, plan, paths: list[Path], name: str, workers: int | None):
    """An import whose files are scanned by ``workers`` processes, in blocks of ~1 KB (so
    every worker gets many blocks of even a small file)."""
    wh_path = tmp_path / f"{name}.duckdb"
    run_id = start_import(wh_path, plan)
    outcomes = []
    with Warehouse.open(wh_path) as wh:
        importer = ArchiveImporter(wh, plan, run_id, Pseudonymizer(installation_secret(wh_path)),
                                   workers=workers, chunk_size=1024, batch_lines=40)
        outcomes = [importer.import_file(p) for p in paths]
    return wh_path, finish_import(wh_path, plan, run_id, outcomes, 0.0)


def import_snapshots(tmp_path: Path, plan, paths: list[Path], runs, queries: tuple[str, ...]) -> list[list]:
    """What each import of ``runs`` ((name, workers) pairs) leaves, as the rows of ``queries``."""
    out = []
    for name, workers in runs:
        wh_path, summary = _import_with(tmp_path, plan, paths, name, workers)
        assert summary.status == "ok"
        with Warehouse.open(wh_path, read_only=True) as wh:
            out.append([wh.rows(sql) for sql in queries])
    return out


def test_worker_processes_import_exactly_what_one_process_does(tmp_path, monkeypatch):
    monkeypatch.setattr(archive_workers, "MIN_BYTES", 0)  # any file is big enough for workers here
    plan = write_plan(tmp_path)
    mixed = write_dump(tmp_path / "RS_mixed.zst", [
        *SUBMISSIONS, *COMMENTS, '{"id": "cut", "subreddit": "depression", "title": ',
        *[post(f"m{i}", "depression" if i % 2 else "CPTSD", "ChatGPT refused" if i % 9 == 0 else f"day {i}",
               "plain words " * 10) for i in range(300)]])
    # None: the first block is scanned in-process, then (mostly in scope) workers take over
    snapshots = import_snapshots(tmp_path, plan, [mixed], (("one", 1), ("three", 3), ("auto", None)), (
        "SELECT doc_id, content_hash FROM documents ORDER BY ALL",
        "SELECT doc_id, query_id, via FROM hits ORDER BY ALL",
        "SELECT line_no, byte_offset, reason FROM archive_quarantine ORDER BY ALL",
        "SELECT status, line_no, byte_offset, lines, matched, hits, quarantined FROM archive_imports"))
    assert snapshots[0] == snapshots[1] == snapshots[2]
    assert snapshots[0][1] and snapshots[0][2]  # there were hits and a quarantined line to agree on


def test_a_corrupt_file_scanned_by_workers_keeps_the_blocks_before_the_damage(tmp_path):
    plan = write_plan(tmp_path)
    dump = write_dump(tmp_path / "RS_bad.zst", [post(f"g{i}", "depression", f"ChatGPT refused number {i}")
                                                 for i in range(3000)])
    data = dump.read_bytes()
    dump.write_bytes(data[: len(data) // 2] + b"\x00garbage" * 100)
    wh_path, summary = _import_with(tmp_path, plan, [dump], "bad", 2)
    assert summary.status == "failed" and "RS_bad.zst" in summary.files[0].note
    with Warehouse.open(wh_path, read_only=True) as wh:
        line_no, status = wh.rows("SELECT line_no, status FROM archive_imports")[0]
        kept = wh.scalar("SELECT count(*) FROM documents")
    assert status == "running" and 0 < kept == line_no < 3000  # every line before the damage, no gap


@pytest.mark.slow
def test_the_backfill_flow_imports_resumably_and_shows_in_the_funnel(prefect_harness, tmp_path, wh_path):
    from miner.flows.backfill import reddit_backfill
    plan = write_plan(tmp_path)
    rs = write_dump(tmp_path / "RS.zst", SUBMISSIONS)
    rc = write_dump(tmp_path / "RC.ndjson", COMMENTS)
    first = reddit_backfill([str(rs), str(rc)], plan=str(plan.path), warehouse=str(wh_path))
    assert first["status"] == "ok" and first["files"] == 2 and first["matched"] == len(expected_search_hits())
    embedded = {s["stage"]: s["counts"] for s in first["process"]}["embed"]
    assert embedded["encoded"] > 0  # the backfill ends by processing what it imported
    again = reddit_backfill([str(tmp_path)], plan=str(plan.path), warehouse=str(wh_path))
    assert again["status"] == "ok" and again["lines"] == 0 and again["documents_new"] == 0
    assert {s["stage"]: s["counts"] for s in again["process"]}["embed"]["encoded"] == 0
    with Warehouse.open(wh_path, read_only=True) as wh:
        assert search_hits(wh) == expected_search_hits()
        assert wh.scalar("SELECT count(*) FROM harvest_runs WHERE endpoint = 'archive' AND flow_run_id <> ''") == 2
        funnel = {r[1]: r[2] for r in wh.rows("SELECT source, stage, n FROM v_funnel WHERE source = 'reddit-archive'")}
    assert funnel["queries run"] == len(expand_archive(plan))
    assert funnel["unique documents"] == len(expected_search_hits()) + first["comments_attached"] > 5



def test_the_quarantine_hint_names_the_warehouse_that_was_written(tmp_path):
    plan = write_plan(tmp_path)
    dump = write_dump(tmp_path / "RS.zst", [SUBMISSIONS[0], '{"id": "t1x", "sel'])
    where = tmp_path / "my warehouse.duckdb"
    res = CliRunner().invoke(main, ["import", "reddit-dump", str(dump), "--plan", str(plan.path),
                                    "--warehouse", str(where)])
    assert res.exit_code == 0, res.output
    hint = next(line for line in res.output.splitlines() if "quarantined lines:" in line)
    assert f"miner sql --warehouse '{where}' \"SELECT" in hint  # copy-paste reads the same file
