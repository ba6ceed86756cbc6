"""Plans: the paper's plan expands exactly; broken plans fail with file, key and reason."""

from __future__ import annotations

import subprocess
import sys

import pytest

from datetime import timedelta

from miner.plan.plan import PlanError, estimate, expand, expand_sweeps, load_plan, swept_subreddits

PAPER = "queries/paper.toml"
PRODUCTS = ["ChatGPT", "Claude", "Gemini", "Grok", "Copilot", "Bard", "GPT-4", "GPT-3", "OpenAI",
            "Anthropic", "Google AI", "Microsoft AI", "Perplexity", "Character.AI", "Replika"]


def test_paper_plan_is_15_products_by_5_templates_plus_4_news_queries():
    plan = load_plan(PAPER)
    queries = expand(plan)
    reddit = [q for q in queries if q.source == "reddit"]
    news = [q for q in queries if q.source == "news"]
    assert len(reddit) == 75 and len(news) == 4
    assert sorted({q.product for q in reddit}) == sorted(PRODUCTS)
    assert {q.scope for q in reddit} == {"CPTSD+mentalhealth+depression+anxiety+bipolar"}
    assert {q.limit for q in reddit} == {1000} and {q.comments_per_post for q in reddit} == {10}
    assert len({q.query_id for q in queries}) == 79  # every query has its own stable id


def test_each_source_renders_its_own_syntax():
    by_key = {(q.product, q.template): q.rendered for q in expand(load_plan(PAPER))}
    assert by_key[("ChatGPT", "{product} and deny")] == "ChatGPT AND deny"
    assert by_key[("Google AI", "{product} and refuse")] == '"Google AI" AND refuse'
    assert by_key[("Character.AI", "{product} and stopped working")] == '"Character.AI" AND stopped AND working'
    assert by_key[("GPT-4", "{product} and guardrails")] == '"GPT-4" AND guardrails'
    news = [q.rendered for q in expand(load_plan(PAPER)) if q.source == "news"]
    assert "mental AND health AND AI AND safety AND guardrails" in news


def test_query_ids_are_stable_across_loads():
    a = [q.query_id for q in expand(load_plan(PAPER))]
    b = [q.query_id for q in expand(load_plan(PAPER))]
    assert a == b


def test_budget_estimate_counts_search_pages_and_comment_requests():
    plan = load_plan(PAPER)
    reddit, news = estimate(plan)
    assert reddit.search_requests == 75 * 10  # 1,000 posts at 100 per page
    assert reddit.detail_requests_max == 75 * 1000
    assert reddit.minutes_at_limit == pytest.approx((750 + 75_000) / 100)
    assert news.search_requests == 4 * 10


def _write(tmp_path, text: str):
    p = tmp_path / "plan.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("body, key, words", [
    ('name="x"\nproducts=["A"]\ncolour="blue"\n[reddit]\ntemplates=["{product} and deny"]\nsubreddits=["a"]\n',
     "colour", "unknown key"),
    ('name="x"\nproducts=["A"]\n[reddit]\ntemplates=["deny it"]\nsubreddits=["a"]\n',
     "reddit.templates[0]", "no {product} placeholder"),
    ('name="x"\nproducts=[]\n[reddit]\ntemplates=["{product} and deny"]\nsubreddits=["a"]\n',
     "products", "at least one product"),
    ('name="x"\nproducts=["A"]\n[reddit]\ntemplates=["{product} and deny"]\nsubreddits=["a"]\nposts_per_query=-1\n',
     "reddit.posts_per_query", "at least 0"),
    ('name="x"\nproducts=["A"]\n[mastodon]\nqueries=["x"]\n[reddit]\ntemplates=["{product}"]\nsubreddits=["a"]\n',
     "mastodon", "unknown source"),
    ('name="x"\nproducts=["A"]\n[reddit]\ntemplates=["{product} and (deny"]\nsubreddits=["a"]\n',
     "reddit.templates[0]", "missing ')' in '{product} and (deny'"),  # the template as written
    ('name="x"\n[news]\nqueries=["x"]\npage_size=500\n', "news.page_size", "at most 100"),
    ('name="x"\n[reddit]\ntemplates=[]\nsubreddits=["a"]\n[[reddit.communities]]\nsubreddits=["r"]\n'
     'sweep=true\nevery="15 minutes"\n', "reddit.communities[0].every", 'like "15m"'),
    ('name="x"\n[reddit]\ntemplates=[]\nsubreddits=["a"]\n[[reddit.communities]]\nsubreddits=["r"]\n'
     'comments=false\n', "reddit.communities[0].comments", "sweep = true"),
    ('name="x"\n[reddit]\ntemplates=[]\nsubreddits=["a"]\n[[reddit.communities]]\nsubreddits=["r"]\n'
     'sweep=true\nsubmissions=false\ncomments=false\n', "reddit.communities[0].sweep", "sweeps nothing"),
])
def test_plan_errors_name_file_key_and_problem(tmp_path, body, key, words):
    path = _write(tmp_path, body)
    with pytest.raises(PlanError) as err:
        load_plan(path)
    lines = [ln for ln in str(err.value).splitlines() if f": {key}: " in ln]
    assert lines, str(err.value)
    assert lines[0].startswith(str(path)) and words in lines[0]


def test_plan_show_cli_lists_rendered_queries_and_exits_2_on_error(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "miner", "plan", "show", PAPER, "--format", "csv"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.strip().splitlines()
    assert len(lines) == 1 + 79
    assert any('"""Google AI"" AND deny"' in ln for ln in lines)  # CSV-quoted phrase
    bad = _write(tmp_path, 'name="x"\nproducts=["A"]\n[reddit]\ntemplates=["deny"]\nsubreddits=["a"]\n')
    res = subprocess.run([sys.executable, "-m", "miner", "plan", "show", str(bad)], capture_output=True, text=True)
    assert res.returncode == 2
    assert f"{bad}: reddit.templates[0]:" in res.stderr and "Traceback" not in res.stderr


SWEPT = """name = "swept"
products = ["Replika"]
[reddit]
templates = ["{product} and refuse"]
subreddits = ["depression"]
[[reddit.communities]]
subreddits = ["replika", "CharacterAI"]
product = "Replika"
priority = 3
sweep = true
comments = false
expected_per_day = 400
[[reddit.communities]]
subreddits = ["ChatGPT"]
templates = ["hotline"]
sweep = true
every = "15m"
"""


def test_swept_scopes_become_sweep_queries_with_their_own_lineage(tmp_path):
    plan = load_plan(_write(tmp_path, SWEPT))
    sweeps = expand_sweeps(plan)
    assert [(q.scope, q.listing) for q in sweeps] == [
        ("replika", "submissions"), ("CharacterAI", "submissions"),
        ("ChatGPT", "submissions"), ("ChatGPT", "comments")]
    replika = sweeps[0]
    assert replika.kind == "sweep" and replika.template == "sweep:r/replika"
    assert replika.product == "Replika" and replika.expected_per_day == 400 and replika.every is None
    assert sweeps[-1].every == timedelta(minutes=15)
    # Searches are still planned and are not sweeps; sweep ids are their own lineage.
    searches = expand(plan)
    assert {q.kind for q in searches} == {"search"} and len(searches) == 3
    assert not {q.query_id for q in searches} & {q.query_id for q in sweeps}
    assert swept_subreddits(plan) == ("replika", "CharacterAI", "ChatGPT")
