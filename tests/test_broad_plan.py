"""queries/broad.toml and the plan features it needs: communities with implied products,
aliases, priorities that fit the free budgets; and that it finds what the paper's misses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import SHARED_DATA
from miner.plan.plan import PlanError, estimate, expand, load_plan
from miner.replay.load import replay_corpus
from miner.replay.truth import load_truth
from miner.tuning.evaluate import Labels, dump_corpus, evaluate

BROAD, PAPER = "queries/broad.toml", "queries/paper.toml"


def test_broad_plan_keeps_every_paper_query_over_a_wider_scope():
    broad = expand(load_plan(BROAD))
    paper = expand(load_plan(PAPER))
    scopes = {q.rendered: {s.lower() for s in q.scope.split("+")} for q in broad if q.source == "reddit"}
    for q in paper:
        if q.source == "reddit":
            assert {s.lower() for s in q.scope.split("+")} <= scopes[q.rendered], q.rendered
        else:
            assert q.rendered in {b.rendered for b in broad if b.source == "news"}


def test_communities_imply_their_product_and_expand_its_aliases():
    queries = [q for q in expand(load_plan(BROAD)) if q.source == "reddit"]
    assert not any("{product}" in q.rendered for q in queries)
    replika = [q for q in queries if q.scope == "replika"]
    assert replika and {q.product for q in replika} == {"Replika"}
    assert any(q.rendered.startswith('(Replika OR "my rep" OR "my replika") AND') for q in replika)
    chatgpt = [q for q in queries if q.scope == "ChatGPT+OpenAI+ChatGPTPro"]
    assert chatgpt and {q.product for q in chatgpt} == {"ChatGPT"}
    assert not any("ChatGPT" in q.rendered for q in chatgpt)  # the scope implies it
    assert len({q.query_id for q in queries}) == len(queries)


def test_broad_plan_priorities_fit_the_free_budgets():
    plan = load_plan(BROAD)
    queries = expand(plan)
    news = [b for b in estimate(plan, queries) if b.source == "news"][0]
    assert news.search_requests <= plan.budget.news_requests_per_day  # a day's news fits the free plan
    top = max(q.priority for q in queries)
    first = [b for b in estimate(plan, [q for q in queries if q.priority == top]) if b.source == "reddit"][0]
    assert first.minutes_at_limit <= 60  # the first tier runs in an hour even in the worst case
    assert [q.priority for q in queries] == sorted((q.priority for q in queries), reverse=True)


def test_plan_show_prints_cumulative_cost_by_priority():
    res = subprocess.run([sys.executable, "-m", "miner", "plan", "show", BROAD], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "Cumulative, highest priority first" in res.stdout and ">= 3" in res.stdout


@pytest.mark.parametrize("community, key, words", [
    ('subreddits=["b"]\naliases=["x"]\n', "reddit.communities[0].aliases", "need the product"),
    ('subreddits=["b"]\ncolour="red"\n', "reddit.communities[0].colour", "unknown key"),
    ('subreddits=["b"]\ntemplates=["(x"]\n', "reddit.communities[0].templates[0]", "missing ')'"),
    ('subreddits=["b c"]\n', "reddit.communities[0].subreddits", "not a subreddit name"),
    ('templates=["x"]\n', "reddit.communities[0].subreddits", "is required"),
])
def test_community_errors_name_the_key(tmp_path, community, key, words):
    path = tmp_path / "p.toml"
    path.write_text('name="x"\nproducts=["A"]\n[reddit]\ntemplates=["{product} and deny"]\nsubreddits=["a"]\n'
                    f"[[reddit.communities]]\n{community}")
    with pytest.raises(PlanError) as err:
        load_plan(path)
    assert any(ln.startswith(f"{path}: {key}: ") and words in ln for ln in str(err.value).splitlines()), str(err.value)


def _truth_labels(corpus):
    truth = load_truth()
    return Labels({d.doc_id: truth.labels[d.doc_id].label if d.doc_id in truth.labels else "not"
                   for d in corpus.docs},
                  {d: lab.incident for d, lab in truth.labels.items() if lab.incident}, "truth")


def test_broad_finds_every_incident_the_paper_finds_and_some_it_misses():
    corpus = replay_corpus()
    labels = _truth_labels(corpus)
    paper, broad = evaluate(load_plan(PAPER), corpus, labels), evaluate(load_plan(BROAD), corpus, labels)
    assert paper.found_incidents <= broad.found_incidents
    paper_scope = set(load_plan(PAPER).reddit.subreddits)
    out_of_paper_scope = {labels.incident(d) for d in labels.positives
                          if corpus.by_id[d].kind != "article" and corpus.by_id[d].community not in paper_scope}
    assert broad.found_incidents & out_of_paper_scope  # product communities pay off
    assert broad.incidents == len(load_truth().incidents)


@pytest.mark.skipif(not (SHARED_DATA / "reddit_dev_stream").exists(), reason="shared reference data absent")
def test_on_a_real_stream_a_plan_only_reads_inside_its_scopes():
    stream = dump_corpus(sorted((SHARED_DATA / "reddit_dev_stream").glob("*.ndjson")))
    for path in (PAPER, BROAD):
        plan = load_plan(path)
        ev = evaluate(plan, stream, Labels({}, {}, "none"))
        scopes = {s.lower() for s in plan.reddit.all_subreddits}
        assert all(stream.by_id[d].community.lower() in scopes for d in ev.docs_found)
        assert ev.reads < len(stream.docs) / 10  # refusal queries are narrow even where the product is named


def test_broad_plan_backfilled_from_a_dump_hits_what_evaluate_predicts(tmp_path, wh, wh_path, corpus):
    """Communities and implied products work in archive backfills too, with the same meaning."""
    from miner.collect.archive import backfill
    from miner.tuning.evaluate import match_plan
    from miner.plan.plan import expand_archive
    from test_archive import corpus_dump

    plan = load_plan(BROAD)
    dump = corpus_dump(corpus, tmp_path / "corpus.zst")
    summary = backfill(wh_path, plan, [dump])
    assert summary.status == "ok"
    got = set(wh.rows("SELECT query_id, doc_id FROM hits WHERE source = 'reddit-archive' AND via <> 'sweep'"))
    predicted = {(q, d) for q, docs in match_plan(expand_archive(plan), dump_corpus([dump])).items() for d in docs}
    assert got and got == predicted
    communities = {q.query_id for q in expand_archive(plan) if q.scope == "replika"}
    assert any(q in communities for q, _ in got)
    # and the swept communities are kept whole: every r/replika submission, matched or not
    replika = {s.doc_id for s in corpus.submissions if s.subreddit == "replika"}
    swept = {d for (d,) in wh.rows("SELECT doc_id FROM hits WHERE via = 'sweep'")}
    assert replika and replika <= swept
