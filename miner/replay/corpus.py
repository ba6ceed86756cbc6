"""The replay corpus: hand-written threads and articles plus generated background noise.

:func:`load_corpus` reads ``corpus/reddit/*.toml`` and ``corpus/news/*.toml`` (format in
``corpus/FORMAT.md``), removes the inline PII markup while recording where each planted
string ended up, gives every item a deterministic Reddit id, author, time and score, adds
:mod:`miner.replay.noise`, and applies the text damage real feeds carry (mojibake, HTML
entities, zero-width characters) to a fixed sample, recording that too. The same files
always give the same corpus, byte for byte.

The pipeline never imports this module; the replay server, tests and benches do.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from miner.collect.normalize import news_doc_id
from miner.replay import damage

CORPUS_DIR = Path(__file__).parent / "corpus"
TRUTH_DIR = Path(__file__).parent / "truth"
_PII = re.compile(r"\{\{(\w+):([^{}]+)\}\}")


def _h(*parts: object) -> int:
    return int(hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest(), 16)


def id36(key: str, kind: str) -> str:
    """A Reddit-looking base-36 id, stable for a key (t3 ids 7 chars, t1 ids 7 chars)."""
    n = _h(kind, key) % (36 ** 7 - 36 ** 6) + 36 ** 6
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = chars[r] + out
    return out


_ADJ = ("quiet", "tired", "velvet", "paper", "lunar", "mossy", "rainy", "amber", "hollow", "gentle", "static",
        "salt", "copper", "foggy", "sleepy", "wild", "small", "north", "linen", "cedar", "ember", "faded",
        "plain", "dusty", "bright", "slow", "kind", "odd", "blue", "grey")
_NOUN = ("otter", "lantern", "heron", "moth", "fern", "kettle", "harbor", "sparrow", "thistle", "comet",
         "pebble", "willow", "badger", "cobalt", "marsh", "finch", "tide", "quill", "orchard", "ferret",
         "raven", "clover", "sprout", "bramble", "mitten", "walrus", "acorn", "puffin", "meadow", "koi")


def username(seed: str) -> str:
    n = _h("user", seed)
    return f"{_ADJ[n % len(_ADJ)]}_{_NOUN[(n // 97) % len(_NOUN)]}{n % 9000 + 100}"


@dataclass
class PiiSpan:
    item_key: str
    field: str  # title | body | description
    type: str
    text: str
    start: int
    end: int


@dataclass
class Comment:
    key: str
    id36: str
    submission_key: str
    parent_fullname: str
    body: str
    author: str
    created_utc: float
    score: int
    depth: int
    state: str = "ok"
    source_file: str = ""

    @property
    def author_fullname(self) -> str:
        return "t2_" + id36(self.author, "t2")

    @property
    def doc_id(self) -> str:
        return f"reddit:t1_{self.id36}"


@dataclass
class Submission:
    key: str
    id36: str
    subreddit: str
    title: str
    selftext: str
    url: str
    author: str
    created_utc: float
    score: int
    upvote_ratio: float
    subscribers: int
    state: str = "ok"
    flair: str | None = None
    crosspost_of: str | None = None
    repost_of: str | None = None
    comments: list[Comment] = field(default_factory=list)
    source_file: str = ""
    generated: bool = False

    @property
    def author_fullname(self) -> str:
        return "t2_" + id36(self.author, "t2")

    @property
    def num_comments(self) -> int:
        return len(self.comments)

    @property
    def doc_id(self) -> str:
        return f"reddit:t3_{self.id36}"


@dataclass
class Article:
    key: str
    outlet: str
    outlet_id: str | None
    byline: str
    published_utc: float
    url: str
    title: str
    description: str
    body: str
    language: str = "en"
    state: str = "ok"
    syndicates: str | None = None
    source_file: str = ""
    generated: bool = False

    @property
    def doc_id(self) -> str:
        return news_doc_id(self.url)


@dataclass(eq=False)
class Corpus:
    submissions: list[Submission]
    articles: list[Article]
    pii: list[PiiSpan]
    damaged: dict[str, str]  # item key -> kind of damage applied (mojibake, entities, zero_width)
    files: list[str]

    def __post_init__(self) -> None:
        self.by_key: dict[str, Submission | Comment | Article] = {}
        for s in self.submissions:
            self.by_key[s.key] = s
            for c in s.comments:
                self.by_key[c.key] = c
        for a in self.articles:
            self.by_key[a.key] = a
        self.by_id36 = {s.id36: s for s in self.submissions}
        self.comment_by_id36 = {c.id36: (c, s) for s in self.submissions for c in s.comments}

    def comments(self) -> Iterator[tuple[Comment, Submission]]:
        for s in self.submissions:
            for c in s.comments:
                yield c, s

    def doc_id(self, key: str) -> str:
        return self.by_key[key].doc_id

    def count(self) -> dict[str, int]:
        return {"submissions": len(self.submissions), "comments": sum(len(s.comments) for s in self.submissions),
                "articles": len(self.articles)}


# -- loading --------------------------------------------------------------------------------
def _day_ts(day: date | str, key: str, *, spread: int = 86_400) -> float:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    start = datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()
    return float(int(start) + _h("time", key) % spread)


def strip_pii(text: str, key: str, fld: str, spans: list[PiiSpan]) -> str:
    """Remove ``{{type:text}}`` markup, recording each planted string's final offsets."""
    out: list[str] = []
    pos = 0
    length = 0
    for m in _PII.finditer(text):
        chunk = text[pos:m.start()]
        out.append(chunk)
        length += len(chunk)
        value = m.group(2)
        spans.append(PiiSpan(key, fld, m.group(1), value, length, length + len(value)))
        out.append(value)
        length += len(value)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _load_threads(path: Path, spans: list[PiiSpan]) -> list[Submission]:
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    subs: list[Submission] = []
    aliases: dict[str, str] = {}

    def author_for(alias: str | None, fallback: str) -> str:
        if not alias:
            return username(fallback)
        return aliases.setdefault(alias, username(f"{path.stem}:{alias}"))

    for t in doc.get("thread", []):
        key = t["key"]
        created = _day_ts(t["date"], key, spread=20 * 3600) + 3 * 3600
        author = author_for(t.get("author"), key)
        s = Submission(
            key=key, id36=id36(key, "t3"), subreddit=t["subreddit"].removeprefix("r/"),
            title=strip_pii(t["title"], key, "title", spans), selftext=strip_pii(t.get("body", ""), key, "body", spans),
            url=t.get("url", ""), author=author, created_utc=created, score=_h("score", key) % 180 + 1,
            upvote_ratio=round(0.75 + (_h("ratio", key) % 25) / 100, 2),
            subscribers=200_000 + _h("subs", t["subreddit"]) % 1_500_000, state=t.get("state", "ok"),
            flair=t.get("flair") or None, crosspost_of=t.get("crosspost_of"), repost_of=t.get("repost_of"),
            source_file=path.name,
        )
        by_key: dict[str, Comment] = {}
        last = created
        for i, c in enumerate(t.get("comments", [])):
            ckey = c["key"]
            parent = by_key.get(c.get("reply_to", ""))
            last = last + 300 + _h("gap", ckey) % 14_400
            alias = c.get("author")
            cauthor = author if alias == "op" else author_for(alias, ckey)
            comment = Comment(
                key=ckey, id36=id36(ckey, "t1"), submission_key=key,
                parent_fullname=f"t1_{parent.id36}" if parent else f"t3_{s.id36}",
                body=strip_pii(c["body"], ckey, "body", spans), author=cauthor, created_utc=float(last),
                score=_h("score", ckey) % 60 + 1 - (3 if i % 7 == 6 else 0), depth=(parent.depth + 1) if parent else 0,
                state=c.get("state", "ok"), source_file=path.name,
            )
            by_key[ckey] = comment
            s.comments.append(comment)
        subs.append(s)
    return subs


