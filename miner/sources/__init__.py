"""Source adapters: Reddit (praw), news (newsapi-python). One client per process and
endpoint, so a run's queries share one OAuth token and one rate limiter."""

from __future__ import annotations

from functools import lru_cache

from miner.config import Endpoints, newsapi_key, reddit_credentials


@lru_cache(maxsize=8)
def sources_for(endpoints: Endpoints, source: str):
    if source == "reddit":
        from miner.sources.reddit import RedditSource
        return RedditSource(reddit_credentials(endpoints), base_url=endpoints.reddit_url)
    if source == "news":
        from miner.sources.news import NewsSource
        return NewsSource(newsapi_key(endpoints), base_url=endpoints.newsapi_url)
    raise ValueError(f"unknown source {source!r}")
