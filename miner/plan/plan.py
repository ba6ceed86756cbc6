"""Harvest plans: TOML files that say what to search for, where, and how much.

A plan names products (with aliases), templates, per-source scopes, limits and budgets;
:func:`load_plan` validates it and :func:`expand` turns it into concrete queries, each
rendered in its source's own syntax. Every problem is reported as ``file: key: what is
wrong`` so a researcher can fix the plan without reading our code. The format is
documented in the README ("Plans").
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from miner.core.errors import FileProblem, MinerError, read_text
from miner.plan.query import RENDERERS, QuerySyntaxError, parse, quote_operand

SOURCES = ("reddit", "news")
ARCHIVE_SOURCE = "reddit-archive"  # the plan's Reddit queries applied to dump files
REDDIT_PAGE = 100  # items per Reddit listing request
REDDIT_LISTING_CAP = 1000  # Reddit stops a listing at about 1,000 items


class PlanError(MinerError):
    """One or more problems in a plan file; ``problems`` has one line each."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = Path(path)
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


@dataclass(frozen=True)
class Product:
    name: str
    aliases: tuple[str, ...] = ()
    priority: int = 0


@dataclass(frozen=True)
class Template:
    text: str
    priority: int = 0


@dataclass(frozen=True)
class Sweep:
    """``sweep = true`` on a scope: read its whole ``new`` listing, not only search hits.

    Why: first-hand accounts are told in words no plan lists ("not my Maya anymore"), so a
    search is a filter with low recall; in the communities where incidents are told, the
    harvest reads everything and the ranker is the filter. ``submissions``/``comments`` say
    which listings; ``every`` gives a scope its own cadence (a big comment stream outruns a
    nightly run); ``expected_per_day`` estimates its volume until runs have observed it.
    """

    submissions: bool = True
    comments: bool = True
    every: timedelta | None = None  # None: with the plan's own (nightly) schedule
    expected_per_day: int | None = None


SWEEP_KINDS = ("submissions", "comments")


def sweep_lineage(subreddit: str) -> str:
    """The ``template`` every swept document's hit points back to, e.g. ``sweep:r/replika``."""
    return f"sweep:r/{subreddit}"


def is_sweep_template(template: str) -> bool:
    return template.startswith("sweep:")


def _scopes(subreddits: tuple[str, ...], scope: str) -> list[str]:
    return ["+".join(subreddits)] if scope == "combined" else list(subreddits)


@dataclass(frozen=True)
class Community:
    """More subreddits searched with their own templates (``[[reddit.communities]]``).

    Why: first-hand refusal accounts mostly live in product communities (r/ChatGPT,
    r/replika...), where people rarely name the product ("my rep", "it") because the scope
    implies it. A community may name that ``product``: its templates then need no
    ``{product}``, hits are attributed to it, and ``{product}`` stands for the name or any
    of ``aliases`` (what people call it there; "my rep" means nothing in r/depression).
    Without ``product``, ``{product}`` runs over the plan's products as in ``[reddit]``.
    """

    subreddits: tuple[str, ...]
    templates: tuple[Template, ...]
    product: str | None = None
    aliases: tuple[str, ...] = ()
    scope: str = "combined"
    priority: int = 0
    posts_per_query: int | None = None  # None: the [reddit] value
    sweep: Sweep | None = None

    def scopes(self) -> list[str]:
        return _scopes(self.subreddits, self.scope)


@dataclass(frozen=True)
class RedditSpec:
    templates: tuple[Template, ...]
    subreddits: tuple[str, ...]
    scope: str = "combined"  # "combined": one search over r/a+b+c; "each": one per subreddit
    posts_per_query: int = 1000
    comments_per_post: int = 10
    sort: str = "new"
    time_filter: str = "all"
    search_comments: bool = False  # archives only: live Reddit search cannot search comments
    refresh_comments_days: int = 7  # re-fetch comments of posts younger than this; 0 = never
    communities: tuple[Community, ...] = ()
    community_templates: tuple[Template, ...] = ()  # for communities that list none; {product} optional
    sweep: Sweep | None = None  # sweeps every subreddit of [reddit] itself (not its communities)

    def scopes(self) -> list[str]:
        return _scopes(self.subreddits, self.scope)

    @property
    def all_subreddits(self) -> tuple[str, ...]:
        """Every subreddit any query of the plan searches."""
        subs = list(self.subreddits)
        for c in self.communities:
            subs += [s for s in c.subreddits if s.lower() not in {x.lower() for x in subs}]
        return tuple(subs)


