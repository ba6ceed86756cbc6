"""The query language means what Reddit and NewsAPI search mean, locally."""

from __future__ import annotations

import pytest

from miner.plan.query import IndexedText, QuerySyntaxError, compile_query, parse, render_newsapi, render_reddit


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


# -- prefilter needles: a cheap test that must never reject a text that matches -------------------
SUFFIXES = ("s", "es", "ed", "ing", "ly", "ness", "ation", "ational", "ity", "ies", "ied", "ier", "ful",
            "fulness", "ously", "ization", "izer", "ability", "ibility", "bly", "ence", "ency", "ive", "ively",
            "iveness", "ivity", "al", "ally", "alism", "aliti", "biliti", "bli", "enci", "anci", "abli", "entli",
            "eed", "eedly", "ying", "ement", "ment", "ism", "icate", "ical", "alize", "ative", "tional", "y", "e")


def test_a_needle_is_in_every_word_with_that_stem():
    """Over the corpus's vocabulary with every suffix the stemmer rewrites (and the stemmer's
    own exceptions), the needle of a word's stem occurs in the word."""
    from miner.plan.query import needle, stem, tokens
    from miner.replay.corpus import load_corpus

    corpus = load_corpus()
    vocab = set()
    for s in corpus.submissions:
        vocab.update(tokens(f"{s.title} {s.selftext}"))
    vocab = sorted(vocab)[::6]  # ~1,000 words x 50 suffixes x 2: the stemmer is slow
    words = {w + suf for w in vocab for suf in SUFFIXES} | {w[:-1] + suf for w in vocab for suf in SUFFIXES}
    words |= {"dying", "lying", "tying", "skies", "skis", "idly", "gently", "ugly", "early", "only", "singly",
              "news", "atlas", "bias", "proceed", "exceeding", "generously"}
    words = {t for w in words for t in tokens(w)}
    bad = [(w, stem(w), needle(stem(w))) for w in words if needle(stem(w)) not in w]
    assert len(words) > 50_000 and not bad, bad[:10]


def test_needle_clauses_hold_for_every_text_a_query_matches():
    from miner.plan.plan import expand, load_plan
    from miner.plan.query import needle_clauses
    from miner.replay.corpus import load_corpus

    texts = [f"{s.title}\n{s.selftext}" for s in load_corpus().submissions]
    queries = [q.rendered for q in expand(load_plan("queries/paper.toml"))] + [
        '"stopped working" OR (Claude AND NOT poem)', "(deny OR refused) AND -hotline", "NOT ChatGPT"]
    indexed = [(text.lower(), IndexedText(text)) for text in texts]
    checked = 0
    for q in queries:
        node = parse(q)
        match, clauses = compile_query(node), needle_clauses(node)
        for low, doc in indexed:
            if match(doc):
                assert all(any(n in low for n in c) for c in clauses), (q, low[:80])
                checked += 1
    assert checked > 200
    assert needle_clauses(parse("NOT ChatGPT")) == []
    assert needle_clauses(parse('"Google AI" and deny')) == [frozenset({"googl"}), frozenset({"den"})]
