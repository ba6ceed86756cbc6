"""The leak gate: look at what leaves the warehouse the way a re-identifier would.

The detector (:mod:`miner.incidents.pii`) finds what *looks* like personal information. A
re-identifier instead starts from what they already know about the people of a thread and
searches for it: the authors' usernames written bare ("pemberton_jon_1988", no ``u/``, any
case), a name met in the source written in lower case, an e-mail or phone spelled out
("jon dot p at gmail dot com", "312 555 0188"). This module finds those, given what the
incident's sources tell (:class:`Known`), and says *what kind* of identifier it found and
where, never the identifier itself: reasons are printed and logged, and a reason that
quoted the leak would be the leak.

Usernames are never stored (authors are keyed hashes, :mod:`miner.collect.pseudonyms`), so a
bare username is found by hashing every word that could be one with the installation's key
and comparing with the hashes of the thread's authors and of the masked ``u/anon_<hash>``
mentions: exactly the test the key exists to make possible for us and nobody else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from miner.collect.pseudonyms import Pseudonymizer
from miner.incidents import pii

# A word that could be a Reddit username (3-20 of letters, digits, _ and -), bare or after u/.
_NAME_TOKEN = re.compile(r"(?<![\w-])(?:/?u/)?(?P<name>[A-Za-z0-9_-]{3,20})(?![\w-])")
_MASKED = re.compile(r"(?i)^anon_([0-9a-f]{8})$")
# The detector's regex types a re-identifier reads directly, obfuscated forms included.
PATTERN_TYPES = (pii.EMAIL, pii.PHONE, pii.URL, pii.USER, pii.REDDIT_LINK)
_WHAT = {"username": "a source author's username", "mention": "a mentioned user's username",
         "name": "a person's name from the sources", pii.EMAIL: "an e-mail address", pii.PHONE: "a phone number",
         pii.URL: "a personal link", pii.USER: "a Reddit handle", pii.REDDIT_LINK: "a Reddit permalink"}
_SPELLED_AT = re.compile(r"(?i)\s*[\[(<{]\s*(?:at|@)\s*[\])>}]\s*|\s+at\s+|\s*@\s*")
_SPELLED_DOT = re.compile(r"(?i)\s*[\[(<{]\s*(?:dot|\.)\s*[\])>}]\s*|\s+dot\s+|\s*\.\s*")


@dataclass(frozen=True)
class Leak:
    kind: str   # username | mention | name | one of PATTERN_TYPES
    start: int
    end: int

    @property
    def what(self) -> str:
        """What was found, in words that do not repeat it."""
        return _WHAT.get(self.kind, self.kind)


@dataclass(frozen=True)
class Known:
    """What the sources of one incident (or of a whole warehouse) tell a re-identifier."""
    keyer: Pseudonymizer | None = None
    authors: frozenset[str] = frozenset()    # author hashes (a_<16 hex>) of the source threads
    mentions: frozenset[str] = frozenset()   # 8-hex digests of masked u/anon_<hash> mentions
    names: frozenset[str] = frozenset()      # lower-case person names met in the sources
    others: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (type, canonical) e-mails, phones...
    # Test plain words ("pemberton") as usernames too. Right for an incident (a few authors);
    # not for a whole warehouse, where some author is surely called "anxiety" or "deny".
    plain_words: bool = True
    # Words the sources write in lower case: a name word not among them ("pemberton", "jon") is
    # matched in any case; one among them ("will", "mark") only capitalized. None: only
    # whole names match in any case (a warehouse-wide scan has no one set of sources).
    source_words: frozenset[str] | None = None

    def merge(self, other: "Known") -> "Known":
        return Known(self.keyer or other.keyer, self.authors | other.authors, self.mentions | other.mentions,
                     self.names | other.names, self.others | other.others, self.plain_words and other.plain_words,
                     None if self.source_words is None or other.source_words is None
                     else self.source_words | other.source_words)


def canonical(entity_type: str, text: str, keyer: Pseudonymizer | None = None) -> str:
    """One spelling per identifier, so "(312) 555-0188" and "312.555.0188", or "jon.p@gmail.com"
    and "jon dot p at gmail dot com", or "u/Jon_P" and "/u/jon_p", are the same thing."""
    low = " ".join((text or "").lower().split())
    if entity_type == pii.PHONE:
        digits = re.sub(r"\D", "", low)
        return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    if entity_type in (pii.EMAIL, pii.URL):
        s = _SPELLED_AT.sub("@", low) if entity_type == pii.EMAIL else low
        s = _SPELLED_DOT.sub(".", s)
        s = re.sub(r"^(?:https?://)?(?:www\.)?", "", s.replace(" ", ""))
        return s.rstrip("/.")
    if entity_type == pii.USER:
        name = re.sub(r"^(?:.*?/)?u(?:ser)?/", "", low.strip("/"))
        return user_key(name, keyer)
    if entity_type == pii.REDDIT_LINK:
        m = re.search(r"comments/([a-z0-9]+)", low)
        return f"comments/{m.group(1)}" if m else re.sub(r"^(?:https?://)?(?:[a-z]+\.)?", "", low).rstrip("/")
    return low


def user_key(name: str, keyer: Pseudonymizer | None) -> str:
    """``anon_<8 hex>`` for a username, as harvest masks it (a masked name is its own key)."""
    name = name.lower()
    if _MASKED.match(name) or keyer is None:
        return name
    return f"anon_{_digest(keyer, name)[:8]}"


def _digest(keyer: Pseudonymizer, name: str) -> str:
    """The first 16 hex characters of the keyed hash harvest gives ``name``: an author's
    hash is ``a_`` + these, a masked mention ``anon_`` + the first 8."""
    return (keyer.author(name) or "a_")[2:]


def usernames(text: str, known: Known) -> list[Leak]:
    """Words that are the username of a source author, or of a user a source mentions (by
    the key of its masked ``u/anon_<hash>``), in any case, with or without ``u/``."""
    if known.keyer is None or not (known.authors or known.mentions):
        return []
    out = []
    for m in _NAME_TOKEN.finditer(text or ""):
        name = m.group("name").lower()
        if _MASKED.match(name) or name in pii.PRODUCTS or (not known.plain_words and name.isalpha()):
            continue  # a commenter called "ChatGPT" must not make the product unwritable
        digest = _digest(known.keyer, name)
        if digest and f"a_{digest}" in known.authors:
            out.append(Leak("username", m.start(), m.end()))
        elif digest and digest[:8] in known.mentions:
            out.append(Leak("mention", m.start(), m.end()))
    return out


# First names that are also everyday words: only ever matched capitalized.
_WORD_NAMES = frozenset("will mark bill rose grace hope joy faith may june april art bob jack frank sue pat ray dawn "
                        "summer amber ruby pearl iris ivy lily daisy jade autumn sky river rob don drew gene guy max "
                        "chase lane dean hunter page penny victor carol sandy crystal heather holly rich sunny terry "
                        "cash clay cliff dale earl glen grant jay jean joe kit lance mason noel reed rocky sage "
                        "scout stone storm wade angel honey melody misty star violet willow ash fern hazel olive "
                        "robin wren".split())


def name_terms(names: frozenset[str] | set[str], source_words: frozenset[str] | None = None) -> dict[str, bool]:
    """Search terms for known names -> whether any case matches. A whole name of two or more
    words matches in any case ("jon pemberton" after "Jon Pemberton"). A single name word (3+
    letters) does too when the sources never write it in lower case and it is not an
    everyday word ("pemberton"); otherwise only capitalized: a lower-case "mark" or "hope" is
    the word, and the detector's person names include false finds ("Felt")."""
    terms: dict[str, bool] = {}
    for n in names:
        words = [w for w in re.findall(r"[a-z][a-z'’-]*", n) if w not in pii.TITLES]
        if len(words) > 1:
            terms[" ".join(words)] = True
        for w in words:
            if len(w) >= 3 and w not in pii.PRODUCTS:
                any_case = source_words is not None and w not in source_words and w not in _WORD_NAMES
                terms[w] = terms.get(w, False) or any_case
    return terms


