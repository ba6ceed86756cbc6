"""Plan evaluation and suggestions: which labelled incidents a plan finds, at what cost, and
how to widen it. Small synthetic documents written here; one check against a real harvest."""

from __future__ import annotations

import json

import orjson
import pytest
from click.testing import CliRunner

from helpers import harvest
from miner.cli import main
from miner.core.errors import MinerError
from miner.plan.plan import expand, load_plan
from miner.replay.load import replay_corpus
from miner.tuning.evaluate import (EvalCorpus, EvalDoc, Labels, annotation_labels, dump_corpus, evaluate,
                                   load_labels, match_plan, warehouse_corpus)
from miner.tuning.suggest import apply_fragment, suggest

PLAN = """
name = "tiny"
products = ["ChatGPT"]
[reddit]
templates = ["{product} and refuse"]
subreddits = ["depression"]
comments_per_post = 1
[[reddit.communities]]
subreddits = ["replika"]
product = "Replika"
aliases = ["my rep"]
templates = ["{product} AND cold"]
"""


def _plan(tmp_path, text=PLAN):
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return load_plan(path)


def sub(doc_id, community, text, score=1):
    return EvalDoc(f"reddit:t3_{doc_id}", "submission", community, text, score=score)


def com(doc_id, thread, community, text, score):
    return EvalDoc(f"reddit:t1_{doc_id}", "comment", community, text, thread_id=f"reddit:t3_{thread}", score=score)


@pytest.fixture
def small():
    docs = [
        sub("a1", "depression", "ChatGPT refused to talk to me when I was low"),       # incident A
        com("a2", "a1", "depression", "same thing happened to me last week", 50),       # incident D (best comment)
        com("a3", "a1", "depression", "it refused me too, told me to call someone", 2),  # incident E (2nd comment)
        sub("n1", "depression", "ChatGPT refuses to write my essay"),                   # not (found: cost)
        sub("n2", "depression", "feeling low today"),                                    # not, not found
        sub("b1", "ChatGPT", "ChatGPT refused and gave me a hotline"),                   # incident B: out of scope
        sub("c1", "replika", "my rep went cold after the update"),                       # incident C (alias)
        sub("c2", "replika", "Replika is cold in winter mode lol"),                      # not (found: cost)
        sub("f1", "depression", "the bot just gave me the hotline number again"),        # incident F: no match
        sub("a4", "depression", "Update: ChatGPT refused again, same story as before"),  # incident A retold
    ]
    labels = Labels(
        {"reddit:t3_a1": "incident", "reddit:t1_a2": "incident", "reddit:t1_a3": "incident",
         "reddit:t3_n1": "not", "reddit:t3_n2": "not", "reddit:t3_b1": "incident", "reddit:t3_c1": "incident",
         "reddit:t3_c2": "not", "reddit:t3_f1": "incident", "reddit:t3_a4": "incident",
         "reddit:t3_gone": "incident"},
        {"reddit:t3_a1": "A", "reddit:t3_a4": "A", "reddit:t1_a2": "D", "reddit:t1_a3": "E",
         "reddit:t3_b1": "B", "reddit:t3_c1": "C", "reddit:t3_f1": "F", "reddit:t3_gone": "G"}, "test")
    return EvalCorpus("test", docs), labels


