"""What every source adapter shares: the fetched-response record, the HTTP session that
records each exchange, and the three kinds of failure a harvest treats differently.

* :class:`TransientError`: worth retrying (timeouts, 5xx, 429, a garbled body).
* :class:`EndOfResults`: the API says "no more for this query" (NewsAPI's
  ``maximumResultsReached``); the query ends normally.
* :class:`PermanentError`: retrying will not help (bad key, bad parameter, 403).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from urllib.parse import urlsplit

import requests

from miner.core.clock import now_utc
from miner.core.limits import Pacer


class SourceError(Exception):
    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        # every HTTP attempt behind the failure (a client may retry internally before giving up)
        self.exchanges: list[Exchange] = []


class TransientError(SourceError):
    pass


class PermanentError(SourceError):
    pass


class EndOfResults(SourceError):
    pass


class BudgetExhausted(SourceError):
    """The source's request budget for this run or day is spent; later queries wait."""


@dataclass
class Exchange:
    """One HTTP request and what came back (or why nothing did)."""

    method: str
    path: str
    status: int | None
    headers: dict[str, str]
    started_at: datetime
    elapsed_ms: float
    error: str | None = None


@dataclass
class Fetched:
    """A parsed API response with the request that produced it."""

    data: Any
    endpoint: str
    params: dict[str, Any]
    status: int
    started_at: datetime
    elapsed_ms: float
    exchanges: list[Exchange] = field(default_factory=list)
    payload_id: str | None = None  # set once the harvest has stored the body


class RecordingSession(requests.Session):
    """A ``requests.Session`` that remembers every exchange and can point a client that
    hard-codes its URLs (newsapi-python) at another base URL (the replay server).

    ``timeout`` caps the client's own timeout, so a slow server fails fast enough to retry.
    """

    def __init__(self, *, rewrite: tuple[str, str] | None = None, timeout: float | None = None,
                 pacer: Pacer | None = None, throttle: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.rewrite = rewrite
        self.timeout = timeout
        self.pacer = pacer
        self.throttle = throttle  # e.g. a Prefect global rate limit shared by several processes
        self.exchanges: list[Exchange] = []

    def drain(self) -> list[Exchange]:
        out, self.exchanges = self.exchanges, []
        return out

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.rewrite and url.startswith(self.rewrite[0]):
            url = self.rewrite[1].rstrip("/") + url[len(self.rewrite[0]):]
        if self.timeout is not None:
            kwargs["timeout"] = min(kwargs.get("timeout") or self.timeout, self.timeout)
        if self.pacer is not None:
            self.pacer.wait()
        if self.throttle is not None:
            self.throttle()
        started, t0 = now_utc(), time.monotonic()
        path = urlsplit(url).path
        try:
            resp = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            self.exchanges.append(Exchange(method, path, None, {}, started,
                                           (time.monotonic() - t0) * 1000, type(exc).__name__))
            raise
        self.exchanges.append(Exchange(method, path, resp.status_code,
                                       {k.lower(): v for k, v in resp.headers.items()}, started,
                                       (time.monotonic() - t0) * 1000))
        return resp
