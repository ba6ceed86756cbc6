"""The query language means what Reddit and NewsAPI search mean, locally."""

from __future__ import annotations

import pytest

from miner.query import IndexedText, QuerySyntaxError, compile_query, parse, render_newsapi, render_reddit


def matches(query: str, text: str) -> bool:
    return compile_query(parse(query))(IndexedText(text))


@pytest.mark.parametrize("query, text, expected", [
    ("ChatGPT and refuse", "chatgpt REFUSED to keep talking", True),          # case, inflection
    ("ChatGPT and refuse", "I asked about my refusal and it answered", False),  # product missing
    ("Claude and deny", "Claude denied it", True),
    ("Claude and reject", "my rejection letter came, claude helped", True),
    ("Replika and stopped working", "my replika just stops. working from home sucks", True),  # terms anywhere
    ('Replika and "stopped working"', "my replika stopped while working from home", False),  # phrase: adjacent
    ('Replika and "stopped working"', "Replika has stopped working for me", True),
    ('"Character.AI" and guardrails', "the guardrail on character ai is new", True),  # punctuation splits words
    ('"Character.AI" and guardrails', "character is AI? guardrails", False),          # phrase needs adjacency
    ("ChatGPT OR Claude", "claude only", True),
    ("ChatGPT AND NOT coding", "chatgpt refused my coding question", False),
    ("ChatGPT -coding", "chatgpt refused to talk", True),
])
def test_matching(query, text, expected):
    assert matches(query, text) is expected


def test_rendering_is_explicit_per_source():
    node = parse('"Google AI" and (refuse OR deny) -coding')
    assert render_reddit(node) == '"Google AI" AND (refuse OR deny) AND NOT coding'
    assert render_newsapi(node) == '"Google AI" AND (refuse OR deny) AND NOT coding'


def test_newsapi_limits_query_length():
    with pytest.raises(QuerySyntaxError, match="500 characters"):
        render_newsapi(parse(" OR ".join(f"word{i}" for i in range(120))))


@pytest.mark.parametrize("bad", ['"unclosed', "a AND", "(a OR b", "a )", ""])
def test_syntax_errors_are_reported(bad):
    with pytest.raises(QuerySyntaxError):
        parse(bad)
