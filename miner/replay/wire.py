"""Reddit and NewsAPI wire shapes for replay items.

Field sets follow the real responses recorded in PRAW's integration tests (``t3`` and
``t1`` things inside ``Listing`` objects) and NewsAPI's documented ``/v2/everything``
reply, so the real clients parse them exactly as they parse the live services.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from miner.replay.corpus import Article, Comment, Submission

SUBREDDIT_IDS: dict[str, str] = {}


def subreddit_id(name: str) -> str:
    import hashlib
    if name not in SUBREDDIT_IDS:
        n = int(hashlib.sha1(f"sub:{name.lower()}".encode()).hexdigest(), 16)
        SUBREDDIT_IDS[name] = "t5_" + _base36(n)[:6]
    return SUBREDDIT_IDS[name]


def _base36(n: int) -> str:
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = chars[r] + out
    return out or "0"


def _slug(title: str) -> str:
    words = re.findall(r"[a-z0-9]+", title.lower())[:9]
    return "_".join(words) or "post"


def _md_html(text: str) -> str:
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    inner = "\n\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paras)
    return f'<!-- SC_OFF --><div class="md">{inner}\n</div><!-- SC_ON -->'


def escape_legacy(text: str) -> str:
    """Reddit escapes &, < and > in text fields unless the request asks for raw_json=1."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def t3(s: "Submission", *, crosspost_parent: dict | None = None) -> dict[str, Any]:
    sub = s.subreddit
    is_self = not s.url
    permalink = f"/r/{sub}/comments/{s.id36}/{_slug(s.title)}/"
    selftext = {"deleted": "[deleted]", "removed": "[removed]"}.get(s.state, s.selftext)
    author = "[deleted]" if s.state == "deleted" else s.author
    url = s.url or f"https://www.reddit.com{permalink}"
    data: dict[str, Any] = {
        "approved_at_utc": None, "subreddit": sub, "selftext": selftext,
        "author_fullname": None if author == "[deleted]" else s.author_fullname,
        "saved": False, "mod_reason_title": None, "gilded": 0, "clicked": False, "title": s.title,
        "link_flair_richtext": [], "subreddit_name_prefixed": f"r/{sub}", "hidden": False, "pwls": 6,
        "link_flair_css_class": None, "downs": 0, "thumbnail_height": None, "top_awarded_type": None,
        "hide_score": False, "name": f"t3_{s.id36}", "quarantine": False, "link_flair_text_color": "dark",
        "upvote_ratio": s.upvote_ratio, "author_flair_background_color": None, "subreddit_type": "public",
        "ups": s.score, "total_awards_received": 0, "media_embed": {}, "thumbnail_width": None,
        "author_flair_template_id": None, "is_original_content": False, "user_reports": [],
        "secure_media": None, "is_reddit_media_domain": False, "is_meta": False, "category": None,
        "secure_media_embed": {}, "link_flair_text": s.flair, "can_mod_post": False, "score": s.score,
        "approved_by": None, "is_created_from_ads_ui": False, "author_premium": False,
        "thumbnail": "self" if is_self else "default", "edited": False, "author_flair_css_class": None,
        "author_flair_richtext": [], "gildings": {}, "content_categories": None, "is_self": is_self,
        "subreddit_type_": None, "created": s.created_utc, "link_flair_type": "text", "wls": 6,
        "removed_by_category": {"deleted": "deleted", "removed": "moderator"}.get(s.state),
        "banned_by": None, "author_flair_type": "text",
        "domain": f"self.{sub}" if is_self else re.sub(r"^https?://(www\.)?([^/]+).*$", r"\2", s.url),
        "allow_live_comments": False,
        "selftext_html": None if not selftext or s.state != "ok" else _md_html(selftext),
        "likes": None, "suggested_sort": None, "banned_at_utc": None, "view_count": None,
        "archived": False, "no_follow": s.score < 2, "is_crosspostable": s.state == "ok", "pinned": False,
        "over_18": False, "all_awardings": [], "awarders": [], "media_only": False, "can_gild": False,
        "spoiler": False, "locked": False, "author_flair_text": None, "treatment_tags": [],
        "visited": False, "removed_by": None, "mod_note": None, "distinguished": None,
        "subreddit_id": subreddit_id(sub), "author_is_blocked": False, "mod_reason_by": None,
        "num_reports": None, "removal_reason": None, "link_flair_background_color": "",
        "id": s.id36, "is_robot_indexable": s.state == "ok", "report_reasons": None, "author": author,
        "discussion_type": None, "num_comments": s.num_comments, "send_replies": True,
        "contest_mode": False, "mod_reports": [], "author_patreon_flair": False,
        "author_flair_text_color": None, "permalink": permalink, "stickied": False, "url": url,
        "subreddit_subscribers": s.subscribers, "created_utc": s.created_utc, "num_crossposts": 0,
        "media": None, "is_video": False,
    }
    del data["subreddit_type_"]
    if not is_self:
        data["url_overridden_by_dest"] = s.url
    if crosspost_parent is not None:
        data["crosspost_parent"] = crosspost_parent["name"]
        data["crosspost_parent_list"] = [crosspost_parent]
    return data


