"""Wire objects (Reddit things, NewsAPI articles, dump lines) -> :class:`Document` rows.

Pure functions: a dict in, a pseudonymized document out. They follow docs/design.md §3:
stable source-prefixed ids (``reddit:t3_<id>``, ``reddit:t1_<id>``, ``news:<sha1 of the
canonical URL>``), hashed authors, masked ``u/`` handles, and deleted or removed items kept
as ids and counts without their text (Reddit's terms ask us to honour deletions).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from typing import Any, Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from miner.collect.pseudonyms import DELETED_AUTHORS, Pseudonymizer
from miner.core.records import Document

REDDIT = "https://www.reddit.com"


def reddit_doc_id(fullname: str) -> str:
    """``t3_abc`` -> ``reddit:t3_abc``."""
    return f"reddit:{fullname}"


def _ts(value: Any) -> datetime | None:
    """Epoch seconds (int, float or numeric string: dumps vary by year) -> naive UTC."""
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def submission_state(data: dict) -> str:
    """ok | deleted (by its author) | removed (by moderators, admins or filters)."""
    body = data.get("selftext")
    category = data.get("removed_by_category")
    if body == "[deleted]" or category == "deleted":
        return "deleted"
    if body == "[removed]" or category:
        return "removed"
    return "ok"


def comment_state(data: dict) -> str:
    body = data.get("body")
    if body == "[deleted]":
        return "deleted"
    if body == "[removed]":
        return "removed"
    return "ok"


def reddit_submission(data: dict, p: Pseudonymizer) -> Document:
    fullname = data.get("name") or f"t3_{data['id']}"
    state = submission_state(data)
    gone = state != "ok"
    permalink = data.get("permalink")
    parent = data.get("crosspost_parent")
    if not parent and data.get("crosspost_parent_list"):
        parent = data["crosspost_parent_list"][0].get("name")
    return Document(
        doc_id=reddit_doc_id(fullname),
        source="reddit",
        kind="submission",
        native_id=fullname,
        title=None if gone else p.mask_handles(data.get("title")),
        body=None if gone else p.mask_handles(data.get("selftext") or ""),
        created_at=_ts(data.get("created_utc")),
        state=state,
        community=data.get("subreddit"),
        author_hash=p.author(data.get("author")),
        url=None if gone else p.mask_handles(data.get("url")),
        permalink=f"{REDDIT}{permalink}" if permalink and permalink.startswith("/") else permalink,
        score=_int(data.get("score")),
        num_comments=_int(data.get("num_comments")),
        over_18=bool(data.get("over_18")) if data.get("over_18") is not None else None,
        crosspost_parent=reddit_doc_id(parent) if parent else None,
    )


def reddit_comment(data: dict, p: Pseudonymizer) -> Document:
    fullname = data.get("name") or f"t1_{data['id']}"
    state = comment_state(data)
    link_id = data.get("link_id")
    parent = data.get("parent_id")
    permalink = data.get("permalink")
    return Document(
        doc_id=reddit_doc_id(fullname),
        source="reddit",
        kind="comment",
        native_id=fullname,
        title=None,
        body=None if state != "ok" else p.mask_handles(data.get("body") or ""),
        created_at=_ts(data.get("created_utc")),
        state=state,
        thread_id=reddit_doc_id(link_id) if link_id else None,
        parent_id=reddit_doc_id(parent) if parent else None,
        community=data.get("subreddit"),
        author_hash=p.author(data.get("author")),
        permalink=f"{REDDIT}{permalink}" if permalink and permalink.startswith("/") else permalink,
        score=_int(data.get("score")),
    )


_LEGACY_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def unescape_legacy(data: dict) -> dict:
    """Undo Reddit's legacy escaping of ``&``, ``<`` and ``>`` in title, selftext and body.

    The API escapes them unless asked for ``raw_json=1`` (praw asks); Pushshift collected
    without it, so dump lines carry ``&amp;`` and ``&gt;``. Unescaping makes an archive copy
    of a post read (and hash) exactly like its live copy. Returns ``data`` itself when there
    is nothing to undo.
    """
    out = data
    for key in ("title", "selftext", "body"):
        value = data.get(key)
        if isinstance(value, str) and "&" in value:
            for entity, char in _LEGACY_ENTITIES:
                value = value.replace(entity, char)
            if out is data:
                out = dict(data)
            out[key] = value
    return out


def walk_comments(listing: dict, limit: int) -> Iterator[dict]:
    """The first ``limit`` comments of a ``/comments/<id>`` reply, in Reddit's own order.

    Replies nest as Listings inside each comment; ``more`` stubs (comments Reddit did not
    send) are skipped: the plan asks for at most ``limit`` comments per post.
    """
    count = 0

    def visit(children: list) -> Iterator[dict]:
        nonlocal count
        for child in children:
            if count >= limit:
                return
            if child.get("kind") != "t1":
                continue
            data = child.get("data") or {}
            count += 1
            yield data
            replies = data.get("replies")
            if isinstance(replies, dict):
                yield from visit(replies.get("data", {}).get("children", []))

    yield from visit(listing.get("data", {}).get("children", []))


# -- news ------------------------------------------------------------------------------------
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ref_src|cmpid|ocid|smid|sr_share)$", re.I)
_TRUNCATED = re.compile(r"\s*\[\+\d+ chars\]\s*$")


def canonical_url(url: str) -> str:
    """The URL that identifies an article: lower-case host without ``www.``, no fragment,
    no tracking parameters, no trailing slash. Two links to the same page get one id."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not _TRACKING.match(k)))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit(((parts.scheme or "https").lower(), host, path, query, ""))


def news_doc_id(url: str) -> str:
    return "news:" + hashlib.sha1(canonical_url(url).encode()).hexdigest()


def is_removed_article(article: dict) -> bool:
    """NewsAPI returns taken-down articles with every field set to ``[Removed]``."""
    return article.get("title") == "[Removed]" or article.get("url") in (None, "", "https://removed.com")


def news_article(article: dict, p: Pseudonymizer, language: str | None = None) -> Document | None:
    """A NewsAPI article, or None when it was removed (nothing left to identify it by)."""
    if is_removed_article(article):
        return None
    url = article["url"]
    description = (article.get("description") or "").strip()
    content = _TRUNCATED.sub("", article.get("content") or "").strip()
    # The API cuts content to ~200 characters; it often repeats the description.
    body = description if content and description.startswith(content[:60]) else \
        "\n\n".join(x for x in (description, content) if x)
    author = article.get("author")
    source = article.get("source") or {}
    return Document(
        doc_id=news_doc_id(url),
        source="news",
        kind="article",
        native_id=canonical_url(url),
        title=article.get("title"),
        body=body,
        created_at=_iso(article.get("publishedAt")),
        community=source.get("name"),
        author_hash=p.author(author) if author and author not in DELETED_AUTHORS else None,
        url=url,
        language=language,
    )


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.astimezone(timezone.utc).replace(tzinfo=None) if dt.tzinfo else dt
