"""Source adapters: Reddit (praw), news (newsapi-python). One client per process and
endpoint, so a run's queries share one OAuth token and one rate limiter."""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

from miner.collect.sources.news import NewsSource
from miner.collect.sources.reddit import RedditSource
from miner.core.config import Endpoints, newsapi_key, reddit_credentials


@lru_cache(maxsize=8)
def sources_for(endpoints: Endpoints, source: str, requests_per_minute: float | None = 100,
                throttle: Callable[[], None] | None = None):
    if source == "reddit":
        return RedditSource(reddit_credentials(endpoints), base_url=endpoints.reddit_url, timeout=endpoints.timeout,
                            requests_per_minute=requests_per_minute, window_seconds=endpoints.window_seconds,
                            throttle=throttle)
    if source == "news":
        return NewsSource(newsapi_key(endpoints), base_url=endpoints.newsapi_url, timeout=endpoints.timeout)
    raise ValueError(f"unknown source {source!r}")
