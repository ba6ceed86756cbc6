"""Clean text: repair what feeds damage, so every later stage reads the same legible text.

Harvested text arrives damaged in the ways real feeds damage it: mojibake (UTF-8 read as
Windows-1252, ``itâ€™s``), HTML entities (``&amp;``, ``&#39;``; archive dumps escape every
``&<>``), zero-width characters (``&#x200B;`` spacers, BOMs), and Reddit markdown. The
repair is ftfy's (a well-kept library that knows far more encodings than a table of ours
would); markdown is parsed with markdown-it (CommonMark, as Reddit's own renderer is) and
rendered back as plain text in which quote blocks stay recognizable: a quoted model reply
(``> I'm sorry, but I can't help with that``) is evidence the triage stage looks for.

The raw text stays untouched in ``documents`` and ``raw_payloads``; cleaned text goes to
``clean_texts`` with the cleaner version and the ``content_hash`` it was made from, so a
rerun cleans only documents whose text (or the cleaner) changed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import ftfy
import markdown_it
from markdown_it import MarkdownIt

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.process.forget import ForgetReport, forget_gone

# Bump the first part whenever a rule here changes: every document is then re-cleaned.
CLEANER_VERSION = f"clean-1/ftfy-{ftfy.__version__}/markdown-it-{markdown_it.__version__}"

# "[deleted]", "[removed]", NewsAPI's "[Removed]", archives' "[deleted by user]", ...
_GONE = re.compile(r"^\[\s*(deleted|removed)(\s+by\s+(user|reddit|moderator|author))?\s*\]$", re.I)
# Invisible characters that only get in the way of matching: zero-width space and
# non-joiner, word joiner, invisible operators, BOM, soft hyphen, Mongolian vowel separator,
# direction marks. The zero-width *joiner* is kept inside emoji sequences, where it means something.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b\u200c\u200e\u200f\u2060-\u2064\ufeff]")
_ZWJ = re.compile("\u200d")
_SPOILER = re.compile(r">!(.+?)!<", re.S)
_HTML_TAG = re.compile(r"</?(?:p|br|div|span|ul|ol|li|b|i|em|strong|a|h[1-6]|blockquote)\b[^>]*>", re.I)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_BLANKS = re.compile(r"\n{3,}")

# ftfy's steps, named for what a user would call the damage.
_FTFY_FIXES = {"unescape_html": "entities", "uncurl_quotes": "quotes", "fix_line_breaks": "line_breaks",
               "remove_control_chars": "control_chars", "fix_character_width": "width",
               "fix_latin_ligatures": "ligatures", "remove_terminal_escapes": "control_chars"}


@dataclass
class Cleaned:
    """One document's cleaned text. ``text`` is what later stages read and what evidence
    offsets point into: the title, a blank line, the body."""

    title: str | None
    body: str | None
    state: str  # ok | deleted | removed | empty
    fixes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(x for x in (self.title, self.body) if x)


def fix_text(text: str, fixes: set[str]) -> str:
    """ftfy's repair (mojibake, entities, curly quotes, control characters), recording what it did."""
    fixed, steps = ftfy.fix_and_explain(text, unescape_html=True)
    for kind, step in steps or []:
        if kind in ("encode", "decode", "transcode") or step in (
                "decode_inconsistent_utf8", "restore_byte_a0", "replace_lossy_sequences", "fix_c1_controls"):
            fixes.add("mojibake")
        elif step in _FTFY_FIXES:
            fixes.add(_FTFY_FIXES[step])
    return fixed


def strip_invisible(text: str, fixes: set[str]) -> str:
    out = _INVISIBLE.sub("", text)
    if "\u200d" in out:
        out = _ZWJ.sub(lambda m: m.group() if _joins_emoji(m.string, m.start()) else "", out)
    if out != text:
        fixes.add("zero_width")
    return out