def test_evaluate_counts_distinct_incidents_scopes_threads_and_cost(tmp_path, small):
    corpus, labels = small
    ev = evaluate(_plan(tmp_path), corpus, labels)
    # Found: A (post and its retelling: one incident), D (best comment of a matched post),
    # C (r/replika through the alias "my rep"). Missed: E (2nd comment, 1 per post), B (out
    # of scope), F (no query matches). G is labelled but not in the corpus.
    assert ev.incidents == 6 and ev.found == 3 and ev.recall == pytest.approx(3 / 6)
    assert ev.found_incidents == {"A", "D", "C"}
    assert ev.docs_found == {"reddit:t3_a1", "reddit:t1_a2", "reddit:t3_n1", "reddit:t3_a4",
                             "reddit:t3_c1", "reddit:t3_c2"}
    assert ev.reads == 6 and ev.hits == 6 and ev.labelled_not_read == 2
    assert ev.reads_per_incident == pytest.approx(2.0)
    missed = {m.incident: m.reason for m in ev.missed}
    assert missed == {"B": "out of scope", "E": "in scope, no query matched", "F": "in scope, no query matched",
                      "G": "not in the corpus"}
    assert ev.not_in_corpus == 1
    by_scope = {r.query.scope: r for r in ev.queries}
    assert by_scope["depression"].incidents == 2 and by_scope["depression"].only == 2  # A and D
    assert by_scope["replika"].incidents == 1 and by_scope["replika"].hits == 2
    assert by_scope["replika"].query.product == "Replika"


def test_search_comments_lets_a_comment_be_found_by_its_own_words(tmp_path, small):
    corpus, labels = small
    docs = corpus.docs + [com("e9", "n2", "depression", "ChatGPT refused me as well, I was crushed", 1)]
    labels.decisions["reddit:t1_e9"] = "incident"
    labels.incident_of["reddit:t1_e9"] = "H"
    corpus = EvalCorpus("test", docs)
    assert "H" not in evaluate(_plan(tmp_path), corpus, labels).found_incidents  # its post matches nothing
    plan = _plan(tmp_path, PLAN.replace("comments_per_post = 1", "comments_per_post = 1\nsearch_comments = true"))
    ev = evaluate(plan, corpus, labels)
    assert "H" in ev.found_incidents
    found = match_plan(expand(plan), corpus, search_comments=True)
    assert found[next(q.query_id for q in expand(plan) if q.scope == "depression")]["reddit:t1_e9"] == "search"


def test_suggest_proposes_a_shared_phrase_with_exact_estimates_and_never_edits_the_plan(tmp_path):
    stories = ["my companion pushed the hotline on me when I was sad", "asked for comfort and got a hotline",
               "every time I vent it answers with the hotline"]  # they share one word
    docs = [sub(f"r{i}", "replika", text) for i, text in enumerate(stories)]
    docs += [sub(f"x{i}", "replika", f"new outfit for my companion, look {i}") for i in range(4)]
    docs += [sub("h1", "replika", "is the hotline number in the app for the US only?")]
    docs += [sub("u1", "replika", "a unique zebra story about my evening")]
    docs += [sub("d1", "depression", "ChatGPT refused to help me")]
    docs += [sub(f"w{i}", "depression", f"rainy weather again, day {i}") for i in range(20)]
    labels = Labels({d.doc_id: "not" for d in docs}, {}, "test")
    for i in range(3):
        labels.decisions[f"reddit:t3_r{i}"] = "incident"
    labels.decisions["reddit:t3_u1"] = "incident"
    labels.decisions["reddit:t3_d1"] = "incident"
    corpus = EvalCorpus("test", docs)
    plan = _plan(tmp_path)
    before_text = plan.path.read_text()
    result = suggest(plan, corpus, labels, max_queries=3)
    assert result.before.found == 1  # d1 only
    grams = [(s.subreddit, s.gram.template) for s in result.suggestions]
    # "hotline" finds all three stories at the cost of one more post; "zebra" is one story's
    # fingerprint (support 1) and is never proposed.
    assert grams[0] == ("replika", "hotline") and result.suggestions[0].incidents == 3
    assert result.suggestions[0].reads == 4
    assert not any("zebra" in t for _, t in grams)
    fragment = result.fragment()
    assert "[[reddit.communities]]" in fragment and "in-sample" in fragment
    widened = apply_fragment(plan, fragment)
    after = evaluate(widened, corpus, labels)
    assert after.found == result.found_after and after.reads == result.reads_after
    assert plan.path.read_text() == before_text


