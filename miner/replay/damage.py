"""The text damage real feeds carry, applied to a fixed sample of replay items.

Cleaning (mojibake repair, HTML entities, zero-width characters) is measured against the
keys recorded here. Items that carry planted PII are left intact so PII offsets stay exact.
"""

from __future__ import annotations

import hashlib
import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from miner.replay.corpus import Article, PiiSpan, Submission

_SMART = {"'": "\u2019", " - ": " \u2014 ", "...": "\u2026"}


def _pick(key: str, kind: str, per_thousand: int) -> bool:
    return int(hashlib.sha1(f"damage|{kind}|{key}".encode()).hexdigest(), 16) % 1000 < per_thousand


def mojibake(text: str) -> str:
    """Typographic quotes encoded as UTF-8 and read back as Windows-1252 ("it’s" -> "itâ€™s")."""
    for a, b in _SMART.items():
        text = text.replace(a, b)
    return text.encode("utf-8").decode("cp1252", errors="ignore")


def zero_width(text: str, key: str) -> str:
    words = text.split(" ")
    n = int(hashlib.sha1(key.encode()).hexdigest(), 16)
    for i in range(len(words)):
        if (n >> (i % 60)) & 7 == 0 and words[i]:
            words[i] = words[i][:1] + "\u200b" + words[i][1:]
    return " ".join(words) + "\ufeff"


def apply(submissions: "list[Submission]", articles: "list[Article]", spans: "list[PiiSpan]") -> dict[str, str]:
    with_pii = {s.item_key for s in spans}
    damaged: dict[str, str] = {}
    for s in submissions:
        items = [(s.key, s, "selftext")] + [(c.key, c, "body") for c in s.comments]
        for key, obj, fld in items:
            text = getattr(obj, fld)
            if key in with_pii or not text or getattr(obj, "state", "ok") != "ok":
                continue
            if "'" in text and _pick(key, "mojibake", 30):
                setattr(obj, fld, mojibake(text))
                damaged[key] = "mojibake"
            elif _pick(key, "zero_width", 15):
                setattr(obj, fld, zero_width(text, key))
                damaged[key] = "zero_width"
            elif "&" not in text and " and " in text and _pick(key, "entities", 10):
                setattr(obj, fld, text.replace(" and ", " &amp; ", 1))
                damaged[key] = "entities"
    for a in articles:
        if a.key in with_pii or a.state != "ok":
            continue
        if "'" in a.body and _pick(a.key, "mojibake", 100):
            a.body = mojibake(a.body)
            a.description = mojibake(a.description)
            damaged[a.key] = "mojibake"
        elif _pick(a.key, "entities", 120):
            a.description = html.escape(a.description, quote=True)
            a.title = a.title.replace("'", "&#39;")
            damaged[a.key] = "entities"
    return damaged
