"""Bad input gets one line naming the file, line or key, and exit status 2: never a traceback,
never silence, never a touched warehouse (issue 19, item 6). The tests run the real CLI in a
subprocess, as a user would, except the two that need an input no shell can pass or none at all."""

from __future__ import annotations

import subprocess
from pathlib import Path

from miner.core.db import Warehouse
from miner.incidents import incidents
from tests.helpers import miner_cli, put_documents

GOOD_REDDIT = 'name = "x"\nproducts = ["ChatGPT"]\n[reddit]\nsubreddits = ["a"]\n'


def one_error_line(res: subprocess.CompletedProcess) -> str:
    """The single ``error: ...`` line a refused input must produce (exit 2, no traceback)."""
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


def plan_file(tmp_path: Path, body: str | bytes, name: str = "plan.toml") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    return path


def test_a_non_utf8_plan_names_the_file_and_byte_in_show_and_import(tmp_path):
    raw = b'name = "x"\nproducts = ["Chat\xff\xfeGPT"]\n'  # UTF-16's byte-order mark, mid-file
    plan = plan_file(tmp_path, raw)
    line = one_error_line(miner_cli("plan", "show", str(plan)))
    assert line == f"error: {plan}: not UTF-8 text (byte {raw.index(0xff)}, line 2); save it as UTF-8"
    dump = tmp_path / "RS.ndjson"
    dump.write_text('{"id": "a1", "subreddit": "a", "title": "t", "selftext": "b", "created_utc": 1}\n')
    wh = tmp_path / "wh.duckdb"
    res = miner_cli("import", "reddit-dump", str(dump), "--plan", str(plan), "--warehouse", str(wh))
    assert one_error_line(res) == line
    assert not wh.exists()  # refused before anything was written


def test_an_unknown_placeholder_is_refused_not_sent_to_reddit(tmp_path):
    plan = plan_file(tmp_path, GOOD_REDDIT + 'templates = ["{product} and deny", "{product} and {foo}"]\n')
    line = one_error_line(miner_cli("plan", "show", str(plan), "--format", "csv"))
    assert line == (f"error: {plan}: reddit.templates[1]: template '{{product}} and {{foo}}': "
                    "unknown placeholder {foo} (known: product)")
    news = plan_file(tmp_path, 'name = "n"\n[news]\nqueries = ["AI {product} refused"]\n', "news.toml")
    line = one_error_line(miner_cli("plan", "show", str(news)))
    assert f"{news}: news.queries[0]: " in line and "unknown placeholder {product} (none are filled in here)" in line
    stray = plan_file(tmp_path, GOOD_REDDIT + 'templates = ["{product} and deny}"]\n', "stray.toml")
    assert "unmatched '}'" in one_error_line(miner_cli("plan", "show", str(stray)))


def test_a_news_window_that_ends_before_it_starts_is_refused_naming_the_key(tmp_path):
    body = 'name = "n"\n[news]\nqueries = ["AI refused"]\nfrom = 2025-06-30\nto = {to}\n'
    plan = plan_file(tmp_path, body.format(to="2025-06-01"))
    line = one_error_line(miner_cli("plan", "show", str(plan)))
    assert line == f"error: {plan}: news.from: 2025-06-30 is after news.to 2025-06-01: the window would be empty"
    same_day = plan_file(tmp_path, body.format(to="2025-06-30T23:00:00"), "ok.toml")  # a date-time compares by day
    res = miner_cli("plan", "show", str(same_day), "--format", "csv")
    assert res.returncode == 0 and ",news,en:2025-06-30..2025-06-30" in res.stdout, res.stderr


def test_export_of_an_unknown_view_says_no_such_view_and_writes_nothing(tmp_path):
    wh_path = tmp_path / "wh.duckdb"
    Warehouse.open(wh_path).close()
    out = tmp_path / "export"
    line = one_error_line(miner_cli("export", "tables", "--view", "v_funnel", "--view", "v_nope",
                                    "--out", str(out), "--warehouse", str(wh_path)))
    assert line.startswith("error: --view v_nope: no such view (exportable: v_agreement, ")
    assert "v_funnel" in line and not out.exists()  # the good view is not written either
    table = one_error_line(miner_cli("export", "tables", "--view", "documents", "--warehouse", str(wh_path),
                                     "--out", str(out)))
    assert table.startswith("error: --view documents: a table, not an exportable view (exportable: ")


