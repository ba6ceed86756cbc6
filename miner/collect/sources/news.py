"""News through newsapi-python's ``get_everything``.

The client hard-codes ``https://newsapi.org``; it accepts a ``requests.Session``, and our
:class:`RecordingSession` rewrites the base URL, which is how the same client reaches the
replay server. NewsAPI reports errors in the body (``{"status": "error", "code": ...}``);
``maximumResultsReached`` is the normal end of a query on the free plan, ``rateLimited``
means the day's budget is spent.
"""

from __future__ import annotations

import json
import time
from typing import Any

import requests
from newsapi import NewsApiClient
from newsapi.newsapi_exception import NewsAPIException

from miner.collect.sources.base import (BudgetExhausted, EndOfResults, Fetched, PermanentError,
                                        RecordingSession, TransientError)
from miner.core.clock import now_utc

NEWSAPI_BASE = "https://newsapi.org"


class NewsSource:
    name = "news"

    def __init__(self, api_key: str, *, base_url: str | None = None, timeout: float = 16) -> None:
        # The daily budget is counted by the harvest (it persists across runs); no pacing here.
        self.session = RecordingSession(rewrite=(NEWSAPI_BASE, base_url) if base_url else None,
                                        timeout=timeout)
        self.client = NewsApiClient(api_key=api_key, session=self.session)

    def search(self, q: str, *, language: str | None, from_date: str | None, to_date: str | None,
               sort_by: str, page: int, page_size: int) -> Fetched:
        params: dict[str, Any] = {"q": q, "language": language, "from_param": from_date, "to": to_date,
                                  "sort_by": sort_by, "page": page, "page_size": page_size}
        self.session.drain()
        started, t0 = now_utc(), time.monotonic()
        try:
            data = self.client.get_everything(**{k: v for k, v in params.items() if v is not None})
        except NewsAPIException as exc:
            body = exc.get_exception() if isinstance(exc.get_exception(), dict) else {}
            code, message = body.get("code"), body.get("message", "")
            status = self.session.exchanges[-1].status if self.session.exchanges else None
            if code == "maximumResultsReached":
                raise EndOfResults(f"NewsAPI: {message or code}", status=status) from None
            if code == "rateLimited":
                raise BudgetExhausted(f"NewsAPI rate limit: {message or code}", status=status) from None
            if status is not None and status >= 500 or code == "unexpectedError":
                raise TransientError(f"NewsAPI {status}: {message or code}", status=status) from None
            raise PermanentError(f"NewsAPI {code}: {message}", status=status) from None
        except (json.JSONDecodeError, requests.exceptions.JSONDecodeError):
            status = self.session.exchanges[-1].status if self.session.exchanges else None
            raise TransientError(f"malformed JSON from NewsAPI (HTTP {status})", status=status) from None
        except requests.RequestException as exc:
            raise TransientError(f"no response from NewsAPI: {type(exc).__name__}") from None
        if not isinstance(data, dict) or not isinstance(data.get("articles"), list):
            raise TransientError("unexpected reply shape from NewsAPI (no articles list)")
        return Fetched(data, "/v2/everything", params, 200, started, (time.monotonic() - t0) * 1000,
                       self.session.drain())