@dataclass(frozen=True)
class NewsSpec:
    queries: tuple[Template, ...]
    languages: tuple[str, ...] = ("en",)
    from_date: date | None = None
    to_date: date | None = None
    results_per_query: int = 100
    page_size: int = 100
    sort_by: str = "publishedAt"


@dataclass(frozen=True)
class Budget:
    reddit_requests_per_minute: int = 100
    news_requests_per_day: int = 100
    reddit_requests_per_run: int | None = None  # None: no cap per run


@dataclass(frozen=True)
class Plan:
    name: str
    path: Path
    sha256: str
    text: str
    description: str
    products: tuple[Product, ...]
    reddit: RedditSpec | None
    news: NewsSpec | None
    budget: Budget

    @property
    def plan_id(self) -> str:
        """Name plus content hash: editing a plan makes a new plan id, with its own lineage."""
        return f"{self.name}@{self.sha256[:12]}"


@dataclass(frozen=True)
class PlannedQuery:
    """One concrete search: what a harvest sends and what every hit points back to."""

    query_id: str
    source: str
    scope: str
    text: str  # in the plan's language, product filled in
    rendered: str  # in the source's syntax
    product: str | None
    template: str
    priority: int
    limit: int | None  # None: no cap (archive queries: the 1,000-item cap is a live-listing limit)
    comments_per_post: int = 0
    sort: str = ""
    time_filter: str = ""
    language: str | None = None
    from_date: str | None = None
    to_date: str | None = None
    page_size: int = 100
    kind: str = "search"  # "search", or "sweep": read the scope's whole listing
    listing: str = ""  # sweeps: "submissions" (the new listing) or "comments" (the comment stream)
    every: timedelta | None = None  # sweeps: own cadence; None = the plan's schedule
    expected_per_day: int | None = None  # sweeps: the plan's volume estimate

    @property
    def label(self) -> str:
        return f"{self.product} × {self.template}" if self.product else self.template


def query_id(source: str, scope: str, rendered: str) -> str:
    """Stable across plans and plan edits: the same search has the same id and state."""
    return "q_" + hashlib.sha1(f"{source}|{scope}|{rendered}".encode()).hexdigest()[:12]


# -- loading and validation -----------------------------------------------------------------
class _Checker:
    """Collects ``key: problem`` lines while reading a TOML document."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, key: str, msg: str) -> None:
        self.problems.append(f"{key}: {msg}")

    def unknown_keys(self, table: dict, allowed: set[str], prefix: str) -> None:
        for k in table:
            if k not in allowed:
                self.fail(f"{prefix}{k}", f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def get(self, table: dict, key: str, kind: type | tuple[type, ...], default: Any, prefix: str) -> Any:
        if key not in table:
            return default
        value = table[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.fail(f"{prefix}{key}", f"must be {_article(names)}, got {type(value).__name__} {value!r}")
            return default
        return value

    def count(self, table: dict, key: str, default: int, prefix: str, *, minimum: int = 0,
              maximum: int | None = None) -> int:
        value = self.get(table, key, int, default, prefix)
        if value < minimum:
            self.fail(f"{prefix}{key}", f"must be at least {minimum}, got {value}")
            return default
        if maximum is not None and value > maximum:
            self.fail(f"{prefix}{key}", f"must be at most {maximum}, got {value}")
            return default
        return value

    def strings(self, table: dict, key: str, prefix: str, *, required: bool) -> list[str]:
        if key not in table:
            if required:
                self.fail(f"{prefix}{key}", "is required")
            return []
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f"{prefix}{key}", "must be a list of non-empty strings")
            return []
        if required and not value:
            self.fail(f"{prefix}{key}", "must not be empty")
        return value


def _article(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan; raises :class:`PlanError` listing every problem."""
    path = Path(path)
    try:
        text = read_text(path)
    except FileProblem as exc:
        raise PlanError(path, [exc.problem]) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(path, [f"not valid TOML: {exc}"]) from None
    return parse_plan(doc, path=path, text=text)


