"""A local HTTP server that speaks Reddit's and NewsAPI's wire formats over the replay corpus.

It is the boundary our tests and demo cross instead of the live services: the real praw and
newsapi-python clients talk to it over HTTP exactly as they talk to Reddit and NewsAPI.
Beyond serving the corpus it can behave like the live services on a bad day:

* a clock (``visible_until``): items created later are invisible until the clock moves,
  which is how "new posts appeared since the last run" is tested;
* deletions at the source (``delete``): items come back ``[deleted]`` or ``[removed]``;
* faults per endpoint (:class:`Fault`): 429 with reset headers, 500/503, slow responses,
  malformed JSON, short pages;
* a request budget per window, enforced with ``x-ratelimit-*`` headers and 429s, and a
  NewsAPI daily budget and free-plan result cap.

Endpoints: ``POST /api/v1/access_token``, ``GET /r/<subs>/search``, ``GET /r/<subs>/new`` (the
newest submissions), ``GET /r/<subs>/comments`` (the comment stream), ``GET /comments/<id>``,
``GET /api/info``, ``GET /v2/everything``; control: ``GET|POST /_replay/state``. Listings page
with ``after``/``before``/``limit`` (at most 100) and stop at ``listing_cap`` items (Reddit's is
about 1,000), as the live ones do.
"""

from __future__ import annotations

import base64
import json
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from miner.plan.query import IndexedText, QuerySyntaxError, compile_query, parse
from miner.replay import wire
from miner.replay.corpus import Article, Comment, Corpus, Submission, load_corpus

REPLAY_CLIENT_ID = "replay-client"
REPLAY_CLIENT_SECRET = "replay-secret"
REPLAY_NEWS_KEY = "replay-key"
LISTING_CAP = 1000

ENDPOINTS = ("token", "search", "new", "stream", "comments", "info", "news")


@dataclass
class Fault:
    """Misbehave on ``endpoint`` (one of ENDPOINTS or "*").

    ``kind``: "429" | "500" | "503" | "slow" | "malformed" | "short". It fires for the first
    ``first`` matching requests, else with probability ``rate`` (seeded).
    """

    endpoint: str
    kind: str
    rate: float = 0.0
    first: int = 0
    seconds: float = 2.0  # slow: delay; 429: reset header
    fired: int = 0


@dataclass
class RateWindow:
    requests: int  # allowed per window
    seconds: float  # window length
    started: float = 0.0
    used: int = 0


@dataclass
class ReplayOptions:
    visible_until: float | None = None
    faults: list[Fault] = field(default_factory=list)
    rate: RateWindow | None = None
    news_max_results: int = 100  # the free plan's cap per query
    news_daily_limit: int | None = None
    listing_cap: int = LISTING_CAP  # items a search or listing reaches (Reddit: about 1,000)
    seed: int = 7


class _Index:
    """Search structures over a corpus, built once per corpus object."""

    def __init__(self, corpus: Corpus) -> None:
        self.sub_text = {s.key: IndexedText(f"{s.title}\n{s.selftext if s.state == 'ok' else ''}")
                         for s in corpus.submissions}
        self.article_text = {a.key: IndexedText(f"{a.title}\n{a.description}\n{a.body}") for a in corpus.articles}
        self.children: dict[str, list[Comment]] = {}
        for c, _ in corpus.comments():
            self.children.setdefault(c.parent_fullname, []).append(c)
        # listings, newest first (ties by id, so pages are stable)
        self.newest_submissions = sorted(corpus.submissions, key=lambda s: (-s.created_utc, s.id36))
        self.newest_comments = sorted(corpus.comments(), key=lambda cs: (-cs[0].created_utc, cs[0].id36))


@lru_cache(maxsize=4)
def _index(corpus: Corpus) -> _Index:
    return _Index(corpus)


@lru_cache(maxsize=2048)
def _matcher(q: str):
    return compile_query(parse(q))


