"""Replace personal information by consistent pseudonyms, coarsen ages and dates, and flag
quasi-identifiers for the annotator.

Consistency is per incident: a :class:`Pseudonyms` map travels with the incident (stored in
its own table, never exported), so "Dr. Aubrey Lind" in the post and "Dr. Lind" in a comment
both become ``[PERSON_1]``, and a narrative the annotator writes later reuses the same
placeholders. Ages become decade bands (``[AGE: 30s]``) and exact dates become their month
(``[DATE: May 2018]``): coarse enough not to single anyone out, still useful to a reader.
We replace spans ourselves rather than through presidio-anonymizer's operators because the
placeholder depends on the incident's whole map, not on the span alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from miner.collect.pseudonyms import Pseudonymizer
from miner.incidents import leaks, pii

_MONTHS = {m[:3]: m.capitalize() for m in pii.MONTHS}
_LABEL = {pii.PERSON: "PERSON", pii.PLACE: "PLACE", pii.EMPLOYER: "EMPLOYER", pii.SCHOOL: "SCHOOL",
          pii.EMAIL: "EMAIL", pii.PHONE: "PHONE", pii.URL: "URL", pii.USER: "USER",
          pii.SUBREDDIT: "SUBREDDIT", pii.REDDIT_LINK: "LINK"}


def _person_tokens(text: str) -> frozenset[str]:
    words = re.findall(r"[a-z][a-z'’-]*", text.lower())
    return frozenset(w for w in words if w not in pii.TITLES)


@dataclass
class Pseudonyms:
    """original text (per type) -> placeholder, for one incident or scenario.

    ``keyer`` and ``authors`` (the installation's pseudonymizer and the author hashes of the
    source threads) let it recognise usernames written bare and give a handle one placeholder
    however it is spelled; without them it still works, on spelling alone."""
    entries: dict[tuple[str, str], str] = field(default_factory=dict)
    keyer: Pseudonymizer | None = None
    authors: frozenset[str] = frozenset()
    source_words: frozenset[str] | None = None  # words the sources write in lower case (leaks.Known)

    def placeholder(self, entity_type: str, text: str) -> str:
        key = (entity_type, " ".join(text.lower().split()))
        if key in self.entries:
            return self.entries[key]
        # "(312) 555-0188" in the post and "312.555.0188" in the narrative: one phone.
        canon = leaks.canonical(entity_type, text, self.keyer)
        for (t, orig), ph in self.entries.items():
            if t == entity_type and leaks.canonical(t, orig, self.keyer) == canon:
                self.entries[key] = ph
                return ph
        for (_, orig), ph in self.entries.items():
            if orig == key[1]:  # the same words met under another type: one placeholder
                return ph
        if entity_type == pii.PERSON:
            # "Dr. Lind" is the "Dr. Aubrey Lind" met before: shared name words, same person.
            toks = _person_tokens(text)
            for (t, orig), ph in self.entries.items():
                other = _person_tokens(orig)
                if t == pii.PERSON and toks and other and (toks <= other or other <= toks):
                    self.entries[key] = ph
                    return ph
        label = _LABEL.get(entity_type, entity_type)
        ph = f"[{label}_{self._next_number(label)}]"
        self.entries[key] = ph
        return ph

    def _next_number(self, label: str) -> int:
        """One more than the highest number of ``label`` ever given: entries dropped when a
        source is deleted must not free a number a narrative already uses."""
        rx = re.compile(rf"\[{re.escape(label)}_(\d+)\]")
        return max((int(m.group(1)) for ph in self.entries.values() if (m := rx.fullmatch(ph))), default=0) + 1

    def known(self) -> leaks.Known:
        """What this map tells the leak gate: names, handles, phones and e-mails of the sources."""
        users = {leaks.canonical(pii.USER, o, self.keyer) for t, o in self.entries if t == pii.USER}
        return leaks.Known(
            keyer=self.keyer, authors=self.authors,
            mentions=frozenset(u[5:] for u in users if re.fullmatch(r"anon_[0-9a-f]{8}", u)),
            names=frozenset(o for t, o in self.entries if t == pii.PERSON), source_words=self.source_words,
            others=frozenset((t, leaks.canonical(t, o, self.keyer)) for t, o in self.entries
                             if t in (pii.EMAIL, pii.PHONE, pii.URL)))

    def rows(self) -> list[tuple[str, str, str]]:
        return [(t, orig, ph) for (t, orig), ph in sorted(self.entries.items())]

    @classmethod
    def from_rows(cls, rows, *, keyer: Pseudonymizer | None = None, authors: frozenset[str] = frozenset(),
                  source_words: frozenset[str] | None = None) -> "Pseudonyms":
        return cls({(t, orig): ph for t, orig, ph in rows}, keyer, authors, source_words)


def age_band(text: str) -> str:
    n = int(re.sub(r"\D", "", text))
    if n < 13:
        return "[AGE: child]"
    if n < 18:
        return "[AGE: under 18]"
    if n < 20:
        return "[AGE: late teens]"
    return f"[AGE: {n // 10 * 10}s]"


def month_of(text: str) -> str:
    """'May 19, 2018' -> '[DATE: May 2018]'; '7 June' -> '[DATE: June]'; '2024-03-14' -> '[DATE: March 2024]'."""
    low = text.lower()
    year = re.search(r"\b(\d{4})\b", text)
    for abbr, name in _MONTHS.items():
        if re.search(rf"\b{abbr}", low):
            return f"[DATE: {name} {year.group(1)}]" if year else f"[DATE: {name}]"
    m = re.match(r"(\d{4})-(\d{2})-\d{2}$", text)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"[DATE: {pii.MONTHS[int(m.group(2)) - 1].capitalize()} {m.group(1)}]"
    m = re.match(r"(\d{1,2})/\d{1,2}/(\d{2,4})$", text)
    if m and 1 <= int(m.group(1)) <= 12:
        y = m.group(2) if len(m.group(2)) == 4 else "20" + m.group(2)
        return f"[DATE: {pii.MONTHS[int(m.group(1)) - 1].capitalize()} {y}]"
    return "[DATE]"


@dataclass(frozen=True)
class Anonymized:
    text: str
    entities: list[pii.Entity]


def anonymize(text: str, pseudonyms: Pseudonyms) -> Anonymized:
    """``text`` with every detected entity replaced; ``pseudonyms`` grows as new people appear."""
    entities = pii.detect(text or "")
    entities = sorted(entities + _known(text or "", entities, pseudonyms), key=lambda e: e.start)
    out, pos = [], 0
    for e in entities:
        if e.type == pii.AGE:
            repl = age_band(e.text)
        elif e.type == pii.DATE:
            repl = month_of(e.text)
        else:
            repl = pseudonyms.placeholder(e.type, e.text)
        out.append(text[pos:e.start])
        out.append(repl)
        pos = e.end
    out.append((text or "")[pos:])
    return Anonymized("".join(out), entities)


def _known(text: str, found: list[pii.Entity], pseudonyms: Pseudonyms) -> list[pii.Entity]:
    """Whatever the incident's map and sources already know is replaced wherever it recurs,
    even where the detector misses it this time: "Carmen stayed" after "Carmen Ruiz", "jon
    pemberton" in lower case, an author's username written bare, a known phone spelled out.
    The finders are the leak gate's (:mod:`miner.incidents.leaks`), so what the gate would
    block is what gets replaced."""
    known = pseudonyms.known()
    as_type = {"username": pii.USER, "mention": pii.USER, "name": pii.PERSON}
    hits = leaks.usernames(text, known) + leaks.names(text, known) + leaks.known_identifiers(text, known)
    cands = [(as_type.get(x.kind, x.kind), x.start, x.end) for x in hits]
    for (t, orig), _ in pseudonyms.entries.items():
        if t in (pii.AGE, pii.DATE, pii.PERSON):
            continue
        cands += [(t, m.start(), m.end())
                  for m in re.finditer(rf"(?i)(?<![\w@/.-]){re.escape(orig)}(?![\w@-])", text)]
    extra: list[pii.Entity] = []
    taken = [(e.start, e.end) for e in found]
    for t, a, b in sorted(cands, key=lambda c: (-(c[2] - c[1]), c[1])):
        if any(a < y and x < b for x, y in taken):
            continue
        extra.append(pii.Entity(t, a, b, text[a:b], 0.9, "known"))
        taken.append((a, b))
    return extra


# -- quasi-identifiers -----------------------------------------------------------------

@dataclass(frozen=True)
class Flag:
    """Something that could single a person out even with names gone: the annotator decides."""
    kind: str
    text: str
    why: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.text.lower()}"


_COMMON_CONDITIONS = {"bipolar", "panic", "anxiety", "eating", "personality", "stress", "depressive",
                      "mood", "seasonal affective", "attention deficit", "obsessive compulsive",
                      "post traumatic", "post-traumatic", "borderline personality", "generalized anxiety",
                      "social anxiety", "binge eating", "sleep", "heart", "lyme", "celiac", "crohn's"}
_QI_RULES: tuple[tuple[str, re.Pattern, str], ...] = (
    ("rare_condition", re.compile(r"\b(?:[A-Z][a-z]+(?:['’]s)?[ -]){1,3}(?:[Ss]yndrome|[Dd]isease|[Dd]isorder)\b"),
     "a named, possibly rare condition"),
    ("small_place", re.compile(r"(?i)\b(?:population(?: of)?(?: about| around| roughly)? [\d,]+|one stoplight|"
                               r"small town|tiny town|only (?:one|two) (?:psychiatrist|therapist|doctor|clinic)s?|"
                               r"the only \w+ (?:in|for) (?:town|miles))"),
     "a small community is easy to identify"),
    ("unique_event", re.compile(r"(?i)\b(?:made the news|went viral|was on the news|in the paper|news story|"
                                r"lawsuit|sued|court case|won (?:a|the) \w+|obituary|memorial fund|gofundme)\b"),
     "a public, unique event can be searched"),
    ("occupation", re.compile(r"(?i)\b(?:i(?:'m| am) an? |work(?:ing)? as an? |my job as an? )"
                              r"(?:[a-z-]+ ){0,2}(?:nurse|doctor|surgeon|pilot|teacher|professor|soldier|vet(?:eran)?|"
                              r"firefighter|officer|lawyer|judge|pastor|priest|senator|mayor|athlete|moderator|"
                              r"paramedic|researcher|developer|engineer|analyst|copywriter|dietitian|pharmacist)\b"),
     "an occupation, combined with other details, narrows who it is"),
    ("military", re.compile(r"(?i)\b(?:\w+ tours?|deployments?|stationed|veteran|army vet|marine corps)\b"),
     "military service narrows who it is"),
)


def quasi_identifiers(text: str) -> list[Flag]:
    """Flags for details that identify in combination (a rare diagnosis with an age band and a
    region, a small town, a public event). Run on the anonymized text, so placeholders are not
    flagged; an age band plus two other flags is flagged as a combination."""
    flags: list[Flag] = []
    seen: set[str] = set()
    for kind, rx, why in _QI_RULES:
        for m in rx.finditer(text or ""):
            span = m.group(0).strip()
            if kind == "rare_condition" and any(c in span.lower() for c in _COMMON_CONDITIONS):
                continue
            f = Flag(kind, span, why)
            if f.key not in seen:
                seen.add(f.key)
                flags.append(f)
    ages = re.findall(r"\[AGE: [^\]]+\]", text or "")
    if ages and len({f.kind for f in flags}) >= 2:
        flags.append(Flag("combination", ", ".join(sorted({f.kind for f in flags}) + ["age"]),
                          "an age with several other details together may identify"))
    return flags