def parse_plan(doc: dict, *, path: Path, text: str) -> Plan:
    c = _Checker()
    top = {"name", "description", "products", "budget", *SOURCES}
    for k, v in doc.items():
        if k not in top:
            if isinstance(v, dict):
                c.fail(k, f"unknown source (known sources: {', '.join(SOURCES)})")
            else:
                c.fail(k, f"unknown key (allowed: {', '.join(sorted(top))})")
    name = c.get(doc, "name", str, path.stem, "")
    if not name.strip():
        c.fail("name", "must not be empty")
    description = c.get(doc, "description", str, "", "")

    products = _products(c, doc)
    reddit = _reddit(c, doc.get("reddit"), products) if "reddit" in doc else None
    news = _news(c, doc.get("news")) if "news" in doc else None
    if reddit is None and news is None:
        c.fail("reddit/news", "a plan needs at least one source table: [reddit] or [news]")
    budget = _budget(c, doc.get("budget", {}))

    if c.problems:
        raise PlanError(path, c.problems)
    return Plan(
        name=name, path=path, sha256=hashlib.sha256(text.encode()).hexdigest(), text=text,
        description=description, products=tuple(products), reddit=reddit, news=news, budget=budget,
    )


def _products(c: _Checker, doc: dict) -> list[Product]:
    raw = doc.get("products", [])
    if not isinstance(raw, list):
        c.fail("products", "must be an array of tables ([[products]])")
        return []
    out: list[Product] = []
    seen: set[str] = set()
    for i, p in enumerate(raw):
        key = f"products[{i}]."
        if isinstance(p, str):  # shorthand: products = ["ChatGPT", "Claude"]
            p = {"name": p}
        if not isinstance(p, dict):
            c.fail(f"products[{i}]", "must be a table or a string")
            continue
        c.unknown_keys(p, {"name", "aliases", "priority"}, key)
        name = c.get(p, "name", str, "", key).strip()
        if not name:
            c.fail(f"{key}name", "is required")
            continue
        if name.lower() in seen:
            c.fail(f"{key}name", f"product {name!r} is listed twice")
        seen.add(name.lower())
        out.append(Product(name, tuple(c.strings(p, "aliases", key, required=False)),
                           c.get(p, "priority", int, 0, key)))
    return out


def _templates(c: _Checker, raw: Any, key: str, *, needs_product: bool,
               placeholders: tuple[str, ...] = ("product",)) -> list[Template]:
    """``needs_product``: every template must have ``{product}`` (the [reddit] block).

    ``placeholders`` are the ones :func:`expand` fills in for this block; any other
    ``{word}`` (or a stray brace) would reach the source as literal text, so it is refused.
    """
    if not isinstance(raw, list) or not raw:
        c.fail(key, "must be a non-empty list")
        return []
    out = []
    for i, t in enumerate(raw):
        tkey = f"{key}[{i}]"
        if isinstance(t, dict):
            c.unknown_keys(t, {"text", "priority"}, f"{tkey}.")
            text, prio = c.get(t, "text", str, "", f"{tkey}."), c.get(t, "priority", int, 0, f"{tkey}.")
        elif isinstance(t, str):
            text, prio = t, 0
        else:
            c.fail(tkey, "must be a string or a table {text, priority}")
            continue
        if not text.strip():
            c.fail(tkey, "is empty")
            continue
        if needs_product and "{product}" not in text:
            c.fail(tkey, f"template {text!r} has no {{product}} placeholder")
            continue
        if bad := _placeholder_problem(text, placeholders):
            c.fail(tkey, f"template {text!r}: {bad}")
            continue
        try:  # a stand-in word as long as "{product}", so positions in the message hold
            parse(text.replace("{product}", _PRODUCT_WORD))
        except QuerySyntaxError as exc:
            c.fail(tkey, str(exc).replace(_PRODUCT_WORD, "{product}"))
            continue
        out.append(Template(text, prio))
    return out


