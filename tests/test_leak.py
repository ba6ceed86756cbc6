"""The leak gate end to end (issue 19, item 1): identifiers a re-identifier would search for
are planted in a Reddit thread, which is harvested with praw from the replay server, accepted
in triage, made an incident with a narrative, and exported in every format and as tables.
No output file contains any of them, in any spelling; where one slips past the anonymizer
(stored by hand, or in a code field) the export is blocked with a reason that names the
incident and the field but not the identifier.

The thread is synthetic, written here; the people in it do not exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from miner.cli import main
from miner.core.config import Endpoints
from miner.core.db import Warehouse
from miner.incidents import checks, incidents
from miner.incidents.export import FORMATS, export
from miner.plan.plan import load_plan
from miner.replay.corpus import load_corpus
from miner.replay.server import ReplayServer
from tests.helpers import harvest

AUTHOR, COMMENTER, MENTIONED = "pemberton_jon_1988", "Heron_Friend_5", "quiet_heron_22"
THREAD = f'''
[[thread]]
key = "leak-001"
subreddit = "depression"
date = "2024-03-14"
title = "ChatGPT would refuse to keep talking to me"
body = """I'm Jon Pemberton. At 3am I asked ChatGPT for help and it would refuse, pasting a hotline instead.
If it happened to you, text (312) 555-0147 or mail jon.pemberton1988@example.com. u/{MENTIONED} had the same."""

[[thread.comments]]
key = "leak-001-c1"
body = "Same here, ChatGPT would refuse me too and I closed the app."
'''
PLAN = """
name = "leak"
description = "one query for the leak test"
products = ["ChatGPT"]
[reddit]
templates = ["{product} and refuse"]
subreddits = ["depression"]
scope = "combined"
posts_per_query = 100
comments_per_post = 10
sort = "new"
time_filter = "all"
"""
# What the annotator typed: every identifier of the thread, spelled the ways people spell them.
NARRATIVE = (f"{AUTHOR} (that is jon pemberton) wrote that a chatbot met a late-night plea with a hotline. "
             f"He left jon dot pemberton1988 at example dot com and 312.555.0147 for others; "
             f"{COMMENTER.lower()} and u/{MENTIONED.upper()} said it had happened to them as well.")
# Every form of every planted identifier a re-identifier would grep for.
PLANTED = [AUTHOR, COMMENTER, MENTIONED, "jon pemberton", "pemberton", "pemberton1988", "555-0147", "5550147",
           "3125550147", "example.com", "example dot com", "u/anon_"]


def grep(paths: list[Path]) -> list[tuple[str, str]]:
    """(file, identifier) for every planted identifier found in a file, case-insensitively,
    in its bytes and with separators removed (a phone split by spaces or dots)."""
    found = []
    for p in paths:
        text = p.read_bytes().decode("utf-8", "replace").lower()
        squeezed = re.sub(r"[\s.()-]", "", text)
        for s in PLANTED:
            if s.lower() in text or (s.isdigit() and s in squeezed):
                found.append((p.name, s))
    return found


@pytest.fixture
def thread_warehouse(tmp_path, wh_path):
    """The planted thread harvested from a replay server of its own, accepted in triage by an
    annotator, and turned into an incident (codes from the annotation)."""
    from miner.triage.annotations import label
    from miner.triage.codebook import Label

    corpus_dir = tmp_path / "corpus"
    (corpus_dir / "reddit").mkdir(parents=True)
    (corpus_dir / "news").mkdir()
    (corpus_dir / "reddit" / "leak.toml").write_text(THREAD, encoding="utf-8")
    corpus = load_corpus(corpus_dir, noise=False)
    (sub,) = corpus.submissions
    sub.author, sub.comments[0].author = AUTHOR, COMMENTER
    plan_path = tmp_path / "leak.toml"
    plan_path.write_text(PLAN, encoding="utf-8")
    with ReplayServer(corpus) as server, Warehouse.open(wh_path) as wh:
        harvest(wh, load_plan(plan_path), Endpoints(reddit_url=server.url), sources=("reddit",))
        docs = [d for (d,) in wh.rows("SELECT doc_id FROM documents ORDER BY kind DESC")]
        assert len(docs) == 2, docs  # the post and its comment
        label(wh, docs[0], "ann1", Label("incident", product="ChatGPT", context="crisis",
                                         form=("resource_referral",)))
        (inc,) = incidents.incidents_from_annotations(wh, by="ann1").created
    return wh_path, inc


def export_everything(wh_path: Path, out: Path, *, tables_exit: int = 0) -> tuple[list[Path], list[str]]:
    """Every incident and scenario format through the CLI, then `export tables` in both formats
    (which exit with ``tables_exit``)."""
    paths, outputs = [], []
    run = CliRunner().invoke
    for kind in ("incidents", "scenarios"):
        for fmt in FORMATS:
            p = out / f"{kind}.{fmt}"
            res = run(main, ["export", kind, "--format", fmt, "--out", str(p), "--warehouse", str(wh_path)])
            assert res.exit_code == 0, res.output
            paths.append(p)
            outputs.append(res.output)
    for fmt in ("parquet", "csv"):
        res = run(main, ["export", "tables", "--format", fmt, "--out", str(out / f"tables-{fmt}"),
                         "--warehouse", str(wh_path)])
        assert res.exit_code == tables_exit, res.output
        if (out / f"tables-{fmt}").exists():
            paths += sorted((out / f"tables-{fmt}").iterdir())
        outputs.append(res.output)
    return paths, outputs


def test_planted_identifiers_reach_no_export_file_in_any_format(thread_warehouse, tmp_path):
    wh_path, inc = thread_warehouse
    with Warehouse.open(wh_path) as wh:
        draft = incidents.get_incident(wh, inc)["draft"]
        stored = incidents.set_narrative(wh, inc, NARRATIVE)
        # one map for the incident: the draft's phone, e-mail and handle keep their placeholders
        for ph in ("[PHONE_1]", "[EMAIL_1]", "[USER_1]", "[PERSON_1]"):
            assert ph in draft and ph in stored, (draft, stored)
        checks.review_flags(wh, inc, by="ann1")
        assert checks.check(wh, inc).passed, checks.check(wh, inc).problems
        incidents.create_scenario(wh, "Hotline at night", [inc], "A late-night plea met with a hotline number.")
    paths, outputs = export_everything(wh_path, tmp_path / "out")
    assert all("1 incident written" in o for o in outputs[:3]), outputs
    assert any(p.name.startswith("v_") for p in paths)
    assert grep(paths) == []
    assert stored.split()[0] == "[USER_2]" and "[USER_1]" in stored  # the author, then the mentioned user
    refused = CliRunner().invoke(main, ["export", "tables", "--view", "v_incidents", "--out", str(tmp_path / "t"),
                                        "--warehouse", str(wh_path)])
    assert refused.exit_code == 2 and "not exported" in refused.output


def test_an_identifier_the_anonymizer_did_not_replace_blocks_the_export_naming_incident_and_field(
        thread_warehouse, tmp_path):
    """A narrative stored before this gate existed (raw), and a code field holding a username:
    the check fails, exports leave the incident out saying where, and nothing leaks, not even
    into the reason."""
    wh_path, inc = thread_warehouse
    with Warehouse.open(wh_path) as wh:
        wh.execute("UPDATE incidents SET narrative = ? WHERE incident_id = ?",
                   [f"A chatbot met {AUTHOR.upper()}'s plea with a hotline; jon pemberton said so.", inc])
        checks.review_flags(wh, inc, by="ann1")
    run = CliRunner().invoke
    w = ["--warehouse", str(wh_path)]
    checked = run(main, ["incident", "check", inc, *w])
    assert checked.exit_code == 1 and "leak: narrative: a source author's username (not shown)" in checked.output
    assert "a person's name from the sources" in checked.output
    with Warehouse.open(wh_path) as wh:
        incidents.set_narrative(wh, inc, "A chatbot met a late-night plea with a hotline number.")
        incidents.set_codes(wh, inc, product=f"ChatGPT (as {COMMENTER} calls it)")
        checks.review_flags(wh, inc, by="ann1")
    outputs = []
    for fmt in FORMATS:
        res = run(main, ["export", "incidents", "--format", fmt, "--out", str(tmp_path / f"i.{fmt}"), *w])
        assert res.exit_code == 0 and "0 incidents written" in res.output, res.output
        assert f"left out {inc}: leak: product: a source author's username (not shown)" in res.output
        outputs.append(res.output)
    # the product code also reaches a table view: `export tables` is blocked too, and says where
    paths, more = export_everything(wh_path, tmp_path / "out", tables_exit=2)
    assert "--view v_incidents_by_month: not exported, column product carries a source author's username " \
           "(not shown); nothing written" in more[-1]
    assert grep(paths + [tmp_path / f"i.{f}" for f in FORMATS]) == []
    assert not any(s.lower() in o.lower() for o in outputs + more + [checked.output] for s in PLANTED[:4])


def test_export_tables_is_blocked_when_an_allowed_view_carries_an_identifier(thread_warehouse, tmp_path):
    """Defence in depth: an allowed view should hold no text, but if a value in one is an
    author's username (here in a run's note), nothing is written and the reason says
    which view and column."""
    wh_path, _ = thread_warehouse
    with Warehouse.open(wh_path) as wh:
        wh.execute("UPDATE harvest_runs SET note = ?", [f"asked by {AUTHOR}"])
    out = tmp_path / "tables"
    res = CliRunner().invoke(main, ["export", "tables", "--out", str(out), "--warehouse", str(wh_path)])
    assert res.exit_code == 2, res.output
    assert re.search(r"--view v_runs: not exported, column note carries a source author's username "
                     r"\(not shown\); nothing written", res.output), res.output
    assert AUTHOR not in res.output and not (out.exists() and any(out.iterdir()))


def test_a_whole_warehouse_gate_does_not_take_plain_words_for_usernames():
    """Some author in a large warehouse is called "deny": a table of query yields that says
    "ChatGPT and deny" must still export, while in an incident of that author it is a leak."""
    from miner.collect.pseudonyms import Pseudonymizer
    from miner.incidents.leaks import Known, scan

    k = Pseudonymizer(b"k")
    authors = frozenset({k.author("deny"), k.author("deny_me_2")})
    incident = Known(keyer=k, authors=authors)
    warehouse = Known(keyer=k, authors=authors, plain_words=False)
    assert [x.kind for x in scan("ChatGPT and deny", incident)] == ["username"]
    assert scan("ChatGPT and deny", warehouse) == []
    assert [x.what for x in scan("asked by DENY_ME_2", warehouse)] == ["a source author's username"]