def test_labels_files_csv_and_jsonl_with_errors_naming_the_line(tmp_path):
    csv_file = tmp_path / "l.csv"
    csv_file.write_text("doc_id,label,incident\nreddit:t3_a,incident,I1\nreddit:t3_b,incident,I1\nreddit:t3_c,not,\n")
    labels = load_labels(csv_file)
    assert labels.positives == ["reddit:t3_a", "reddit:t3_b"] and labels.incident("reddit:t3_b") == "I1"
    jsonl = tmp_path / "l.jsonl"
    jsonl.write_text('{"doc_id": "reddit:t3_a", "label": "incident"}\n\n{"doc_id": "reddit:t3_b", "label": "unsure"}\n')
    assert load_labels(jsonl).decisions == {"reddit:t3_a": "incident", "reddit:t3_b": "unsure"}
    bad = tmp_path / "bad.csv"
    bad.write_text("doc_id,label\nreddit:t3_a,incident\nreddit:t3_b,perhaps\n")
    with pytest.raises(MinerError, match=r"bad.csv:3: doc_id reddit:t3_b: label must be"):
        load_labels(bad)
    (tmp_path / "h.csv").write_text("id,decision\nx,incident\n")
    with pytest.raises(MinerError, match="header must name doc_id and label"):
        load_labels(tmp_path / "h.csv")
    (tmp_path / "j.jsonl").write_text('{"doc_id": "a", "label": "not"}\n{oops\n')
    with pytest.raises(MinerError, match=r"j.jsonl:2: not valid JSON"):
        load_labels(tmp_path / "j.jsonl")


def test_annotations_give_the_triage_decision_and_a_clear_error_without_any(wh):
    from miner.triage.codebook import Label
    from miner.triage.annotations import adjudicate, label
    from tests.helpers import put_documents

    with pytest.raises(MinerError, match="no triage decisions yet"):
        annotation_labels(wh)
    put_documents(wh, {f"reddit:t3_d{i}": f"text {i}" for i in range(1, 5)})
    label(wh, "reddit:t3_d1", "ann1", Label("not", reason="no_refusal"))
    label(wh, "reddit:t3_d1", "ann1", Label("incident"))  # changed their mind: the latest counts
    label(wh, "reddit:t3_d1", "ann2", Label("incident"))
    label(wh, "reddit:t3_d2", "ann1", Label("incident"))
    label(wh, "reddit:t3_d2", "ann2", Label("not", reason="no_refusal"))  # disputed
    label(wh, "reddit:t3_d3", "ann1", Label("unsure"))
    label(wh, "reddit:t3_d4", "ann2", Label("not", reason="human_refusal"))
    assert annotation_labels(wh).decisions == {"reddit:t3_d1": "incident", "reddit:t3_d2": "unsure",
                                               "reddit:t3_d3": "unsure", "reddit:t3_d4": "not"}
    adjudicate(wh, "reddit:t3_d2", "lead", Label("incident"))
    assert annotation_labels(wh).decisions["reddit:t3_d2"] == "incident"


def test_evaluate_predicts_exactly_what_a_harvest_of_the_replay_server_finds(tmp_path, wh, endpoints):
    """The local matcher and the replay server's search agree hit for hit (posts, comments
    fetched with them, news), including a community block with an implied product."""
    plan = _plan(tmp_path, """
name = "agree"
products = ["ChatGPT", "Claude"]
[reddit]
templates = ["{product} and refuse", "{product} AND hotline"]
subreddits = ["depression", "mentalhealth"]
comments_per_post = 3
[[reddit.communities]]
subreddits = ["replika", "CharacterAI"]
product = "Replika"
templates = ['hotline OR cold']
[news]
queries = ["mental health AI refused"]
""")
    harvest(wh, plan, endpoints)
    harvested = {(q, d) for q, d in wh.rows("SELECT query_id, doc_id FROM hits")}
    predicted = {(q, d) for q, docs in match_plan(expand(plan), replay_corpus()).items() for d in docs}
    assert harvested and predicted == harvested
    # Re-evaluated on the warehouse (news kept as ~200 characters), nothing is lost either.
    again = {(q, d) for q, docs in match_plan(expand(plan), warehouse_corpus(wh)).items() for d in docs}
    assert again == harvested