_PRODUCT_WORD = "PRODUCT__"  # len("{product}")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _placeholder_problem(text: str, known: tuple[str, ...]) -> str | None:
    """Why ``text`` has a placeholder :func:`expand` would not fill, or None if it has none."""
    for m in _PLACEHOLDER.finditer(text):
        if m.group(1) not in known:
            known_list = f"known: {', '.join(known)}" if known else "none are filled in here"
            return f"unknown placeholder {m.group(0)} ({known_list})"
    rest = _PLACEHOLDER.sub("", text)
    for brace in "{}":
        if brace in rest:
            return f"unmatched {brace!r} (placeholders are written {{product}})"
    return None


def _reddit(c: _Checker, t: Any, products: list[Product]) -> RedditSpec | None:
    if not isinstance(t, dict):
        c.fail("reddit", "must be a table")
        return None
    p = "reddit."
    c.unknown_keys(t, {"templates", "subreddits", "scope", "posts_per_query", "comments_per_post",
                       "sort", "time_filter", "search_comments", "refresh_comments_days", "communities",
                       "community_templates", *SWEEP_KEYS}, p)
    # A plan of communities only (swept, or searched with their own templates) may leave the
    # product templates and the shared subreddits empty.
    only_communities = bool(t.get("communities")) and not t.get("templates") and not t.get("subreddits")
    templates = [] if only_communities else _templates(c, t.get("templates"), f"{p}templates", needs_product=True)
    if templates and not products:
        c.fail("products", "the [reddit] templates need at least one product")
    subs = [] if only_communities else _subreddits(c, t, p)
    scope = _scope(c, t, p)
    communities = _communities(c, t.get("communities", []), p) if "communities" in t else []
    community_templates = _templates(c, t["community_templates"], f"{p}community_templates", needs_product=False) \
        if "community_templates" in t else []
    sort = c.get(t, "sort", str, "new", p)
    if sort not in ("new", "relevance", "top", "comments", "hot"):
        c.fail(f"{p}sort", f"unknown sort {sort!r}")
    tf = c.get(t, "time_filter", str, "all", p)
    if tf not in ("all", "year", "month", "week", "day", "hour"):
        c.fail(f"{p}time_filter", f"unknown time filter {tf!r}")
    return RedditSpec(
        templates=tuple(templates), subreddits=tuple(subs), scope=scope,
        posts_per_query=c.count(t, "posts_per_query", 1000, p, maximum=REDDIT_LISTING_CAP),
        comments_per_post=c.count(t, "comments_per_post", 10, p, maximum=500),
        sort=sort, time_filter=tf, search_comments=c.get(t, "search_comments", bool, False, p),
        refresh_comments_days=c.count(t, "refresh_comments_days", 7, p),
        communities=tuple(communities), community_templates=tuple(community_templates),
        sweep=_sweep(c, t, p),
    )


SWEEP_KEYS = {"sweep", "submissions", "comments", "every", "expected_per_day"}
_EVERY = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def every_text(e: timedelta) -> str:
    """A cadence as the plan's ``every`` key writes it (``"15m"``, ``"2h"``): the inverse of
    the parser below, in the largest unit that divides it."""
    seconds = int(e.total_seconds())
    for unit, n in sorted(_EVERY.items(), key=lambda kv: -kv[1]):
        if seconds % n == 0:
            return f"{seconds // n}{unit}"
    return f"{seconds}s"


def _sweep(c: _Checker, t: dict, p: str) -> Sweep | None:
    """``sweep``, ``submissions``, ``comments``, ``every``, ``expected_per_day`` of one scope."""
    on = c.get(t, "sweep", bool, False, p)
    if not on:
        for k in sorted(SWEEP_KEYS - {"sweep"}):
            if k in t:
                c.fail(f"{p}{k}", "only applies to a swept scope (sweep = true)")
        return None
    subs, coms = c.get(t, "submissions", bool, True, p), c.get(t, "comments", bool, True, p)
    if not (subs or coms):
        c.fail(f"{p}sweep", "sweeps nothing: submissions and comments are both false")
    every = None
    raw = c.get(t, "every", str, "", p)
    if raw:
        unit, num = raw[-1:], raw[:-1]
        if unit not in _EVERY or not num.isdigit() or int(num) == 0:
            c.fail(f"{p}every", f"must be a duration like \"15m\", \"2h\" or \"1d\", got {raw!r}")
        else:
            every = timedelta(seconds=int(num) * _EVERY[unit])
    epd = c.count(t, "expected_per_day", 0, p, minimum=1) if "expected_per_day" in t else None
    return Sweep(submissions=subs, comments=coms, every=every, expected_per_day=epd)


