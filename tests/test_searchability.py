"""The searchability check: no run of more than N words shared with any document."""

from __future__ import annotations

from click.testing import CliRunner

from miner.cli import main
from miner.incidents import checks, incidents
from miner.incidents.searchability import shared_spans
from tests.helpers import put_documents

SOURCE = ("Every night I typed to the chatbot about my mother, and one night it asked what she was like "
          "when she was annoyed, and I laughed out loud alone in my kitchen.")
ELSEWHERE = "Someone else wrote that the voicemail they still have not deleted is the hardest thing."


def test_a_copied_run_is_named_with_its_document_and_a_six_word_run_is_allowed(wh):
    put_documents(wh, {"reddit:t3_src": SOURCE})
    # 7 words in a row from the source (case and punctuation changed): found
    spans = shared_spans(wh, "Later, she said: 'I LAUGHED out loud, alone in my kitchen' - that was all.")
    assert [(s.text, s.n_words, s.doc_ids) for s in spans] == \
        [("I LAUGHED out loud, alone in my kitchen", 8, ("reddit:t3_src",))]
    # exactly 6 words in a row: allowed at the default, refused at N=5
    six = "The writer laughed out loud alone in my room."
    assert shared_spans(wh, six) == []
    assert [s.text for s in shared_spans(wh, six, max_shared_words=5)] == ["laughed out loud alone in my"]
    # longer limits: the 8-word run is too long at N=7, fine at N=8
    copied = "Later, she said: 'I LAUGHED out loud, alone in my kitchen' - that was all."
    assert [s.n_words for s in shared_spans(wh, copied, max_shared_words=7)] == [8]
    assert shared_spans(wh, copied, max_shared_words=8) == []


def test_the_index_follows_changed_and_purged_documents(wh):
    put_documents(wh, {"reddit:t3_src": SOURCE})
    text = "So it asked what she was like when she was annoyed."
    assert len(shared_spans(wh, text)) == 1
    wh.execute("UPDATE documents SET body = 'edited: nothing left of the old words' WHERE doc_id = 'reddit:t3_src'")
    assert shared_spans(wh, text) == []
    wh.execute("UPDATE documents SET body = ? WHERE doc_id = 'reddit:t3_src'", [SOURCE])
    assert len(shared_spans(wh, text)) == 1
    wh.execute("UPDATE documents SET state = 'deleted', body = NULL, purged_at = now() WHERE doc_id = 'reddit:t3_src'")
    assert shared_spans(wh, text) == []
    assert wh.scalar("SELECT count(*) FROM doc_shingles") == 0


def test_overlapping_copied_runs_merge_into_one_span(wh):
    put_documents(wh, {"reddit:t3_src": SOURCE})
    text = "At night: one night it asked what she was like when she was annoyed, it said."
    (span,) = shared_spans(wh, text)
    assert span.text == "one night it asked what she was like when she was annoyed" and span.n_words == 12


def test_check_names_source_and_warehouse_spans_and_passes_a_rewrite(wh):
    put_documents(wh, {"reddit:t3_src": SOURCE, "reddit:t3_other": ELSEWHERE})
    inc = incidents.create_incident(wh, ["reddit:t3_src"])
    incidents.set_narrative(wh, inc, "A bereaved adult used a chatbot nightly to talk about a parent; it asked "
                                     "what she was like when she was annoyed. They kept the voicemail they "
                                     "still have not deleted.")
    result = checks.check(wh, inc)
    got = {(p.check, p.span, p.documents) for p in result.problems}
    assert got == {("searchable_source", "it asked what she was like when she was annoyed", ("reddit:t3_src",)),
                   ("searchable_warehouse", "the voicemail they still have not deleted", ("reddit:t3_other",))}
    assert not result.passed
    incidents.set_narrative(wh, inc, "A grieving adult talked to a chatbot each night about a parent who had died; "
                                     "one question about her temper made them laugh for the first time in months.")
    assert checks.check(wh, inc).passed
    assert wh.dicts("SELECT checks, check_current FROM v_incidents") == [{"checks": "passed", "check_current": True}]


def test_cli_check_shows_the_offending_span_and_exits_1(wh, wh_path):
    put_documents(wh, {"reddit:t3_src": SOURCE})
    inc = incidents.create_incident(wh, ["reddit:t3_src"])
    incidents.set_narrative(wh, inc, "So it asked what she was like when she was annoyed. That helped.")
    wh.close()
    # in-process, so the session's loaded spaCy model is reused
    res = CliRunner().invoke(main, ["incident", "check", inc, "--warehouse", str(wh_path)])
    assert res.exit_code == 1, res.output
    assert "searchable_source" in res.output and '"it asked what she was like when she was annoyed"' in res.output
    assert "reddit:t3_src" in res.output