def test_every_file_a_user_gives_is_read_the_same_way(tmp_path, wh, wh_path):
    """Labels, SQL and narrative files go through the plan's reader: the same one line."""
    put_documents(wh, {"reddit:t3_a": "After my dad died a chatbot told me to call a hotline instead."})
    inc = incidents.create_incident(wh, ["reddit:t3_a"])
    wh.close()
    story = plan_file(tmp_path, "Ein trauernder Mann, müde".encode("latin-1"), "story.txt")
    line = one_error_line(miner_cli("incident", "narrative", inc, "--file", str(story), "--warehouse", str(wh_path)))
    assert line == f"error: {story}: not UTF-8 text (byte 22, line 1); save it as UTF-8"
    labels = plan_file(tmp_path, b"doc_id,label\nreddit:t3_a\xe9,incident\n", "labels.csv")  # Latin-1 e-acute
    line = one_error_line(miner_cli("plan", "evaluate", "queries/paper.toml", "--labels", str(labels),
                                    "--corpus", "replay"))
    assert line == f"error: {labels}: not UTF-8 text (byte 24, line 2); save it as UTF-8"
    sql = plan_file(tmp_path, "SELECT 'café'".encode("utf-16"), "q.sql")
    line = one_error_line(miner_cli("sql", "--file", str(sql), "--warehouse", str(wh_path)))
    assert line == f"error: {sql}: not UTF-8 text (byte 0, line 1); save it as UTF-8"


def test_a_value_error_the_library_did_not_word_is_still_one_line_and_exit_2():
    from click.testing import CliRunner

    from miner.cli import main

    res = CliRunner().invoke(main, ["plan", "show", "plan\0.toml"])  # a NUL byte no file name can have
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    (line,) = res.output.splitlines()
    assert line.startswith("error: embedded null byte (ValueError at click/types.py:")  # where, for a bug report


def test_options_out_of_range_are_usage_errors_before_anything_runs(tmp_path):
    """A port socket.bind cannot take, a URL without a scheme (which a harvest would retry
    query after query), a negative count: click's usage error naming the option, exit 2."""
    wh = tmp_path / "wh.duckdb"
    for args, says in [
        (("replay", "serve", "--port", "99999"), "'--port': 99999 is not in the range 0<=x<=65535"),
        (("harvest", "queries/paper.toml", "--reddit-url", "localhost:8765", "--warehouse", str(wh)),
         "'--reddit-url': 'localhost:8765' is not an http(s) URL like http://127.0.0.1:8765"),
        (("runs", "--limit", "-5", "--warehouse", str(wh)), "'--limit': -5 is not in the range x>=1"),
    ]:
        res = miner_cli(*args)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert f"Error: Invalid value for {says}" in res.stderr, res.stderr
    assert not wh.exists()


def test_a_csv_given_as_the_warehouse_is_refused_and_left_as_it_was(tmp_path):
    """DuckDB would open it as an in-memory database: a harvest would run and keep nothing."""
    labels = plan_file(tmp_path, "doc_id,label\nreddit:t3_a,incident\n", "labels.csv")
    for args in (("funnel",), ("export", "incidents", "--out", str(tmp_path / "inc.csv"))):
        line = one_error_line(miner_cli(*args, "--warehouse", str(labels)))
        assert line == f"error: {labels}: not a DuckDB file, so not a warehouse (left as it was)"
    assert labels.read_text() == "doc_id,label\nreddit:t3_a,incident\n" and not (tmp_path / "inc.csv").exists()


def test_an_out_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path):
    wh_path = tmp_path / "wh.duckdb"
    Warehouse.open(wh_path).close()
    blocker = plan_file(tmp_path, "a file, not a folder\n", "export")
    for args in (("export", "tables"), ("report",)):
        line = one_error_line(miner_cli(*args, "--out", str(blocker / "sub"), "--warehouse", str(wh_path)))
        assert line == f"error: {blocker / 'sub'}: Not a directory"
    assert blocker.read_text() == "a file, not a folder\n"


def test_clustering_an_empty_warehouse_is_nothing_to_do_not_an_error(wh):
    """Found by the CLI's ValueError line: ``miner triage score`` on a new warehouse said
    "cannot reshape array of size 0" (exit 2) instead of clustering nothing."""
    from miner.triage.clusters import cluster_candidates

    report = cluster_candidates(wh)
    assert (report.items, report.clusters) == (0, 0)