def _subreddits(c: _Checker, t: dict, p: str) -> list[str]:
    subs = [s.removeprefix("r/") for s in c.strings(t, "subreddits", p, required=True)]
    for s in subs:
        if not s.replace("_", "").isalnum():
            c.fail(f"{p}subreddits", f"{s!r} is not a subreddit name")
    return subs


def _scope(c: _Checker, t: dict, p: str) -> str:
    scope = c.get(t, "scope", str, "combined", p)
    if scope not in ("combined", "each"):
        c.fail(f"{p}scope", f"must be 'combined' or 'each', got {scope!r}")
    return scope


def _communities(c: _Checker, raw: Any, p: str) -> list[Community]:
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        c.fail(f"{p}communities", "must be an array of tables ([[reddit.communities]])")
        return []
    out = []
    for i, t in enumerate(raw):
        key = f"{p}communities[{i}]."
        c.unknown_keys(t, {"subreddits", "templates", "product", "aliases", "scope", "priority",
                           "posts_per_query", *SWEEP_KEYS}, key)
        product = c.get(t, "product", str, "", key).strip() or None
        aliases = c.strings(t, "aliases", key, required=False)
        if aliases and not product:
            c.fail(f"{key}aliases", "aliases need the product they name (product = \"...\")")
        templates = _templates(c, t["templates"], f"{key}templates", needs_product=False) \
            if "templates" in t else None
        for alias in aliases:
            try:
                parse(quote_operand(alias))
            except QuerySyntaxError as exc:
                c.fail(f"{key}aliases", str(exc))
        ppq = c.count(t, "posts_per_query", 0, key, minimum=1, maximum=REDDIT_LISTING_CAP) \
            if "posts_per_query" in t else None
        out.append(Community(
            subreddits=tuple(_subreddits(c, t, key)), templates=tuple(templates) if templates is not None else (),
            product=product, aliases=tuple(aliases), scope=_scope(c, t, key),
            priority=c.get(t, "priority", int, 0, key), posts_per_query=ppq, sweep=_sweep(c, t, key)))
    return out


def _news(c: _Checker, t: Any) -> NewsSpec | None:
    if not isinstance(t, dict):
        c.fail("news", "must be a table")
        return None
    p = "news."
    c.unknown_keys(t, {"queries", "languages", "from", "to", "results_per_query", "page_size", "sort_by"}, p)
    queries = _templates(c, t.get("queries"), f"{p}queries", needs_product=False, placeholders=())
    langs = c.strings(t, "languages", p, required=False) or ["en"]
    dates = {}
    for k in ("from", "to"):
        v = t.get(k)
        if v is not None and not isinstance(v, date):
            c.fail(f"{p}{k}", f"must be a date like 2025-06-01, got {v!r}")
            v = None
        dates[k] = v
    if dates["from"] and dates["to"] and _day(dates["from"]) > _day(dates["to"]):
        c.fail(f"{p}from", f"{dates['from']} is after news.to {dates['to']}: the window would be empty")
    sort_by = c.get(t, "sort_by", str, "publishedAt", p)
    if sort_by not in ("publishedAt", "relevancy", "popularity"):
        c.fail(f"{p}sort_by", f"must be publishedAt, relevancy or popularity, got {sort_by!r}")
    return NewsSpec(
        queries=tuple(queries), languages=tuple(langs), from_date=dates["from"], to_date=dates["to"],
        results_per_query=c.count(t, "results_per_query", 100, p, minimum=1),
        page_size=c.count(t, "page_size", 100, p, minimum=1, maximum=100), sort_by=sort_by,
    )


def _day(d: date) -> date:
    """A TOML date-time compares as its day: Python refuses to order a datetime against a date."""
    return d.date() if isinstance(d, datetime) else d


