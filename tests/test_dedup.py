"""Dedup on hand-made documents: each level, the canonical rule, and incremental runs.

Precision and recall against the replay corpus's ground truth (with the real model) are in
test_process_corpus.py.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from miner.collect.store import save_hits
from miner.core.records import Hit
from miner.process.clean import clean_pending
from miner.process.dedup import NEAR_JACCARD, dedup_semantic, dedup_text
from tests.helpers import add_documents, doc

STORY = ("Last night I told ChatGPT that I had been thinking about not being here anymore and it stopped "
         "talking to me about anything else and just kept pasting the same hotline number over and over again.")
REPOST = STORY + " Reposting because the first one got buried."
ARTICLE = ("DULUTH, Minn. - Devon Achterberg had been talking to the same character for eight months when the "
           "screen went gray and a crisis pop-up told him to call a hotline, Arrowhead Community College said.")


def process_text(wh) -> object:
    clean_pending(wh)
    return dedup_text(wh)


def groups(wh) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for d, c in wh.rows("SELECT doc_id, canonical_id FROM dup_members"):
        out.setdefault(c, set()).add(d)
    return out


def test_identical_text_is_one_story_but_short_replies_are_not(wh):
    add_documents(wh,
                  doc("reddit:t3_a", "ChatGPT refused me", STORY, created="2024-05-01", community="depression"),
                  doc("reddit:t3_b", "chatgpt REFUSED me!", STORY.replace(",", "").upper(), created="2024-06-01",
                      community="CPTSD"),
                  doc("reddit:t1_c", None, "Same here.", kind="comment"),
                  doc("reddit:t1_d", None, "Same here.", kind="comment", created="2024-05-02"))
    process_text(wh)
    assert groups(wh) == {"reddit:t3_a": {"reddit:t3_a", "reddit:t3_b"}}
    row = wh.dicts("SELECT * FROM v_document_groups WHERE doc_id = 'reddit:t3_b'")[0]
    assert row["canonical_id"] == "reddit:t3_a" and row["dup_method"] == "same_text" and row["dup_similarity"] == 1
    assert wh.scalar("SELECT group_size FROM v_document_groups WHERE doc_id = 'reddit:t1_c'") == 1


def test_an_edited_repost_is_a_near_duplicate_but_a_template_with_another_product_is_not(wh):
    add_documents(wh, doc("reddit:t3_a", "ChatGPT refused me", STORY, created="2024-05-01"),
                  doc("reddit:t3_b", "ChatGPT refused me", REPOST, created="2024-05-04"),
                  doc("reddit:t3_c", "Claude refused me", STORY.replace("ChatGPT", "Claude").replace(
                      "same hotline", "one hotline"), created="2024-05-02"))
    report = process_text(wh)
    assert groups(wh) == {"reddit:t3_a": {"reddit:t3_a", "reddit:t3_b"}}
    method, sim = wh.rows("SELECT method, similarity FROM dup_links")[0]
    assert method == "near_text" and NEAR_JACCARD <= sim < 1
    assert report.compared == 3


def test_new_documents_are_compared_with_the_warehouse_and_old_pairs_are_not_recomputed(wh):
    add_documents(wh, doc("reddit:t3_a", "ChatGPT refused me", STORY, created="2024-05-01"),
                  doc("reddit:t3_x", "Unrelated", "A long post about my cat and the garden " * 4))
    process_text(wh)
    assert process_text(wh).compared == 0  # a rerun compares nothing
    add_documents(wh, doc("reddit:t3_b", "ChatGPT refused me", REPOST, created="2024-05-04"), run_id="run_2")
    report = process_text(wh)
    assert report.compared == 1 and report.links_added == 1
    assert groups(wh) == {"reddit:t3_a": {"reddit:t3_a", "reddit:t3_b"}}
    # The repost is edited again: its old link was evidence about the old text and goes away.
    add_documents(wh, doc("reddit:t3_b", "Never mind", "I deleted everything and wrote about my cat instead " * 3,
                          created="2024-05-04"), run_id="run_3")
    process_text(wh)
    assert groups(wh) == {} and wh.scalar("SELECT count(*) FROM dup_links") == 0


def test_crossposts_link_to_their_original_whichever_arrives_first(wh):
    add_documents(wh, doc("reddit:t3_x", "Claude refused to help me write to my brother", "", created="2024-05-02",
                          crosspost_parent="reddit:t3_o"))
    process_text(wh)
    assert groups(wh) == {}  # the original is not in the warehouse yet
    add_documents(wh, doc("reddit:t3_o", "Claude refused to help me write to my brother", STORY, created="2024-05-01"),
                  run_id="run_2")
    process_text(wh)
    assert groups(wh) == {"reddit:t3_o": {"reddit:t3_o", "reddit:t3_x"}}
    assert wh.rows("SELECT method FROM dup_members WHERE doc_id = 'reddit:t3_x'") == [("crosspost",)]


def test_the_canonical_member_is_the_earliest_that_still_has_text(wh):
    add_documents(wh, doc("reddit:t3_b", "ChatGPT refused me", STORY, created="2024-05-03"),
                  doc("reddit:t3_a", "ChatGPT refused me", STORY, created="2024-05-01"),
                  doc("reddit:t3_c", "ChatGPT refused me", REPOST, created="2024-05-02"))
    process_text(wh)
    assert groups(wh) == {"reddit:t3_a": {"reddit:t3_a", "reddit:t3_b", "reddit:t3_c"}}
    add_documents(wh, doc("reddit:t3_a", None, None, created="2024-05-01", state="deleted"), run_id="run_2")
    process_text(wh)  # its author deleted the first post: the next earliest takes over
    assert groups(wh) == {"reddit:t3_c": {"reddit:t3_b", "reddit:t3_c"}}


def test_a_crosspost_of_a_deleted_original_stands_alone(wh):
    add_documents(wh, doc("reddit:t3_o", None, None, created="2024-05-01", state="deleted"),
                  doc("reddit:t3_x", "Claude refused to help me write to my brother", "", created="2024-05-02",
                      crosspost_parent="reddit:t3_o"))
    process_text(wh)  # a deleted document is in no group: the crosspost is the story now
    assert groups(wh) == {}
    assert wh.rows("SELECT doc_id, is_canonical FROM v_document_groups WHERE doc_id = 'reddit:t3_x'") == [
        ("reddit:t3_x", True)]


RULES = ("Regulators in {place} proposed rules on Tuesday for mental health apps that use AI chatbots, including "
         "requirements to refer users in crisis to human services and to label every conversation clearly. Industry "
         "groups said the rules were workable, while patient advocates said they did not go far enough to protect "
         "young people, and a consultation will run for twelve weeks before any vote.")


def test_news_copies_within_a_week_are_linked_templates_about_other_places_are_not(wh):
    def article(i, text, day):
        return doc(f"news:{i}", "Mental health apps face new rules", text, kind="article", source="news",
                   created=f"2024-11-{day:02d}")
    ontario = RULES.format(place="Ontario")
    add_documents(wh,
                  article("a", ontario, 12),
                  article("b", ontario.replace("every conversation", "each conversation"), 13),  # a lightly edited copy
                  article("c", ontario.replace("every conversation", "all conversations"), 28),  # the same, weeks later
                  article("d", RULES.format(place="Texas"), 12))  # the same template about another place
    process_text(wh)
    assert groups(wh) == {"news:a": {"news:a", "news:b"}}
    # (each excluded pair would pass on text alone)
    from miner.process.dedup import jaccard, shingles, words
    texts = dict(wh.rows("SELECT doc_id, text FROM clean_texts"))
    for x, y in (("news:a", "news:c"), ("news:b", "news:c"), ("news:a", "news:d")):
        assert jaccard(shingles(words(texts[x])), shingles(words(texts[y]))) >= NEAR_JACCARD


def insert_vectors(wh, model_id: str, vectors: dict[str, list[float]]) -> None:
    rows = wh.rows("SELECT doc_id, text_hash FROM clean_texts WHERE doc_id IN (SELECT unnest(?))", [list(vectors)])
    now = datetime(2024, 1, 1)
    for doc_id, h in rows:
        v = np.zeros(384, dtype=np.float32)
        v[:len(vectors[doc_id])] = vectors[doc_id]
        v /= np.linalg.norm(v)
        wh.insert("embeddings", [{"model_id": model_id, "text_hash": h, "vector": v.tolist(), "n_tokens": 10,
                                  "n_chunks": 1, "created_at": now}], on_conflict="DO NOTHING")


def test_semantic_links_need_a_shared_name_for_news_and_the_same_author_for_posts(wh):
    rewrite = ("A 19-year-old Arrowhead Community College student from Duluth says an AI character he had talked to "
               "for months abruptly dropped its persona and sent him crisis resources.")
    other = ("A hospital in Leeds says its new triage chatbot sends too many patients to emergency lines when they "
             "only describe a bad week, according to staff interviewed this month.")
    add_documents(wh,
                  doc("news:a", "Student says pop-up mistook his bad week", ARTICLE, kind="article", source="news",
                      created="2024-11-12"),
                  doc("news:b", "Duluth college student: crisis alert misread a bad week", rewrite, kind="article",
                      source="news", created="2024-11-13"),
                  doc("news:c", "Chatbot triage sends patients to hotlines", other, kind="article", source="news",
                      created="2024-11-13"),
                  doc("reddit:t3_a", "ChatGPT refused me", STORY, author_hash="a_1", created="2024-05-01"),
                  doc("reddit:t3_b", "it just pasted a hotline", "shorter version of my post in the other sub. " * 5,
                      author_hash="a_1", created="2024-05-02"),
                  doc("reddit:t3_c", "same thing happened to me", "shorter version of my post in the other sub. " * 5
                      + " x", author_hash="a_2", created="2024-05-02"))
    process_text(wh)
    assert groups(wh) == {}
    insert_vectors(wh, "test-model", {"news:a": [1, 0.5], "news:b": [1, 0.6], "news:c": [1, 0.55],
                                      "reddit:t3_a": [0, 0, 1, 0.6], "reddit:t3_b": [0, 0, 1, 0.7],
                                      "reddit:t3_c": [0, 0, 1, 0.7, 0.01]})
    report = dedup_semantic(wh, "test-model")
    assert report.compared == 6
    assert groups(wh) == {"news:a": {"news:a", "news:b"}, "reddit:t3_a": {"reddit:t3_a", "reddit:t3_b"}}
    assert {r[0] for r in wh.rows("SELECT method FROM dup_members WHERE NOT is_canonical")} == {"semantic"}
    assert dedup_semantic(wh, "test-model").compared == 0  # nothing new: nothing compared


def test_canonical_documents_view_and_funnel(wh):
    add_documents(wh, doc("reddit:t3_a", "ChatGPT refused me", STORY, created="2024-05-01"),
                  doc("reddit:t3_b", "ChatGPT refused me", REPOST, created="2024-05-04"),
                  doc("reddit:t3_d", None, None, state="deleted"),
                  doc("reddit:t3_e", "My therapist refused to see me", "She has a two strikes policy."))
    when = datetime(2024, 6, 1)
    save_hits(wh, [Hit("p", q, d, "reddit", "search", "run_test", 1, when, None)
                   for q, d in (("q1", "reddit:t3_a"), ("q2", "reddit:t3_b"), ("q1", "reddit:t3_d"), ("q2", "reddit:t3_e"))],
              "run_test")
    process_text(wh)
    rows = wh.dicts("SELECT doc_id, state, group_size, duplicate_ids, n_hits, n_queries FROM v_canonical_documents "
                    "ORDER BY doc_id")
    assert [(r["doc_id"], r["group_size"], r["duplicate_ids"], r["n_hits"], r["n_queries"]) for r in rows] == [
        ("reddit:t3_a", 2, ["reddit:t3_b"], 2, 2), ("reddit:t3_d", 1, [], 1, 1), ("reddit:t3_e", 1, [], 1, 1)]
    funnel = {r[0]: r[1] for r in wh.rows("SELECT stage, n FROM v_funnel WHERE source = 'reddit' AND step <= 5")}
    assert funnel == {"hits": 4, "unique documents": 4, "with text": 3, "after dedup": 2}