def _dump(tmp_path):
    path = tmp_path / "tiny.ndjson"
    lines = [{"id": "aa1", "subreddit": "depression", "title": "ChatGPT refused me", "selftext": "",
              "score": 3, "created_utc": 1.0},
             {"id": "aa2", "subreddit": "depression", "title": "ChatGPT refuses essays", "selftext": "x"},
             {"id": "bb1", "link_id": "t3_aa1", "subreddit": "depression", "body": "me too", "score": 5},
             {"id": "cc1", "subreddit": "replika", "title": "my rep is cold", "selftext": "[removed]"}]
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in lines) + b"\nnot json\n")
    return path


def test_cli_evaluate_on_a_dump_with_a_labels_file(tmp_path):
    plan = _plan(tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text("doc_id,label\nreddit:t3_aa1,incident\nreddit:t1_bb1,incident\nreddit:t3_aa2,not\n"
                      "reddit:t3_cc1,incident\n")
    res = CliRunner().invoke(main, ["plan", "evaluate", str(plan.path), "--labels", str(labels),
                                    "--corpus", str(_dump(tmp_path)), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    # aa1 and its comment are found; cc1's body was removed but its title still matches.
    assert out["summary"]["found by some query"] == 3 and out["summary"]["recall"] == "1.000"
    assert out["summary"]["reads (distinct documents)"] == 4
    assert {q["scope"]: q["hits"] for q in out["queries"]} == {"depression": 3, "replika": 1}


def test_cli_errors_are_one_line_and_exit_2(tmp_path, wh_path, wh):
    plan = _plan(tmp_path)
    runner = CliRunner()
    labels = tmp_path / "l.csv"
    labels.write_text("doc_id,label\nx,incident\n")
    cases = [
        (["plan", "evaluate", str(plan.path), "--corpus", "replay"], "give --labels FILE or --from-annotations"),
        (["plan", "evaluate", str(plan.path), "--labels", str(labels), "--from-annotations"], "one of them"),
        (["plan", "evaluate", str(plan.path), "--from-annotations", "--warehouse", str(wh_path)],
         "no triage decisions yet"),
        (["plan", "evaluate", str(plan.path), "--labels", str(tmp_path / "none.csv"), "--corpus", "replay"],
         "cannot read labels"),
        (["plan", "suggest", str(plan.path), "--labels", str(labels), "--corpus", "replay", "--out", str(plan.path)],
         "never applied silently"),
        (["plan", "evaluate", str(plan.path), "--labels", str(labels), "--corpus", str(tmp_path / "x.csv")],
         "not a dump file"),
    ]
    wh.close()
    for args, words in cases:
        res = runner.invoke(main, args)
        assert res.exit_code == 2, (args, res.output)
        errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and words in errors[0], (args, res.output)


def test_cli_suggest_writes_a_fragment_that_loads_with_the_plan(tmp_path):
    plan = _plan(tmp_path)
    labels = tmp_path / "labels.jsonl"
    # Label the replika posts that mention a hotline as incidents: the plan's replika query
    # also needs "cold", so it misses them, and "hotline" is the phrase they all share.
    rows = [{"doc_id": d.doc_id, "label": "incident" if "hotline" in d.text.lower() else "not"}
            for d in replay_corpus().docs if d.community == "replika" and d.kind == "submission"]
    hotline = sum(r["label"] == "incident" for r in rows)
    labels.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "fragment.toml"
    res = CliRunner().invoke(main, ["plan", "suggest", str(plan.path), "--labels", str(labels), "--corpus", "replay",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    widened = apply_fragment(plan, out.read_text())
    if hotline >= 2:  # min_support: a phrase must occur in two incidents
        assert '"hotline"' in out.read_text()
        assert len(expand(widened)) > len(expand(plan))
