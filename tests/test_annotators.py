"""Annotators, tokens, sessions and care flags: the parts of the web app that need no browser
and no model (fast)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from miner.cli import main as cli
from miner.collect.pseudonyms import Pseudonymizer
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.replay.load import corpus_documents
from miner.replay.truth import load_truth
from miner.triage import annotators
from miner.triage.annotators import AuthError
from miner.triage.care import CATEGORIES, categories, check_categories


def test_a_token_is_shown_once_and_only_its_hash_is_stored(wh):
    token = annotators.add(wh, "alice")
    stored = repr(wh.rows("SELECT * FROM annotators")) + repr(wh.rows("SELECT * FROM web_sessions"))
    assert token not in stored and "alice" in stored
    assert annotators.authenticate(wh, token).name == "alice"
    assert annotators.authenticate(wh, f"  {token}\n").name == "alice"  # pasted with whitespace
    sid = annotators.start_session(wh, annotators.get(wh, "alice"))
    assert sid not in repr(wh.rows("SELECT * FROM web_sessions"))
    assert annotators.session(wh, sid).annotator.name == "alice"


@pytest.mark.parametrize("bad", ["", "mt_not-a-token", "alice"])
def test_a_wrong_token_is_refused_with_a_clear_message(wh, bad):
    annotators.add(wh, "alice")
    with pytest.raises(AuthError, match="not valid"):
        annotators.authenticate(wh, bad)


def test_expired_and_withdrawn_tokens_say_so_and_a_new_token_ends_old_sessions(wh):
    old = annotators.add(wh, "bob", expires_days=-1)
    with pytest.raises(AuthError, match="expired"):
        annotators.authenticate(wh, old)
    new = annotators.new_token(wh, "bob")
    with pytest.raises(AuthError, match="not valid"):
        annotators.authenticate(wh, old)
    sid = annotators.start_session(wh, annotators.authenticate(wh, new))
    annotators.revoke(wh, "bob")
    with pytest.raises(AuthError, match="withdrawn"):
        annotators.authenticate(wh, new)
    with pytest.raises(AuthError):
        annotators.session(wh, sid)
    again = annotators.new_token(wh, "bob")
    assert annotators.authenticate(wh, again).name == "bob"
    with pytest.raises(AuthError, match="signed out"):  # the session that was open before stays closed
        annotators.session(wh, sid)


def test_sessions_end_on_sign_out_and_expire(wh):
    annotators.add(wh, "carol")
    carol = annotators.get(wh, "carol")
    sid = annotators.start_session(wh, carol)
    annotators.end_session(wh, sid)
    with pytest.raises(AuthError, match="signed out"):
        annotators.session(wh, sid)
    short = annotators.start_session(wh, carol, hours=-0.1)
    with pytest.raises(AuthError, match="expired"):
        annotators.session(wh, short)
    with pytest.raises(AuthError, match="sign in"):
        annotators.session(wh, None)


def test_settings_are_checked_and_kept(wh):
    annotators.add(wh, "dana")
    got = annotators.update_settings(wh, "dana", blur="all", break_minutes=25, opt_out=["abuse", "suicide"])
    assert (got.blur, got.break_minutes, got.opt_out) == ("all", 25, ["suicide", "abuse"])
    with pytest.raises(MinerError, match="blur"):
        annotators.update_settings(wh, "dana", blur="sometimes")
    with pytest.raises(MinerError, match="not one of"):
        annotators.update_settings(wh, "dana", opt_out=["spiders"])
    with pytest.raises(MinerError, match="break minutes"):
        annotators.update_settings(wh, "dana", break_minutes=-5)
    assert annotators.get(wh, "dana").opt_out == ["suicide", "abuse"]  # a refused change changed nothing
    with pytest.raises(MinerError, match="usable name"):
        annotators.add(wh, "dana smith; drop table")
    with pytest.raises(MinerError, match="exists already"):
        annotators.add(wh, "dana")


def test_cli_adds_an_annotator_and_prints_the_token_once(wh_path):
    Warehouse.open(wh_path).close()
    run = CliRunner().invoke(cli, ["annotator", "add", "erin", "--warehouse", str(wh_path)])
    assert run.exit_code == 0, run.output
    token = run.output.strip().splitlines()[-1]
    with Warehouse.open(wh_path) as wh:
        assert annotators.authenticate(wh, token).name == "erin"
    again = CliRunner().invoke(cli, ["annotator", "add", "erin", "--warehouse", str(wh_path)])
    assert again.exit_code == 2 and "exists already" in again.output
    listed = CliRunner().invoke(cli, ["annotator", "list", "--warehouse", str(wh_path)])
    assert "erin" in listed.output and token not in listed.output


def test_serve_refuses_to_start_without_annotators(wh_path):
    Warehouse.open(wh_path).close()
    run = CliRunner().invoke(cli, ["serve", "--warehouse", str(wh_path)])
    assert run.exit_code == 2 and "miner annotator add" in run.output


def test_content_warnings_cover_the_items_the_corpus_marks_sensitive(corpus):
    """Every category the ground truth marks on an item should (nearly always) raise that warning."""
    truth = load_truth()
    docs = {d.doc_id: d for d in corpus_documents(corpus, Pseudonymizer(b"test"))}
    text = {d: (docs[d].title or "") + "\n\n" + (docs[d].body or "") for d in docs}
    marked = [lab for lab in truth.labels.values() if lab.sensitive and lab.doc_id in docs]
    assert marked
    for cat in CATEGORIES:
        items = [lab.doc_id for lab in marked if cat in lab.sensitive]
        found = [d for d in items if cat in categories(text[d])]
        assert len(found) >= 0.85 * len(items), (cat, len(found), len(items))
    warned = [lab for lab in marked if categories(text[lab.doc_id])]
    assert len(warned) >= 0.9 * len(marked)
    # and the warnings are not on everything: most of the background noise carries none
    background = [d for d in docs if d not in truth.labels]
    assert sum(1 for d in background if categories(text[d])) < 0.2 * len(background)


def test_care_categories_are_checked():
    assert check_categories(["abuse", "suicide"]) == ["suicide", "abuse"]
    with pytest.raises(MinerError, match="opt-out"):
        check_categories(["violence"])


def test_a_long_pause_counts_as_a_break(wh):
    annotators.add(wh, "fay")
    sid = annotators.start_session(wh, annotators.get(wh, "fay"))
    wh.execute("UPDATE web_sessions SET active_since = active_since - INTERVAL 60 MINUTE, "
               "last_seen_at = last_seen_at - INTERVAL 5 MINUTE")
    busy = annotators.session(wh, sid)
    assert (busy.created_at - busy.active_since).total_seconds() > 3500  # still the same stretch of work
    wh.execute("UPDATE web_sessions SET last_seen_at = last_seen_at - INTERVAL 20 MINUTE")
    back = annotators.session(wh, sid)
    assert back.active_since > busy.active_since  # away 20 minutes: the break clock restarted
