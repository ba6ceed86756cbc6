"""Incidents from documents: creation, codes, merging, merge suggestions, the funnel and v_incidents."""

from __future__ import annotations

from datetime import datetime

import pytest

from miner.core.errors import MinerError
from miner.incidents import incidents
from tests.helpers import put_documents

STORY = ("I asked ChatGPT to help me get through the night after my panic attack and it just pasted a hotline "
         "number and refused to keep talking, so I closed the app and cried.")
RETELL = ("Same here, after my panic attack ChatGPT just pasted a hotline number and refused to keep talking, "
          "I closed the app and cried too.")
OTHER = "Replika changed after the update: my companion went cold and stopped remembering our jokes about cooking."


@pytest.fixture
def docs(wh):
    put_documents(wh, {"reddit:t3_s1": STORY, "reddit:t1_c1": RETELL}, created_at=datetime(2024, 3, 2))
    put_documents(wh, {"reddit:t3_s2": OTHER}, created_at=datetime(2024, 6, 9))
    put_documents(wh, {"news:" + "ab" * 20: "A news story quoting someone."}, created_at=datetime(2024, 7, 1))
    return wh


def test_create_links_documents_and_writes_an_anonymized_draft(docs):
    inc = incidents.create_incident(docs, ["reddit:t3_s1", "reddit:t1_c1"], by="ann")
    got = incidents.get_incident(docs, inc)
    assert got["documents"] == ["reddit:t1_c1", "reddit:t3_s1"] and got["status"] == "open"
    assert "hotline" in got["draft"] and got["narrative"] is None and got["created_by"] == "ann"
    # a document can belong to two incidents (many to many)
    inc2 = incidents.create_incident(docs, ["reddit:t3_s1"])
    assert inc2 != inc and docs.scalar("SELECT count(*) FROM incident_documents WHERE doc_id = 'reddit:t3_s1'") == 2


def test_unknown_and_purged_documents_are_refused_with_their_id(docs):
    with pytest.raises(MinerError, match="reddit:t3_nope"):
        incidents.create_incident(docs, ["reddit:t3_s1", "reddit:t3_nope"])
    docs.execute("UPDATE documents SET state = 'deleted', body = NULL, purged_at = now() WHERE doc_id = 'reddit:t3_s2'")
    with pytest.raises(MinerError, match="reddit:t3_s2"):
        incidents.create_incident(docs, ["reddit:t3_s2"])
    assert docs.scalar("SELECT count(*) FROM incidents") == 0


def test_codes_follow_the_codebook(docs):
    inc = incidents.create_incident(docs, ["reddit:t3_s1"])
    incidents.set_codes(docs, inc, product="ChatGPT", support_context="crisis",
                        refusal_form="resource_referral,hard_refusal", first_hand="yes")
    row = docs.dicts("SELECT product, support_context, refusal_form, first_hand FROM v_incidents")[0]
    assert row == {"product": "ChatGPT", "support_context": "crisis",
                   "refusal_form": ["resource_referral", "hard_refusal"], "first_hand": True}
    with pytest.raises(MinerError, match="support_context: 'therapy'"):
        incidents.set_codes(docs, inc, support_context="therapy")
    with pytest.raises(MinerError, match="colour: not a codebook field"):
        incidents.set_codes(docs, inc, colour="blue")


def test_similar_incidents_are_suggested_for_merging_and_merge_moves_documents(docs):
    a = incidents.create_incident(docs, ["reddit:t3_s1"])
    b = incidents.create_incident(docs, ["reddit:t1_c1"])
    c = incidents.create_incident(docs, ["reddit:t3_s2"])
    s = incidents.suggest_merges(docs)
    assert [(x.incident_a, x.incident_b) for x in s][:1] == [(a, b)]
    assert all(c not in (x.incident_a, x.incident_b) for x in s)
    sid = incidents.create_scenario(docs, "Hotline instead of talk", [b])
    incidents.merge_incidents(docs, a, [b])
    assert incidents.get_incident(docs, a)["documents"] == ["reddit:t1_c1", "reddit:t3_s1"]
    assert incidents.get_incident(docs, b)["status"] == "merged"
    assert docs.rows("SELECT incident_id FROM scenario_incidents WHERE scenario_id = ?", [sid]) == [(a,)]
    with pytest.raises(MinerError, match="merged into"):
        incidents.set_codes(docs, b, product="Claude")
    assert incidents.suggest_merges(docs) == []


def test_same_author_in_two_incidents_is_a_strong_merge_signal(wh):
    put_documents(wh, {"reddit:t3_x1": STORY}, author_hash="a_1")
    put_documents(wh, {"reddit:t3_x2": OTHER}, author_hash="a_1")
    a, b = (incidents.create_incident(wh, [d]) for d in ("reddit:t3_x1", "reddit:t3_x2"))
    (s,) = incidents.suggest_merges(wh)
    assert {s.incident_a, s.incident_b} == {a, b} and "same author" in s.reason


def test_funnel_counts_incidents_and_scenarios_per_source(docs):
    a = incidents.create_incident(docs, ["reddit:t3_s1", "news:" + "ab" * 20])
    incidents.create_incident(docs, ["reddit:t3_s2"])
    incidents.create_scenario(docs, "Cold companions", [a])
    rows = {(r["source"], r["stage"]): r["n"] for r in docs.dicts("SELECT * FROM v_funnel WHERE step >= 9")}
    assert rows == {("reddit", "incidents"): 2, ("news", "incidents"): 1,
                    ("reddit", "scenarios"): 1, ("news", "scenarios"): 1}