def _joins_emoji(s: str, i: int) -> bool:
    def pictographic(ch: str) -> bool:
        return unicodedata.category(ch) == "So" or ch in "\ufe0f\u2640\u2642" or 0x1F3FB <= ord(ch) <= 0x1F3FF
    return 0 < i < len(s) - 1 and pictographic(s[i - 1]) and pictographic(s[i + 1])


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # html off: "<3" and "<insert name>" are text on Reddit, not tags.
    return MarkdownIt("commonmark", {"html": False}).enable(["strikethrough", "table"])


def markdown_to_text(text: str) -> str:
    """Reddit markdown -> plain text a person (and a model) reads naturally.

    Emphasis, strike-through and link syntax go (a link keeps its text; the URL stays in the
    raw body), lists keep their ``-`` / ``1.`` markers, code keeps its content, and every line
    of a quote block keeps a ``> `` prefix (``> > `` when nested), so quoted replies stay
    recognizable as quotes.
    """
    text = _SPOILER.sub(r"\1", text)
    blocks: list[str] = []
    quote = 0
    lists: list[str] = []  # the open lists' markers ("-", "*", ".", ")")
    marker: str | None = None  # the list marker waiting for its item's first line
    joined = False  # the next block follows the previous one on the next line (tight lists, tables)
    prev_in_list = False
    row: list[str] | None = None

    def emit(lines: list[str]) -> None:
        nonlocal marker, joined, prev_in_list
        indent = "  " * max(0, len(lists) - 1)
        out = []
        for i, line in enumerate(lines):
            lead = ""
            if lists:
                lead = indent + (f"{marker} " if i == 0 and marker else "  ")
            out.append(("> " * quote) + lead + line)
        text = "\n".join(out)
        blocks.append(("\n" if joined else "\n\n") + text if blocks else text)
        marker, joined, prev_in_list = None, False, bool(lists)

    for tok in _markdown().parse(text):
        kind = tok.type
        if kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind in ("bullet_list_open", "ordered_list_open"):
            prev_in_list = prev_in_list and bool(lists)  # a new top-level list starts a new block
            lists.append(tok.markup)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            marker = f"{tok.info}{tok.markup}" if tok.info else "-"
        elif kind == "paragraph_open":
            joined = tok.hidden and prev_in_list  # hidden paragraphs: items of a tight list
        elif kind == "inline" and row is not None:
            row.append(_inline(tok.children or []).replace("\n", " "))
        elif kind == "inline":
            emit(_inline(tok.children or []).split("\n"))
        elif kind in ("code_block", "fence"):
            emit(tok.content.rstrip("\n").split("\n"))
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            emit([" | ".join(row or [])])
            joined = True
            row = None
        elif kind == "table_close":
            joined = False
    if marker is not None:  # an empty last list item ("-" alone on its line)
        emit([""])
    return "".join(blocks)


def _inline(children) -> str:
    parts = []
    for c in children:
        if c.type in ("text", "code_inline", "html_inline"):
            parts.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif c.type == "image":
            parts.append(c.content)
    return "".join(parts)


def tidy_whitespace(text: str) -> str:
    """One space between words, no trailing spaces, at most one blank line; a line's leading
    indentation (nested list items, code) is kept."""
    lines = []
    for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        body = ln.lstrip(" ")
        lines.append(ln[:len(ln) - len(body)] + _SPACES.sub(" ", body).rstrip() if body.strip() else "")
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n").strip()


def clean_field(text: str | None, *, markdown: bool, fixes: set[str]) -> str | None:
    if text is None:
        return None
    # Invisible characters go before ftfy (which would file a BOM under control characters)
    # and again after it (mojibake can hide one: "â€‹" is a zero-width space).
    out = strip_invisible(fix_text(strip_invisible(text, fixes), fixes), fixes)
    if markdown:
        rendered = markdown_to_text(out)
        if tidy_whitespace(rendered) != tidy_whitespace(out):
            fixes.add("markdown")
        out = rendered
    else:
        stripped = _HTML_TAG.sub(" ", out)
        if stripped != out:
            fixes.add("html_tags")
        out = stripped
    return tidy_whitespace(out)


