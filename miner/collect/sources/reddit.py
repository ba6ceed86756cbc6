"""Reddit through praw (read-only OAuth).

We call ``Reddit.request`` rather than praw's object listings: it still goes through praw's
OAuth, retries and header-driven rate limiter, but hands back the JSON exactly as Reddit
sent it, which we store as the raw payload, and it lets a harvest own pagination (the
``after`` cursor is what makes interrupted runs resumable).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

import praw
import prawcore
import requests

from miner.collect.sources.base import Fetched, PermanentError, RecordingSession, SourceError, TransientError
from miner.core.clock import now_utc
from miner.core.config import RedditCredentials
from miner.core.limits import Pacer

SEARCH_PAGE = 100
INFO_BATCH = 100
LISTING_PATHS = {"submissions": "new", "comments": "comments"}  # a sweep's listing -> Reddit's path


class RedditSource:
    name = "reddit"

    def __init__(self, credentials: RedditCredentials, *, base_url: str | None = None,
                 timeout: float = 16, requests_per_minute: float | None = 100, window_seconds: int = 600,
                 throttle: Callable[[], None] | None = None) -> None:
        """``requests_per_minute`` paces every request (token requests too); praw's limiter
        additionally follows the server's ``x-ratelimit-*`` headers over ``window_seconds``."""
        self.session = RecordingSession(timeout=timeout, throttle=throttle,
                                        pacer=Pacer(requests_per_minute) if requests_per_minute else None)
        urls = {"reddit_url": base_url.rstrip("/"), "oauth_url": base_url.rstrip("/")} if base_url else {}
        self.reddit = praw.Reddit(
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            user_agent=credentials.user_agent,
            check_for_updates=False,
            check_for_async=False,
            timeout=max(1, int(timeout)),
            window_size=window_seconds,
            requestor_kwargs={"session": self.session},
            **urls,
        )
        self.reddit.read_only = True

    def _get(self, path: str, params: dict[str, Any]) -> Fetched:
        """One GET through praw. prawcore retries 5xx and dropped connections itself; every
        attempt it made is in the result's (or the error's) ``exchanges``, so the harvest
        logs each one as a ``requests`` row."""
        self.session.drain()
        started, t0 = now_utc(), time.monotonic()
        try:
            data = self._request(path, params)
        except SourceError as exc:
            exc.exchanges = self.session.drain()
            raise
        return Fetched(data, path, params, 200, started, (time.monotonic() - t0) * 1000, self.session.drain())

    def _request(self, path: str, params: dict[str, Any]) -> Any:
        """praw's JSON, or the failure as the harvest's kind of error."""
        try:
            return self.reddit.request(method="GET", path=path, params=params)
        except prawcore.exceptions.TooManyRequests as exc:
            reset = exc.response.headers.get("x-ratelimit-reset") if exc.response is not None else None
            raise TransientError(f"429 Too Many Requests on {path}", status=429,
                                 retry_after=float(reset) if reset else None) from None
        except (prawcore.exceptions.ServerError, prawcore.exceptions.BadJSON) as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            raise TransientError(f"{type(exc).__name__} on {path}", status=status) from None
        except prawcore.exceptions.RequestException as exc:
            raise TransientError(f"no response from Reddit for {path}: {type(exc.original_exception).__name__}") from None
        except (prawcore.exceptions.ResponseException, prawcore.exceptions.OAuthException) as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            raise PermanentError(f"{type(exc).__name__} on {path} (HTTP {status})", status=status) from None
        except (json.JSONDecodeError, requests.exceptions.JSONDecodeError) as exc:
            raise TransientError(f"malformed JSON from {path}: {exc}") from None

    def search(self, scope: str, q: str, *, sort: str = "new", time_filter: str = "all",
               limit: int = SEARCH_PAGE, after: str | None = None) -> Fetched:
        params: dict[str, Any] = {"q": q, "restrict_sr": "on", "sort": sort, "t": time_filter,
                                  "limit": min(limit, SEARCH_PAGE), "include_over_18": "on"}
        if after:
            params["after"] = after
        fetched = self._get(f"/r/{scope}/search", params)
        _check_listing(fetched)
        return fetched

    def listing(self, scope: str, listing: str, *, limit: int = SEARCH_PAGE, after: str | None = None) -> Fetched:
        """A community's newest items: ``/r/<scope>/new`` (``listing="submissions"``) or its
        comment stream ``/r/<scope>/comments`` (``"comments"``), newest first, 100 a request."""
        params: dict[str, Any] = {"limit": min(limit, SEARCH_PAGE), "include_over_18": "on"}
        if after:
            params["after"] = after
        fetched = self._get(f"/r/{scope}/{LISTING_PATHS[listing]}", params)
        _check_listing(fetched)
        return fetched

    def comments(self, submission_id: str, limit: int) -> Fetched:
        """``/comments/<id>``: ``[t3 Listing, t1 Listing]`` with up to ``limit`` comments."""
        sid = submission_id.removeprefix("t3_")
        fetched = self._get(f"/comments/{sid}", {"limit": limit, "sort": "top"})
        if not (isinstance(fetched.data, list) and len(fetched.data) == 2):
            raise _shape_error(fetched, "not a post and its comments")
        return fetched

    def info(self, fullnames: list[str]) -> Fetched:
        """``/api/info``: current state of up to 100 things by fullname (for deletions)."""
        fetched = self._get("/api/info", {"id": ",".join(fullnames[:INFO_BATCH])})
        _check_listing(fetched)
        return fetched


def _check_listing(fetched: Fetched) -> None:
    data = fetched.data
    if not (isinstance(data, dict) and data.get("kind") == "Listing"
            and isinstance(data.get("data", {}).get("children"), list)):
        raise _shape_error(fetched, "not a Listing")


def _shape_error(fetched: Fetched, what: str) -> TransientError:
    err = TransientError(f"unexpected reply shape from {fetched.endpoint} ({what})")
    err.exchanges = fetched.exchanges
    return err
