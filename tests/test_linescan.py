"""The raw-line prefilter of archive imports: it may only skip lines no query can match."""

from __future__ import annotations

import orjson
import pytest

from miner.collect.archive import LocalSearch
from miner.collect.linescan import LineScanner, hyperscan
from miner.plan.plan import expand_archive, load_plan
from miner.replay import wire
from miner.replay.corpus import load_corpus

ENGINES = [pytest.param(True, id="hyperscan", marks=pytest.mark.skipif(hyperscan is None, reason="no hyperscan")),
           pytest.param(False, id="python")]


@pytest.fixture(scope="module")
def search():
    return LocalSearch(expand_archive(load_plan("queries/paper.toml")))


def corpus_lines() -> list[bytes]:
    corpus = load_corpus()
    out = []
    for s in corpus.submissions:
        orig = corpus.by_key.get(s.crosspost_of) if s.crosspost_of else None
        out.append(orjson.dumps(wire.t3(s, crosspost_parent=wire.t3(orig) if orig else None)))
        out += [orjson.dumps(wire.t1(c, s)) for c in s.comments[:2]]
    return out


TRICKY = [
    b'{"name":"t3_aa1","title":"nothing to see"}',
    b'{"name": "t3_aa2", "title": "spaces around colons"}',
    b'{"name":"t3_aa3","title":"CHATGPT REFUSED, shouting"}',
    b'{"name":"t3_aa4","title":"two","crosspost_parent":"t3_zz","x":{"name":"t3_zz"}}',
    b'{"name":"t1_aa5","link_id":"t3_zz","body":"a comment"}',
    b'{"name":"t3_aa6","title":"cut off',
    b'{"name":"t3_aa7","title":"\\u212aelvin grok"}',
    b'{"name":"t3_AA8","title":"upper-case id"}',
    b'{"name":"t3_aa9","title":"Google AI and a denial"}',
    b'{"name":"t3_ab1","title":"Claude said no"}',  # a product: parsed, though no template matches
    b'{"name":"t3_ab2","title":"refused, denied, rejected, guardrails, stopped working"}',  # no product
]


@pytest.mark.parametrize("use_hyperscan", ENGINES)
def test_quiet_lines_cannot_match_and_engines_agree(search, use_hyperscan):
    scanner = LineScanner(search.key_needles, use_hyperscan=use_hyperscan)
    lines = corpus_lines() + TRICKY
    verdicts = [scanner.quiet_submission(line) for line in lines]
    assert verdicts[-len(TRICKY):] == ["aa1", "aa2", None, None, None, None, None, None, None, None, "ab2"]
    quiet = 0
    for line, ident in zip(lines, verdicts):
        if ident is None:
            continue
        quiet += 1
        data = orjson.loads(line)
        assert ident == data["name"][3:]
        text = f"{data.get('title', '')}\n{data.get('selftext', '')}"
        assert search.search(data.get("subreddit", "depression"), text) == [], text[:80]
    assert quiet > 100  # the corpus is dense with products and refusals; most lines need parsing
    if use_hyperscan:  # the fallback decides every line the same way
        assert verdicts == [LineScanner(search.key_needles, use_hyperscan=False).quiet_submission(x)
                            for x in lines]