def is_gone_marker(text: str | None) -> str | None:
    """'deleted' or 'removed' when ``text`` is one of the placeholders sites put in its place."""
    m = _GONE.match((text or "").strip())
    return m.group(1).lower() if m else None


def clean_document(title: str | None, body: str | None, *, source: str, state: str = "ok") -> Cleaned:
    """Clean one document's title and body. Deleted and removed items keep no text."""
    if state in ("deleted", "removed"):
        return Cleaned(None, None, state)
    for value in (title, body):  # archives: title "[deleted by user]", body "[removed]": deleted
        gone = is_gone_marker(value)
        if gone:
            return Cleaned(None, None, gone, ["gone_marker"])
    fixes: set[str] = set()
    markdown = source != "news"
    # Titles are plain text on Reddit (no markdown), but entities and mojibake reach them too.
    t = clean_field(title, markdown=False, fixes=fixes) or None
    b = clean_field(body, markdown=markdown, fixes=fixes) or None
    return Cleaned(t, b, "ok" if (t or b) else "empty", sorted(fixes))


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


# -- the stage ---------------------------------------------------------------------------------
@dataclass
class CleanReport:
    cleaned: int
    changed: int  # documents whose cleaned text differs from the raw title + body
    total: int
    forgotten: ForgetReport = field(default_factory=ForgetReport)  # derived rows of tombstoned documents removed


def clean_pending(wh: Warehouse, *, batch_size: int = 5000) -> CleanReport:
    """Clean every document that has no cleaned text for its current content and cleaner.

    Incremental and idempotent: a document is (re)cleaned only when it is new, its
    ``content_hash`` changed (re-harvested with new text), or ``CLEANER_VERSION`` changed.
    Only documents whose state is 'ok' are read: a deleted or removed document has no
    cleaned text (``forget_gone`` runs first and removes what was made before it went).
    """
    forgotten = forget_gone(wh)  # first: nothing may go on reading text deleted at the source
    cleaned = changed = 0
    while True:
        rows = wh.dicts(
            "SELECT d.doc_id, d.source, d.state, d.title, d.body, d.content_hash FROM documents d "
            "LEFT JOIN clean_texts c USING (doc_id) "
            "WHERE d.state = 'ok' AND (c.doc_id IS NULL OR c.content_hash <> d.content_hash "
            "OR c.cleaner_version <> ?) "
            "ORDER BY d.doc_id LIMIT ?", [CLEANER_VERSION, batch_size])
        if not rows:
            break
        now = now_utc()
        out = []
        for r in rows:
            c = clean_document(r["title"], r["body"], source=r["source"], state=r["state"])
            text = c.text
            raw = "\n\n".join(x for x in (r["title"], r["body"]) if x)
            changed += text != raw
            out.append({"doc_id": r["doc_id"], "content_hash": r["content_hash"], "cleaner_version": CLEANER_VERSION,
                        "state": c.state, "title": c.title, "body": c.body, "text": text,
                        "text_hash": text_hash(text), "n_words": len(text.split()), "fixes": c.fixes,
                        "cleaned_at": now})
        with wh.transaction():
            wh.insert("clean_texts", out, on_conflict="(doc_id) DO UPDATE SET " + ", ".join(
                f"{k} = excluded.{k}" for k in out[0] if k != "doc_id"))
        cleaned += len(out)
    total = wh.scalar("SELECT count(*) FROM clean_texts")
    return CleanReport(cleaned, changed, total, forgotten)


# -- reading it ----------------------------------------------------------------------------------
def clean_texts_of(wh: Warehouse, doc_ids: list[str]) -> dict[str, str]:
    """The cleaned text (``clean_texts.text``, what later stages read) of each of ``doc_ids`` that has one."""
    return dict(wh.rows("SELECT doc_id, text FROM clean_texts WHERE doc_id IN (SELECT unnest(?))", [list(doc_ids)]))


def clean_text_of(wh: Warehouse, doc_id: str) -> str | None:
    """One document's cleaned text, or None when it has none (not cleaned yet, or gone at the source)."""
    return wh.scalar("SELECT text FROM clean_texts WHERE doc_id = ?", [doc_id])