def _budget(c: _Checker, t: Any) -> Budget:
    if not isinstance(t, dict):
        c.fail("budget", "must be a table")
        return Budget()
    p = "budget."
    c.unknown_keys(t, {"reddit_requests_per_minute", "news_requests_per_day", "reddit_requests_per_run"}, p)
    per_run = c.get(t, "reddit_requests_per_run", int, None, p) if "reddit_requests_per_run" in t else None
    return Budget(
        reddit_requests_per_minute=c.count(t, "reddit_requests_per_minute", 100, p, minimum=1),
        news_requests_per_day=c.count(t, "news_requests_per_day", 100, p, minimum=1),
        reddit_requests_per_run=per_run,
    )


# -- expansion ---------------------------------------------------------------------------------
def expand(plan: Plan) -> list[PlannedQuery]:
    """Every concrete query of the plan, highest priority first (stable within a priority)."""
    out: list[PlannedQuery] = []
    if plan.reddit:
        r = plan.reddit

        def add(text: str, product: str | None, tpl: Template, priority: int, scopes: list[str],
                limit: int) -> None:
            rendered = RENDERERS["reddit"](parse(text))
            for scope in scopes:
                out.append(PlannedQuery(
                    query_id=query_id("reddit", scope, rendered), source="reddit", scope=scope,
                    text=text, rendered=rendered, product=product, template=tpl.text,
                    priority=priority, limit=limit,
                    comments_per_post=r.comments_per_post, sort=r.sort, time_filter=r.time_filter,
                ))

        for product in plan.products:
            for tpl in r.templates:
                add(tpl.text.replace("{product}", quote_operand(product.name)), product.name, tpl,
                    product.priority + tpl.priority, r.scopes(), r.posts_per_query)
        for com in r.communities:
            limit = com.posts_per_query or r.posts_per_query
            for tpl in com.templates or r.community_templates or r.templates:
                base = com.priority + tpl.priority
                if "{product}" not in tpl.text:
                    add(tpl.text, com.product, tpl, base, com.scopes(), limit)
                elif com.product:
                    names = [quote_operand(n) for n in (com.product, *com.aliases)]
                    operand = names[0] if len(names) == 1 else f"({' OR '.join(names)})"
                    add(tpl.text.replace("{product}", operand), com.product, tpl, base, com.scopes(), limit)
                else:
                    for product in plan.products:
                        add(tpl.text.replace("{product}", quote_operand(product.name)), product.name, tpl,
                            base + product.priority, com.scopes(), limit)
    if plan.news:
        n = plan.news
        for tpl in n.queries:
            rendered = RENDERERS["news"](parse(tpl.text))
            for lang in n.languages:
                scope = f"{lang}:{n.from_date or ''}..{n.to_date or ''}"
                out.append(PlannedQuery(
                    query_id=query_id("news", scope, rendered), source="news", scope=scope,
                    text=tpl.text, rendered=rendered, product=None, template=tpl.text,
                    priority=tpl.priority, limit=n.results_per_query, language=lang,
                    from_date=n.from_date.isoformat() if n.from_date else None,
                    to_date=n.to_date.isoformat() if n.to_date else None,
                    page_size=n.page_size, sort=n.sort_by,
                ))
    # Python's sort is stable: the plan's own order survives within a priority. The same
    # search asked twice (two blocks, same scope and text) runs once, at its highest priority.
    seen: set[str] = set()
    unique = []
    for q in sorted(out, key=lambda q: -q.priority):
        if q.query_id not in seen:
            seen.add(q.query_id)
            unique.append(q)
    return unique


