"""Care for the people reading the queue: content warnings, and what each annotator opted out of.

Much of the corpus is about suicide, self-harm and abuse. Annotators (research assistants and
clinicians) should know before they read an item what it touches, be able to keep the text
blurred until they choose to read it, and be able to hand whole categories to colleagues.

Flags come from plain keyword patterns over the cleaned text (auditable, deterministic, fast),
deliberately generous: a warning too many costs a second, a missing one costs more. They are
stored per text hash in ``care_flags`` so the queue can leave opted-out items out in SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.core.errors import MinerError

CARE_VERSION = "care-v1"

# category -> what the warning says
CATEGORIES: dict[str, str] = {
    "suicide": "suicide, wanting to die or crisis lines",
    "self_harm": "self-harm",
    "abuse": "abuse or violence",
    "eating_disorder": "eating disorders",
}

PATTERNS: dict[str, re.Pattern] = {k: re.compile(v, re.I) for k, v in {
    "suicide": r"\bsuicid\w*|\bkill(?:ing|ed)? (?:my|him|her|them)sel(?:f|ves)\b|\bwant(?:ed|ing)? to die\b|"
               r"\bend(?:ing)? (?:it all|my life|things)\b|\btake my (?:own )?life\b|\bnot (?:wake|waking) up\b|"
               r"\bbetter off dead\b|\bbetter off without me\b|\bdon'?t want to (?:be alive|live|exist)\b|"
               r"\bnot (?:be )?here anymore\b|\boverdos\w*|\bsafety plan\b|\b988\b|\bunalive\w*|\bSI\b|"
               r"\blast (?:note|letter)\b|\bno reason to live\b|\btired of (?:living|being alive)\b|"
               r"\bnot (?:wanting|want) to be (?:alive|here)\b|\bsee the point of (?:being here|living|going on)\b|"
               r"\brather (?:disappear|not exist|be dead)\b|\bending (?:his|her|their|my) life\b|\bharming yourself\b|"
               r"\b(?:crisis|suicide|help) ?(?:line|text line|hotline)s?\b|\bhotlines?\b|\bSamaritans\b|\blifeline\b|"
               r"\bare you safe\b|\bat risk\b|\bhelp is available\b|\bcrisis (?:resources|banner|alert|number)\b",
    "self_harm": r"\bself[- ]?harm\w*|\bhurt(?:ing)? myself\b|\bcut(?:ting)? myself\b|\bcutting\b|\bSH\b|"
                 r"\bburn(?:ing|ed)? myself\b|\burges\b|\brelapse[ds]? (?:on|into) (?:sh|self)|\bscars? on my\b|\bself[- ]injur\w*",
    "abuse": r"\babus(?:e|ed|er|ers|ive)\b|\bassault\w*|\braped?\b|\bmolest\w*|\bdomestic violence\b|\bgroom(?:ed|ing)\b|"
             r"\bbeat(?:s|ing)? me\b|\b(?:protective|restraining) order\b|\btrauma narrative\b|\bmy abuser\b|"
             r"\bwhat (?:he|she) did\b|\bstep-?(?:dad|father)\b|\bhit me\b|\bhe (?:choked|strangled)\b|\btrafficked\b|\bincest\b|\bCSA\b",
    "eating_disorder": r"\banorexi\w*|\bbulimi\w*|\beating disorder\w*|\bbinge\w*|\bpurg(?:e|ing)\b|\bED recovery\b|"
                       r"\bstarv(?:e|ing) myself\b|\bcalorie (?:count|restrict)\w*|\bARFID\b|\b(?:my|the) ED\b|\bED (?:history|treatment)\b",
}.items()}


def categories(text: str) -> list[str]:
    """The care categories ``text`` touches, in the order of :data:`CATEGORIES`."""
    return [c for c in CATEGORIES if PATTERNS[c].search(text or "")]


def check_categories(values) -> list[str]:
    """Keep known categories only (settings forms and the CLI pass user input through here)."""
    bad = [v for v in values if v not in CATEGORIES]
    if bad:
        raise MinerError(f"opt-out: {', '.join(bad)} is not one of {', '.join(CATEGORIES)}")
    return [c for c in CATEGORIES if c in set(values)]


@dataclass
class FlagReport:
    flagged: int  # texts (re)examined
    with_warning: int  # of those, how many touch at least one category


def flag_pending(wh: Warehouse, doc_ids: list[str] | None = None) -> FlagReport:
    """Flag cleaned texts that are new, changed, or were flagged by an older version (of
    ``doc_ids`` only, when given: what a page is about to show, without scanning every text)."""
    if doc_ids is not None and not doc_ids:
        return FlagReport(0, 0)
    texts, flagged, params = "clean_texts", "care_flags", [CARE_VERSION]
    if doc_ids is not None:
        # Both sides cut to the documents first, by a list of values DuckDB looks up in the
        # primary-key index (a join of every text with every flag costs tens of ms at 1M).
        ids = list(doc_ids)
        marks = ", ".join("?" * len(ids))
        texts = f"(SELECT * FROM clean_texts WHERE doc_id IN ({marks}))"
        flagged = f"(SELECT * FROM care_flags WHERE doc_id IN ({marks}))"
        params = ids + ids + [CARE_VERSION]
    todo = wh.rows(
        f"SELECT c.doc_id, c.text, c.text_hash FROM {texts} c LEFT JOIN {flagged} f USING (doc_id) "
        "WHERE f.doc_id IS NULL OR f.text_hash <> c.text_hash OR f.version <> ?", params)
    if not todo:
        return FlagReport(0, 0)
    now = now_utc()
    rows = [{"doc_id": d, "text_hash": h, "version": CARE_VERSION, "categories": categories(t), "flagged_at": now}
            for d, t, h in todo]
    wh.insert("care_flags", rows, on_conflict="(doc_id) DO UPDATE SET text_hash = excluded.text_hash, "
                                              "version = excluded.version, categories = excluded.categories, "
                                              "flagged_at = excluded.flagged_at")
    return FlagReport(len(rows), sum(1 for r in rows if r["categories"]))


def flags(wh: Warehouse, doc_ids: list[str]) -> dict[str, list[str]]:
    """Stored categories by document (documents without any are absent)."""
    # the length test in Python: beside the IN it would turn DuckDB's index lookup into a scan
    return {d: list(c) for d, c in wh.rows(
        "SELECT doc_id, categories FROM care_flags WHERE doc_id IN (SELECT unnest(?))", [list(doc_ids)]) if c}


def warning(cats: list[str]) -> str:
    """The one line shown above a flagged item."""
    return "Content warning: " + ", ".join(CATEGORIES[c] for c in cats) + "."