def test_v_incidents_gives_provenance_as_counts_and_months_not_ids(docs):
    incidents.create_incident(docs, ["reddit:t3_s1", "reddit:t1_c1", "reddit:t3_s2"])
    (row,) = docs.dicts("SELECT * FROM v_incidents")
    assert (row["n_documents"], row["n_posts"], row["n_comments"]) == (3, 2, 1)
    assert (row["first_month"], row["last_month"]) == ("2024-03", "2024-06") and row["checks"] == "unchecked"
    assert "t3_s1" not in repr(row) and "reddit.com" not in repr(row)


def test_a_document_deleted_at_the_source_leaves_the_draft_and_the_pseudonym_map(wh):
    from miner.collect.deletions import tombstone

    put_documents(wh, {"reddit:t3_keep": STORY, "reddit:t1_gone": "My sister Odile Brandt read this and cried."})
    inc = incidents.create_incident(wh, ["reddit:t3_keep", "reddit:t1_gone"])
    assert "cried" in incidents.get_incident(wh, inc)["draft"]
    assert wh.scalar("SELECT count(*) FROM pseudonym_maps WHERE original = 'odile brandt'") == 1
    tombstone(wh, {"reddit:t1_gone": "deleted"})
    assert incidents.forget_deleted(wh) == 1 and incidents.forget_deleted(wh) == 0
    draft = incidents.get_incident(wh, inc)["draft"]
    assert "read this and cried" not in draft and "hotline" in draft
    assert wh.scalar("SELECT count(*) FROM pseudonym_maps WHERE original LIKE '%odile%'") == 0
    assert wh.scalar("SELECT n_documents FROM v_incidents") == 2  # provenance keeps the count


def test_accepted_annotations_become_one_incident_per_story_once(docs):
    """The post, an accepted comment retelling it and the post's repost are one incident, coded
    from the annotations; a rejected post makes none; running it again creates nothing."""
    from miner.triage.codebook import Label
    from miner.triage.annotations import label
    from miner.core.clock import now_utc

    wh = docs
    put_documents(wh, {"reddit:t3_s3": STORY + " (reposting from another sub)"})
    wh.execute("UPDATE documents SET thread_id = 'reddit:t3_s1' WHERE doc_id = 'reddit:t1_c1'")
    wh.insert("dup_members", [dict(doc_id=d, canonical_id="reddit:t3_s1", is_canonical=d == "reddit:t3_s1",
                                   method=None if d == "reddit:t3_s1" else "near_text", similarity=0.9,
                                   group_size=2, updated_at=now_utc()) for d in ("reddit:t3_s1", "reddit:t3_s3")])
    label(wh, "reddit:t3_s1", "ann1", Label("incident", product="ChatGPT", context="crisis",
                                            form=("resource_referral",), phases=("message_framing",)))
    label(wh, "reddit:t3_s1", "ann2", Label("incident", product="ChatGPT", form=("hard_refusal",)))
    label(wh, "reddit:t1_c1", "ann1", Label("incident", product="ChatGPT"))
    label(wh, "reddit:t3_s2", "ann1", Label("not", reason="no_refusal"))

    first = incidents.incidents_from_annotations(wh, by="ann1")
    assert [sorted(v) for v in first.created.values()] == [["reddit:t1_c1", "reddit:t3_s1", "reddit:t3_s3"]]
    (inc,) = first.created
    got = incidents.get_incident(wh, inc)
    assert got["product"] == "ChatGPT" and got["support_context"] == "crisis"
    assert sorted(got["refusal_form"]) == ["hard_refusal", "resource_referral"]
    assert got["phases"] == ["message_framing"]  # the triage codebook carries over unchanged
    assert "hotline" in got["draft"] and not got["narrative"]  # the annotator still writes the narrative

    again = incidents.incidents_from_annotations(wh)
    assert again.created == {} and again.extended == {}

    label(wh, "reddit:t3_s2", "ann1", Label("incident", product="Replika", context="companionship"))
    third = incidents.incidents_from_annotations(wh)
    assert list(third.created.values()) == [["reddit:t3_s2"]] and inc not in third.created


def test_cli_names_the_id_kind_and_format_and_confirms_codes(docs, wh_path):
    from click.testing import CliRunner

    from miner.cli import main
    inc = incidents.create_incident(docs, ["reddit:t3_s1"])
    docs.close()
    run = CliRunner().invoke
    w = ["--warehouse", str(wh_path)]
    wrong = run(main, ["scenario", "check", "scen-0001", *w])
    assert wrong.exit_code == 2 and "scen-0001: not an incident id (inc-0001) or a scenario id (scn-01)" in wrong.output
    missing = run(main, ["scenario", "check", "scn-09", *w])
    assert missing.exit_code == 2 and "scn-09: no such scenario (scenario ids look like scn-01)" in missing.output
    coded = run(main, ["incident", "code", inc, "product=ChatGPT", "support_context=crisis", *w])
    assert coded.exit_code == 0 and f"{inc}: product=ChatGPT, support_context=crisis" in coded.output