def expand_sweeps(plan: Plan, source: str = "reddit") -> list[PlannedQuery]:
    """One ``kind="sweep"`` query per swept subreddit and listing, highest priority first.

    Sweeps are queries in every sense lineage needs (a query id, a ``queries`` row, hits,
    a cursor), so funnel, yield and methods count them like searches; their ``template`` is
    :func:`sweep_lineage` (``sweep:r/replika``). They are not in :func:`expand`, which
    lists what is *searched*. A subreddit swept by two scopes is swept once, at the higher
    priority, attributed to the first scope that names a product.
    """
    if not plan.reddit:
        return []
    r = plan.reddit
    scopes: list[tuple[str, Sweep, str | None, int]] = []
    if r.sweep:
        scopes += [(s, r.sweep, None, 0) for s in r.subreddits]
    for com in r.communities:
        if com.sweep:
            scopes += [(s, com.sweep, com.product, com.priority) for s in com.subreddits]
    out: dict[str, PlannedQuery] = {}
    for sub, sw, product, priority in sorted(scopes, key=lambda x: -x[3]):
        for listing in SWEEP_KINDS:
            if not getattr(sw, listing):
                continue
            lineage = sweep_lineage(sub)
            rendered = f"{lineage}/{listing}"
            qid = query_id(source, sub, rendered)
            if qid in out:
                if out[qid].product is None and product:
                    out[qid] = replace(out[qid], product=product)
                continue
            out[qid] = PlannedQuery(
                query_id=qid, source=source, scope=sub, text=lineage, rendered=rendered,
                product=product, template=lineage, priority=priority,
                limit=REDDIT_LISTING_CAP if source == "reddit" else None, kind="sweep",
                listing=listing, every=sw.every, expected_per_day=sw.expected_per_day)
    return list(out.values())


def harvest_queries(plan: Plan, every: timedelta | None = None, *, main: bool = False) -> list[PlannedQuery]:
    """What a live harvest runs: the searches, then the sweeps.

    A swept scope with its own cadence (``every = "15m"``) is its own schedule: ``every``
    selects only the sweeps of that cadence, and ``main=True`` (the plan's main schedule)
    leaves them out. With neither, everything runs (a harvest started by hand).
    """
    sweeps = expand_sweeps(plan)
    if every is not None:
        return [q for q in sweeps if q.every == every]
    if main:
        return expand(plan) + [q for q in sweeps if q.every is None]
    return expand(plan) + sweeps


def cadences(plan: Plan) -> list[timedelta]:
    """The distinct own cadences of the plan's sweeps, shortest first."""
    return sorted({q.every for q in expand_sweeps(plan) if q.every is not None})


def swept_subreddits(plan: Plan) -> tuple[str, ...]:
    """Every subreddit the plan sweeps (either listing), in plan order."""
    seen: dict[str, None] = {}
    for q in expand_sweeps(plan):
        seen.setdefault(q.scope, None)
    return tuple(seen)


def expand_archive(plan: Plan) -> list[PlannedQuery]:
    """The plan's Reddit queries as an archive backfill applies them to dump files.

    Same text, scope, product and template as the live queries (so per-template yields can
    add live and archive up), but their own query ids under source ``reddit-archive``, so
    lineage says which path found what. No item cap: ``posts_per_query`` exists because
    Reddit stops a listing at about 1,000 items, which a local scan does not.
    """
    return [replace(q, source=ARCHIVE_SOURCE, query_id=query_id(ARCHIVE_SOURCE, q.scope, q.rendered), limit=None)
            for q in expand(plan) if q.source == "reddit"]


@dataclass(frozen=True)
class SourceBudget:
    source: str
    queries: int
    search_requests: int
    detail_requests_max: int  # Reddit: one comments request per unique post, at most
    limit: str
    minutes_at_limit: float


def estimate(plan: Plan, queries: list[PlannedQuery] | None = None) -> list[SourceBudget]:
    """Worst-case requests per source and how long they take at the source's rate limit.

    Comments are fetched once per unique post, so the real number is usually far below the
    maximum (the paper's 75 queries found 565 Reddit posts and comments in all).
    """
    queries = queries if queries is not None else expand(plan)
    out = []
    reddit = [q for q in queries if q.source == "reddit"]
    if reddit:
        search = sum(math.ceil(q.limit / REDDIT_PAGE) or 1 for q in reddit)
        details = sum(q.limit for q in reddit if q.comments_per_post > 0)
        rpm = plan.budget.reddit_requests_per_minute
        out.append(SourceBudget("reddit", len(reddit), search, details, f"{rpm} requests/minute",
                                (search + details) / rpm))
    news = [q for q in queries if q.source == "news"]
    if news:
        search = sum(math.ceil(q.limit / q.page_size) or 1 for q in news)
        per_day = plan.budget.news_requests_per_day
        out.append(SourceBudget("news", len(news), search, 0, f"{per_day} requests/day",
                                search / per_day * 24 * 60))
    return out