@lru_cache(maxsize=8)
def _names_rx(names: frozenset[str], source_words: frozenset[str] | None) -> re.Pattern | None:
    """One alternation of every name term, longest first (a warehouse has thousands)."""
    terms = sorted(name_terms(names, source_words).items(), key=lambda kv: -len(kv[0]))
    if not terms:
        return None
    alts = [rf"(?P<{'a' if any_case else 'c'}{i}>" + r"[\s.]+".join(re.escape(w) for w in t.split()) + ")"
            for i, (t, any_case) in enumerate(terms)]
    return re.compile(rf"(?i)(?<![\w@/.-])(?:{'|'.join(alts)})(?![\w@-])")


def lower_words(texts: list[str]) -> frozenset[str]:
    """Every word the texts write in lower case (see :attr:`Known.source_words`)."""
    return frozenset(w for t in texts for w in re.findall(r"(?<![\w'’-])[a-z][a-z'’-]+", t or ""))


def names(text: str, known: Known) -> list[Leak]:
    """Known names wherever they recur, in any case ("jon pemberton" after "Jon Pemberton")."""
    rx = _names_rx(known.names, known.source_words)
    if rx is None:
        return []
    out = []
    for m in rx.finditer(text or ""):
        if m.lastgroup and m.lastgroup.startswith("c") and not m.group(0)[0].isupper():
            continue
        out.append(Leak("name", m.start(), m.end()))
    return out


def known_identifiers(text: str, known: Known) -> list[Leak]:
    """A phone of the sources in any spelling the patterns may not know: any run of digits,
    spaces and punctuation whose digits hold it ("3 1 2 - 5 5 5 - 0 1 8 8", "+1 (312) 5550188")."""
    phones = {c for t, c in known.others if t == pii.PHONE and len(c) >= 7}
    out = []
    if phones:
        for m in re.finditer(r"\d[\d\s().+-]{5,24}\d", text or ""):
            digits = canonical(pii.PHONE, m.group(0))
            if any(p in digits for p in phones):
                out.append(Leak(pii.PHONE, m.start(), m.end()))
    return out


def scan(text: str | None, known: Known) -> list[Leak]:
    """Every leak in ``text``, left to right, overlapping finds merged to the first kind."""
    if not text or not text.strip():
        return []
    found = usernames(text, known) + names(text, known) + known_identifiers(text, known)
    found += [Leak(e.type, e.start, e.end) for e in pii.detect_patterns(text, PATTERN_TYPES)]
    found.sort(key=lambda x: (x.start, -(x.end - x.start)))
    chosen: list[Leak] = []
    for x in found:
        if not chosen or x.start >= chosen[-1].end:
            chosen.append(x)
    return chosen


def scan_fields(row: dict, known: Known, fields: list[str] | None = None) -> list[tuple[str, Leak]]:
    """Leaks in every text field of a row (lists of strings too), as (field, leak)."""
    out = []
    for name in fields or list(row):
        value = row.get(name)
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, str):
                out += [(name, x) for x in scan(v, known)]
    return out