class _QuietServer(ThreadingHTTPServer):
    """A client that disconnects mid-request (a killed harvest, a timed-out read) is normal
    here, not worth a traceback on the console."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class ReplayServer:
    """Start with ``with ReplayServer() as server: server.url``; control it in-process or
    over HTTP (``/_replay/state``)."""

    def __init__(self, corpus: Corpus | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 options: ReplayOptions | None = None) -> None:
        self.corpus = corpus or load_corpus()
        self.index = _index(self.corpus)
        self.options = options or ReplayOptions()
        self.overrides: dict[str, str] = {}  # fullname -> deleted | removed (at the source)
        self.stats: Counter[str] = Counter()
        self.news_used = 0
        self.lock = threading.Lock()
        self.rng = random.Random(self.options.seed)
        self.tokens: set[str] = set()
        handler = type("Handler", (_Handler,), {"replay": self})
        self.httpd = _QuietServer((host, port), handler)
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "ReplayServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="replay-server", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control ------------------------------------------------------------------------
    def set_clock(self, visible_until: datetime | float | None) -> None:
        if isinstance(visible_until, datetime):
            visible_until = visible_until.replace(tzinfo=visible_until.tzinfo or timezone.utc).timestamp()
        self.options.visible_until = visible_until

    def delete(self, fullnames: list[str], how: str = "deleted") -> None:
        """Make items deleted (by their author) or removed (by moderators) at the source."""
        with self.lock:
            for f in fullnames:
                self.overrides[f] = how

    def add_fault(self, fault: Fault) -> None:
        with self.lock:
            self.options.faults.append(fault)

    def clear_faults(self) -> None:
        with self.lock:
            self.options.faults.clear()

    def state(self) -> dict:
        with self.lock:
            return {"visible_until": self.options.visible_until, "stats": dict(self.stats),
                    "faults": [asdict(f) for f in self.options.faults], "deleted": len(self.overrides),
                    "news_used": self.news_used}

    # -- visibility ---------------------------------------------------------------------
    def visible(self, created_utc: float) -> bool:
        until = self.options.visible_until
        return until is None or created_utc <= until

    def sub_state(self, s: Submission) -> str:
        return self.overrides.get(f"t3_{s.id36}", s.state)

    def comment_state(self, c: Comment) -> str:
        return self.overrides.get(f"t1_{c.id36}", c.state)

    def t3(self, s: Submission) -> dict:
        state = self.sub_state(s)
        view = s if state == s.state else _replace(s, state=state)
        parent = None
        if s.crosspost_of and s.crosspost_of in self.corpus.by_key:
            orig = self.corpus.by_key[s.crosspost_of]
            parent = wire.t3(orig) if isinstance(orig, Submission) else None
        return wire.t3(view, crosspost_parent=parent)

    def t1(self, c: Comment, s: Submission, replies: dict | str = "") -> dict:
        state = self.comment_state(c)
        view = c if state == c.state else _replace(c, state=state)
        return wire.t1(view, s, replies)

    # -- faults and limits --------------------------------------------------------------
    def pick_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            for f in self.options.faults:
                if f.endpoint not in (endpoint, "*"):
                    continue
                if f.fired < f.first or (f.rate and self.rng.random() < f.rate):
                    f.fired += 1
                    self.stats[f"fault:{f.kind}"] += 1
                    return f
        return None

    def take_rate(self) -> tuple[bool, dict[str, str]]:
        """Count a request against the window; (allowed, x-ratelimit-* headers)."""
        rate = self.options.rate
        if rate is None:
            return True, {"x-ratelimit-remaining": "996.0", "x-ratelimit-used": "4", "x-ratelimit-reset": "300"}
        with self.lock:
            now = time.monotonic()
            if now - rate.started >= rate.seconds:
                rate.started, rate.used = now, 0
            reset = max(1, int(rate.seconds - (now - rate.started)))  # whole seconds left, as Reddit sends
            if rate.used >= rate.requests:
                self.stats["429"] += 1
                return False, {"x-ratelimit-remaining": "0", "x-ratelimit-used": str(rate.used),
                               "x-ratelimit-reset": str(reset)}
            rate.used += 1
            return True, {"x-ratelimit-remaining": f"{rate.requests - rate.used}.0",
                          "x-ratelimit-used": str(rate.used), "x-ratelimit-reset": str(reset)}


def _replace(obj: Any, **changes: Any) -> Any:
    from dataclasses import replace
    return replace(obj, **changes)


class _Handler(BaseHTTPRequestHandler):
    replay: ReplayServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; do not wait 40 ms for an ACK

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stats instead
        pass

    # -- plumbing -----------------------------------------------------------------------
    def _params(self) -> dict[str, str]:
        query = urlsplit(self.path).query
        return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None, *, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _endpoint(self, method: str, path: str) -> str | None:
        if method == "POST" and path == "/api/v1/access_token":
            return "token"
        if method == "GET":
            if path.startswith("/r/") and path.rstrip("/").endswith("/search"):
                return "search"
            if path.startswith("/r/") and path.rstrip("/").removesuffix(".json").endswith("/new"):
                return "new"
            if path.startswith("/r/") and path.rstrip("/").removesuffix(".json").endswith("/comments"):
                return "stream"
            if path.startswith("/comments/"):
                return "comments"
            if path.rstrip("/") == "/api/info":
                return "info"
            if path == "/v2/everything":
                return "news"
        return None

    def _serve(self, method: str) -> None:
        path = unquote(urlsplit(self.path).path)
        if path.startswith("/_replay/"):
            return self._control(method, path)
        endpoint = self._endpoint(method, path)
        r = self.replay
        with r.lock:
            r.stats[endpoint or "unknown"] += 1
            r.stats["requests"] += 1
        if endpoint is None:
            return self._send(404, {"message": "Not Found", "error": 404})
        if endpoint != "news":
            allowed, headers = r.take_rate()
            if not allowed:
                return self._send(429, {"message": "Too Many Requests", "error": 429}, headers)
        else:
            headers = {}
        fault = r.pick_fault(endpoint)
        if fault is not None:
            if fault.kind == "slow":
                time.sleep(fault.seconds)
            elif fault.kind == "429":
                if endpoint == "news":
                    return self._send(429, _news_error("rateLimited", "You have made too many requests recently."))
                return self._send(429, {"message": "Too Many Requests", "error": 429}, {
                    "x-ratelimit-remaining": "0", "x-ratelimit-used": "100",
                    "x-ratelimit-reset": str(int(fault.seconds))})
            elif fault.kind in ("500", "503"):
                return self._send(int(fault.kind), {"message": "Internal Server Error", "error": int(fault.kind)}
                                  if endpoint != "news" else {"status": "error", "code": "unexpectedError",
                                                              "message": "Something went wrong."})
            elif fault.kind == "malformed":
                return self._send(200, None, headers, raw=b'{"kind": "Listing", "data": {"children": [')
        status, body = getattr(self, f"_{endpoint}")(self._params(), path, fault)
        self._send(status, body, headers)

    def do_GET(self) -> None:  # noqa: N802
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    # -- control API --------------------------------------------------------------------
    def _control(self, method: str, path: str) -> None:
        r = self.replay
        if path == "/_replay/state" and method == "POST":
            change = json.loads(self._read_body() or b"{}")
            if "visible_until" in change:
                r.set_clock(change["visible_until"])
            if change.get("clear_faults"):
                r.clear_faults()
            for f in change.get("faults", []):
                r.add_fault(Fault(**f))
            if "delete" in change:
                r.delete(change["delete"], change.get("how", "deleted"))
        if path == "/_replay/state":
            return self._send(200, r.state())
        self._send(404, {"message": "Not Found"})

    # -- Reddit -------------------------------------------------------------------------
    def _token(self, params: dict, path: str, fault: Fault | None) -> tuple[int, Any]:
        self._read_body()
        auth = self.headers.get("Authorization", "")
        try:
            client = base64.b64decode(auth.removeprefix("Basic ")).decode()
        except ValueError:
            client = ""
        if client != f"{REPLAY_CLIENT_ID}:{REPLAY_CLIENT_SECRET}":
            return 401, {"message": "Unauthorized", "error": 401}
        token = f"replay-token-{len(self.replay.tokens)}"
        self.replay.tokens.add(token)
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        return auth.startswith("bearer ") and auth.removeprefix("bearer ") in self.replay.tokens

    def _escape(self, params: dict) -> bool:
        return params.get("raw_json") != "1"

    def _search(self, params: dict, path: str, fault: Fault | None) -> tuple[int, Any]:
        if not self._authorized():
            return 401, {"message": "Unauthorized", "error": 401}
        r = self.replay
        subs = _subs(path)
        try:
            match = _matcher(params.get("q", ""))
        except QuerySyntaxError:
            return 200, wire.listing([])
        now = r.options.visible_until or time.time()
        window = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400, "year": 366 * 86400}
        oldest = now - window[params["t"]] if params.get("t") in window else None
        found = [s for s in r.corpus.submissions
                 if r.visible(s.created_utc) and (s.subreddit.lower() in subs or "all" in subs)
                 and (oldest is None or s.created_utc >= oldest) and match(r.index.sub_text[s.key])]
        if params.get("sort") in ("top", "comments"):
            key = (lambda s: -s.score) if params["sort"] == "top" else (lambda s: -s.num_comments)
            found.sort(key=key)
        return 200, self._page([("t3", s, None) for s in found], params, fault)

    def _page(self, found: list[tuple[str, Any, Any]], params: dict, fault: Fault | None) -> dict:
        """One page of a listing of ``(kind, item, submission)``, as Reddit pages it: at most
        ``listing_cap`` items in all, ``limit`` (<= 100) a page, ``after``/``before`` by fullname
        (an unknown cursor gives an empty page, as a vanished anchor does on Reddit)."""
        r = self.replay
        found = found[: r.options.listing_cap]
        names = [f"{kind}_{item.id36}" for kind, item, _ in found]
        limit = max(1, min(100, int(params.get("limit") or 25)))
        start, stop = 0, len(found)
        if params.get("after"):
            start = names.index(params["after"]) + 1 if params["after"] in names else len(found)
            stop = min(len(found), start + limit)
        elif params.get("before"):
            stop = names.index(params["before"]) if params["before"] in names else 0
            start = max(0, stop - limit)
        stop = min(stop, start + limit)
        page = found[start:stop]
        more = stop < len(found)
        if fault is not None and fault.kind == "short" and len(page) > 1:
            page = page[: len(page) // 2]
            more = True
        children = [wire.thing(kind, self._maybe_escape(r.t3(item) if kind == "t3" else r.t1(item, sub), params))
                    for kind, item, sub in page]
        return wire.listing(children, after=f"{page[-1][0]}_{page[-1][1].id36}" if page and more else None,
                            before=f"{page[0][0]}_{page[0][1].id36}" if page and start > 0 else None)

    def _new(self, params: dict, path: str, fault: Fault | None) -> tuple[int, Any]:
        """``/r/<subs>/new``: the newest submissions first."""
        if not self._authorized():
            return 401, {"message": "Unauthorized", "error": 401}
        r, subs = self.replay, _subs(path)
        found = [("t3", s, None) for s in r.index.newest_submissions
                 if r.visible(s.created_utc) and (s.subreddit.lower() in subs or "all" in subs)]
        return 200, self._page(found, params, fault)

    def _stream(self, params: dict, path: str, fault: Fault | None) -> tuple[int, Any]:
        """``/r/<subs>/comments``: the newest comments first, each with its thread's title."""
        if not self._authorized():
            return 401, {"message": "Unauthorized", "error": 401}
        r, subs = self.replay, _subs(path)
        found = [("t1", c, s) for c, s in r.index.newest_comments
                 if r.visible(c.created_utc) and (s.subreddit.lower() in subs or "all" in subs)]
        return 200, self._page(found, params, fault)

    def _maybe_escape(self, data: dict, params: dict) -> dict:
        if self._escape(params):
            for k in ("title", "selftext", "body"):
                if isinstance(data.get(k), str):
                    data[k] = wire.escape_legacy(data[k])
        return data

    def _comments(self, params: dict, path: str, fault: Fault | None) -> tuple[int, Any]:
        if not self._authorized():
            return 401, {"message": "Unauthorized", "error": 401}
        r = self.replay
        sid = path.strip("/").split("/")[1].removesuffix(".json")
        s = r.corpus.by_id36.get(sid)
        if s is None or not r.visible(s.created_utc):
            return 404, {"message": "Not Found", "error": 404}
        limit = max(1, min(500, int(params.get("limit") or 200)))
        sort = params.get("sort", "confidence")
        order = {"new": lambda c: -c.created_utc, "old": lambda c: c.created_utc}.get(sort, lambda c: -c.score)
        budget = [limit]

        def build(parent: str, depth: int) -> list[dict]:
            kids = sorted((c for c in r.index.children.get(parent, []) if r.visible(c.created_utc)), key=order)
            out: list[dict] = []
            for i, c in enumerate(kids):
                if budget[0] <= 0:
                    out.append(wire.more(parent, [k.id36 for k in kids[i:]], depth))
                    break
                budget[0] -= 1
                replies = build(f"t1_{c.id36}", depth + 1)
                data = r.t1(c, s, wire.listing(replies) if replies else "")
                out.append(wire.thing("t1", self._maybe_escape(data, params)))
            return out

        tree = build(f"t3_{s.id36}", 0)
        return 200, [wire.listing([wire.thing("t3", self._maybe_escape(r.t3(s), params))]), wire.listing(tree)]

    def _info(self, params: dict, path: str, fault: Fault | None) -> tuple[int, Any]:
        if not self._authorized():
            return 401, {"message": "Unauthorized", "error": 401}
        r = self.replay
        children = []
        for name in [n for n in params.get("id", "").split(",") if n][:100]:
            kind, _, ident = name.partition("_")
            if kind == "t3" and ident in r.corpus.by_id36:
                s = r.corpus.by_id36[ident]
                if r.visible(s.created_utc):
                    children.append(wire.thing("t3", self._maybe_escape(r.t3(s), params)))
            elif kind == "t1" and ident in r.corpus.comment_by_id36:
                c, s = r.corpus.comment_by_id36[ident]
                if r.visible(c.created_utc):
                    children.append(wire.thing("t1", self._maybe_escape(r.t1(c, s), params)))
        return 200, wire.listing(children)

    # -- NewsAPI ------------------------------------------------------------------------
    def _news(self, params: dict, path: str, fault: Fault | None) -> tuple[int, Any]:
        r = self.replay
        key = self.headers.get("X-Api-Key") or self.headers.get("Authorization") or params.get("apiKey")
        if not key:
            return 401, _news_error("apiKeyMissing", "Your API key is missing.")
        if key != REPLAY_NEWS_KEY:
            return 401, _news_error("apiKeyInvalid", "Your API key is invalid or incorrect.")
        with r.lock:
            if r.options.news_daily_limit is not None and r.news_used >= r.options.news_daily_limit:
                return 429, _news_error("rateLimited", "You have made too many requests recently. "
                                        "Developer accounts are limited to 100 requests over a 24 hour period.")
            r.news_used += 1
        q = params.get("q")
        if not q:
            return 400, _news_error("parametersMissing", "Required parameters are missing: q.")
        try:
            match = _matcher(q)
        except QuerySyntaxError as exc:
            return 400, _news_error("parameterInvalid", f"The q parameter is invalid: {exc}")
        try:
            page = int(params.get("page") or 1)
            size = int(params.get("pageSize") or 100)
        except ValueError:
            return 400, _news_error("parameterInvalid", "page and pageSize must be numbers.")
        if not 1 <= size <= 100 or page < 1:
            return 400, _news_error("parameterInvalid", "pageSize must be between 1 and 100, page at least 1.")
        lo = _news_date(params.get("from"), 0.0)
        hi = _news_date(params.get("to"), float("inf"), end=True)
        lang = params.get("language")
        found = [a for a in r.corpus.articles
                 if r.visible(a.published_utc) and lo <= a.published_utc <= hi
                 and (not lang or a.language == lang) and match(r.index.article_text[a.key])]
        if params.get("sortBy") == "popularity":
            found.sort(key=lambda a: a.key)
        start = (page - 1) * size
        cap = r.options.news_max_results
        if start >= cap:
            return 426, _news_error("maximumResultsReached",
                                    f"You have requested too many results. Developer accounts are limited to a max "
                                    f"of {cap} results. You are trying to request results {start} to {start + size}. "
                                    "Please upgrade to a paid plan if you need more results.")
        end = min(start + size, cap)
        page_items = found[start:end]
        if fault is not None and fault.kind == "short" and len(page_items) > 1:
            page_items = page_items[: len(page_items) // 2]
        return 200, {"status": "ok", "totalResults": len(found),
                     "articles": [wire.news_article(a) for a in page_items]}


def _subs(path: str) -> set[str]:
    """``/r/a+b/...`` -> {"a", "b"} (lower case, as Reddit matches them)."""
    return {s.lower() for s in path.split("/")[2].split("+")}


def _news_error(code: str, message: str) -> dict:
    return {"status": "error", "code": code, "message": message}


def _news_date(value: str | None, default: float, *, end: bool = False) -> float:
    if not value:
        return default
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return default
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    if end and len(value) == 10:
        return dt.timestamp() + 86_399
    return dt.timestamp()


def serve_forever(host: str = "127.0.0.1", port: int = 8765, options: ReplayOptions | None = None) -> None:
    """Run the replay server in the foreground (``miner replay serve``)."""
    server = ReplayServer(host=host, port=port, options=options)
    print(f"replay server on {server.url} ({server.corpus.count()})", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