def t1(c: "Comment", submission: "Submission", replies: dict | str = "") -> dict[str, Any]:
    body = {"deleted": "[deleted]", "removed": "[removed]"}.get(c.state, c.body)
    author = "[deleted]" if c.state == "deleted" else c.author
    sub = submission.subreddit
    return {
        "subreddit_id": subreddit_id(sub), "approved_at_utc": None, "author_is_blocked": False,
        "comment_type": None, "awarders": [], "mod_reason_by": None, "banned_by": None,
        "author_flair_type": "text", "total_awards_received": 0, "subreddit": sub,
        "author_flair_template_id": None, "likes": None, "replies": replies, "user_reports": [],
        "saved": False, "id": c.id36, "banned_at_utc": None, "mod_reason_title": None, "gilded": 0,
        "archived": False, "collapsed_reason_code": None, "no_follow": c.score < 2, "author": author,
        "can_mod_post": False, "created_utc": c.created_utc, "send_replies": True,
        "parent_id": c.parent_fullname, "score": c.score,
        "author_fullname": None if author == "[deleted]" else c.author_fullname,
        "approved_by": None, "mod_note": None, "all_awardings": [], "collapsed": False, "body": body,
        "edited": False, "top_awarded_type": None, "author_flair_css_class": None, "name": f"t1_{c.id36}",
        "is_submitter": c.author == submission.author, "downs": 0, "author_flair_richtext": [],
        "author_patreon_flair": False, "body_html": _md_html(body), "removal_reason": None,
        "collapsed_reason": None, "distinguished": None, "associated_award": None, "stickied": False,
        "author_premium": False, "can_gild": False, "gildings": {}, "unrepliable_reason": None,
        "author_flair_text_color": None, "score_hidden": False,
        "permalink": f"/r/{sub}/comments/{submission.id36}/{_slug(submission.title)}/{c.id36}/",
        "subreddit_type": "public", "locked": False, "report_reasons": None, "created": c.created_utc,
        "author_flair_text": None, "treatment_tags": [], "link_id": f"t3_{submission.id36}",
        "subreddit_name_prefixed": f"r/{sub}", "controversiality": 0, "depth": c.depth,
        "author_flair_background_color": None, "collapsed_because_crowd_control": None,
        "mod_reports": [], "num_reports": None, "ups": c.score,
    }


def listing(children: list[dict], *, after: str | None = None, before: str | None = None) -> dict:
    return {"kind": "Listing", "data": {"after": after, "dist": len(children) or None, "modhash": None,
                                        "geo_filter": "", "children": children, "before": before}}


def thing(kind: str, data: dict) -> dict:
    return {"kind": kind, "data": data}


def more(parent_fullname: str, ids: list[str], depth: int = 0) -> dict:
    return {"kind": "more", "data": {"count": len(ids), "name": f"t1_{ids[0]}", "id": ids[0],
                                     "parent_id": parent_fullname, "depth": depth, "children": ids}}


REMOVED_ARTICLE = {
    "source": {"id": None, "name": "[Removed]"}, "author": None, "title": "[Removed]",
    "description": "[Removed]", "url": "https://removed.com", "urlToImage": None,
    "publishedAt": "1970-01-01T00:00:00Z", "content": "[Removed]",
}


def news_article(a: "Article") -> dict:
    if a.state == "removed":
        return dict(REMOVED_ARTICLE, source=dict(REMOVED_ARTICLE["source"]))
    body = a.body.replace("\n\n", " ").replace("\n", " ")
    content = body if len(body) <= 200 else f"{body[:199]}… [+{len(body) - 199} chars]"
    return {
        "source": {"id": a.outlet_id, "name": a.outlet}, "author": a.byline or None, "title": a.title,
        "description": a.description, "url": a.url,
        "urlToImage": f"{a.url.split('/20')[0]}/images/{a.key}.jpg",
        "publishedAt": datetime.fromtimestamp(a.published_utc, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "content": content,
    }