def _load_articles(path: Path, spans: list[PiiSpan]) -> list[Article]:
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    out = []
    for a in doc.get("article", []):
        key = a["key"]
        published = a["published"]
        if isinstance(published, str):
            published = datetime.fromisoformat(published.replace("Z", "+00:00"))
        if isinstance(published, date) and not isinstance(published, datetime):
            published = datetime(published.year, published.month, published.day, 9, tzinfo=timezone.utc)
        if published.tzinfo is None:
            published = published.replace(tzinfo=timezone.utc)
        out.append(Article(
            key=key, outlet=a["outlet"], outlet_id=a.get("outlet_id") or None, byline=a.get("byline", ""),
            published_utc=published.timestamp(), url=a["url"],
            title=strip_pii(a["title"], key, "title", spans),
            description=strip_pii(a["description"], key, "description", spans),
            body=strip_pii(a["body"], key, "body", spans), language=a.get("language", "en"),
            state=a.get("state", "ok"), syndicates=a.get("syndicates"), source_file=path.name,
        ))
    return out


@lru_cache(maxsize=4)
def load_corpus(corpus_dir: Path = CORPUS_DIR, *, noise: bool = True) -> Corpus:
    from miner.replay import noise as noise_mod  # lazy: noise builds its items from this module's classes (a cycle)

    spans: list[PiiSpan] = []
    files = sorted((corpus_dir / "reddit").glob("*.toml")) + sorted((corpus_dir / "news").glob("*.toml"))
    submissions: list[Submission] = []
    articles: list[Article] = []
    for f in files:
        if f.parent.name == "reddit":
            submissions += _load_threads(f, spans)
        else:
            articles += _load_articles(f, spans)
    _link_crossposts(submissions)
    if noise:
        gen_subs, gen_articles = noise_mod.generate(seed=20251123)
        submissions += gen_subs
        articles += gen_articles
    damaged = damage.apply(submissions, articles, spans)
    submissions.sort(key=lambda s: (-s.created_utc, s.id36))
    articles.sort(key=lambda a: (-a.published_utc, a.key))
    return Corpus(submissions, articles, spans, damaged, [f.name for f in files])


def _link_crossposts(subs: list[Submission]) -> None:
    """A crosspost shows the original's title; a repost is by the original's author."""
    by_key = {s.key: s for s in subs}
    for s in subs:
        if s.crosspost_of and s.crosspost_of in by_key:
            orig = by_key[s.crosspost_of]
            s.title = orig.title
            s.selftext = ""
            s.created_utc = max(s.created_utc, orig.created_utc + 3600)
        if s.repost_of and s.repost_of in by_key:
            orig = by_key[s.repost_of]
            for c in s.comments:
                if c.author == s.author:
                    c.author = orig.author
            s.author = orig.author
            s.created_utc = max(s.created_utc, orig.created_utc + 86_400)


def field_texts(corpus: Corpus) -> dict[tuple[str, str], str]:
    """(doc_id, field) -> the field's text as served: where planted PII spans point."""
    out: dict[tuple[str, str], str] = {}
    for s in corpus.submissions:
        out[(s.doc_id, "title")], out[(s.doc_id, "body")] = s.title, s.selftext
        for c in s.comments:
            out[(c.doc_id, "body")] = c.body
    for a in corpus.articles:
        out[(a.doc_id, "title")], out[(a.doc_id, "description")], out[(a.doc_id, "body")] = \
            a.title, a.description, a.body
    return out
