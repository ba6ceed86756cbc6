"""The real praw and newsapi-python clients against the replay server."""

from __future__ import annotations

import pytest

from miner.collect.normalize import walk_comments
from miner.collect.sources.base import EndOfResults, PermanentError
from miner.collect.sources.news import NewsSource
from miner.collect.sources.reddit import RedditSource
from miner.core.config import REPLAY_NEWSAPI_KEY, REPLAY_REDDIT

MH = "CPTSD+mentalhealth+depression+anxiety+bipolar"


@pytest.fixture
def reddit(replay):
    return RedditSource(REPLAY_REDDIT, base_url=replay.url)


@pytest.fixture
def news(replay):
    return NewsSource(REPLAY_NEWSAPI_KEY, base_url=replay.url)


def test_praw_search_pages_with_after_cursor_newest_first(reddit):
    first = reddit.search("all", "ChatGPT", limit=25)
    page1 = first.data["data"]["children"]
    assert len(page1) == 25 and first.data["data"]["after"] == page1[-1]["data"]["name"]
    second = reddit.search("all", "ChatGPT", limit=25, after=first.data["data"]["after"])
    page2 = second.data["data"]["children"]
    names1 = {c["data"]["name"] for c in page1}
    assert page2 and not names1 & {c["data"]["name"] for c in page2}
    times = [c["data"]["created_utc"] for c in page1 + page2]
    assert times == sorted(times, reverse=True)
    # the request went through praw's OAuth flow: a token first, then the bearer request
    assert first.exchanges[-1].path == "/r/all/search" and first.exchanges[-1].status == 200


def test_praw_search_respects_subreddit_scope(reddit, corpus):
    res = reddit.search(MH, "ChatGPT AND refuse", limit=100)
    subs = {c["data"]["subreddit"].lower() for c in res.data["data"]["children"]}
    assert subs and subs <= {s.lower() for s in MH.split("+")}


def test_comments_reply_is_a_t3_t1_pair_limited_to_n_comments(reddit, corpus):
    busy = max(corpus.submissions, key=lambda s: s.num_comments)
    assert busy.num_comments > 3
    res = reddit.comments(f"t3_{busy.id36}", 3)
    post, comments = res.data
    assert post["data"]["children"][0]["kind"] == "t3"
    assert len(list(walk_comments(comments, 3))) == 3
    all_kinds = [c["kind"] for c in comments["data"]["children"]]
    assert set(all_kinds) <= {"t1", "more"}


def test_newsapi_client_pages_and_reports_the_free_plan_cap(news):
    first = news.search("AI", language="en", from_date=None, to_date=None, sort_by="publishedAt",
                        page=1, page_size=100)
    assert first.data["status"] == "ok" and first.data["totalResults"] > 100
    assert len(first.data["articles"]) == 100
    art = first.data["articles"][0]
    assert set(art) == {"source", "author", "title", "description", "url", "urlToImage", "publishedAt", "content"}
    with pytest.raises(EndOfResults, match="maximumResultsReached|too many results"):
        news.search("AI", language="en", from_date=None, to_date=None, sort_by="publishedAt", page=2,
                    page_size=100)


def test_newsapi_content_is_truncated_like_the_real_api(news, corpus):
    res = news.search("mental AND health AND AI", language="en", from_date=None, to_date=None,
                      sort_by="publishedAt", page=1, page_size=50)
    long = [a for a in res.data["articles"] if "[+" in (a["content"] or "")]
    assert long and all(a["content"].rstrip().endswith("chars]") for a in long)


def test_newsapi_bad_key_is_a_permanent_error(replay):
    bad = NewsSource("not-the-key", base_url=replay.url)
    with pytest.raises(PermanentError, match="apiKeyInvalid"):
        bad.search("AI", language="en", from_date=None, to_date=None, sort_by="publishedAt", page=1, page_size=10)
