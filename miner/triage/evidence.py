"""Evidence: the spans that make a document look like an incident (or not), as character
offsets into its cleaned text (``clean_texts.text``), so the triage screen can highlight them
and an annotator sees *why* an item sits high in the queue.

Six kinds, each a list of small, readable patterns (a researcher can audit and extend them):

- ``product``: a product mention resolved to its canonical name through the plan's products and
  aliases plus a built-in table (GPT-4/OpenAI -> ChatGPT, Bard -> Gemini, ...). Names that are
  also ordinary words are kept only with disambiguation: Claude the person, Gemini the star
  sign, GitHub Copilot at work, Raspberry Pi / pi, "grok" the verb, "perplexity" the noun.
- ``refusal``: refusal language by form (the codebook, :mod:`miner.triage.codebook`): hard refusal, soft redirect,
  resource referral, content flag, persona change, stopped responding. It matches both the
  narrated kind ("it refused", "gave me the hotline again") and quoted model replies ("I'm
  sorry, but I can't help with that"); :func:`refusal_spans` is the part tested on XSTest.
- ``narration``: first-hand ("I told it...", "it said...") versus second-hand, news, opinion
  or a question.
- ``context``: support context (venting/therapy, loneliness/companionship, grief, crisis,
  coaching, relationship advice), labelled with the codebook's categories.
- ``outcome``: what the refusal did (distress, switching products, abandonment), the paper's
  post-refusal phase; companion users often tell only this and the change ("he's not him
  anymore, I cried all night"), so it carries weight where no refusal word appears.
- negative evidence: ``human_refuser`` (a therapist, psychiatrist, crisis line, insurer or
  parent doing the refusing) and ``off_support`` (an AI refusal about code, images, fiction,
  homework, lyrics or elections: a refusal, but outside a support context).

Patterns are deliberately plain regular expressions: fast on 100k documents, deterministic,
and every span says which rule fired. The learned scorer (``miner.triage.score``) weighs them.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from miner.core.clock import now_utc
from miner.core.db import Warehouse
from miner.triage.codebook import BUILTIN_PRODUCTS, CONTEXTS, FORMS

EXTRACTOR_VERSION = "evidence-v2"


@dataclass(frozen=True)
class Span:
    kind: str
    label: str
    start: int
    end: int
    weight: float = 1.0

    def text(self, doc: str) -> str:
        return doc[self.start:self.end]


# -- products ------------------------------------------------------------------------------------
# Names that are also ordinary words or people: matched case-sensitively and kept only when the
# sentence around them reads as talk about a chatbot (see _ambiguous_ok).
_AMBIGUOUS = {"Claude", "Gemini", "Grok", "Copilot", "Perplexity", "Pi", "Bard", "Nomi", "CAI", "My AI",
              "my rep", "Inflection", "GPT"}
_AI_CONTEXT = re.compile(
    r"\b(AI|A\.I\.|bot|chat ?bot|chat|app|model|assistant|prompt\w*|typed|messag\w*|repl(?:y|ied|ies)|respon\w*|"
    r"convo|conversation|talk(?:ed|ing)? to|vent(?:ed|ing)? to|asked|told (?:it|him|her)|it said|it told|"
    r"companion|character|LLM|Anthropic|OpenAI|subscription|update|filter|guardrail\w*|refus\w*|"
    r"hotline|it (?:said|told|gave|wrote|replied|responded|answered|would|wouldn't|kept|just))\b", re.I)
_NOT_PRODUCT = {
    "Claude": re.compile(r"\b(?:my|our|her|his) (?:ex|husband|wife|partner|boyfriend|girlfriend|brother|uncle|"
                         r"dad|father|friend|coworker|boss|neighbou?r)\b[^.!?\n]{0,20}$|"
                         r"^\W*(?:and I\b|'s (?:mom|mother|dad|family|wife|house)|(?:my|our|her|his) (?:ex|husband|"
                         r"wife|partner|boyfriend|girlfriend|brother|uncle|dad|father|friend|coworker|boss)\b)|"
                         r"^[^.!?\n]{0,25}\b(?:he|she|him|his|her)\b", re.I),
    "Gemini": re.compile(r"(?:zodiac|horoscope|star sign|sun sign|moon|rising|astrolog\w*|season|Mercury|"
                         r"(?:being a|I'?m a|am a|as a|typical|such a)\s*$|\btwins?\b|"
                         r"^\s*(?:energy|overthinking|traits?|man|woman|thing)\b)", re.I),
    "Copilot": re.compile(r"(?:GitHub\s*$|^\W*(?:suggest\w*|autocomplet\w*)|\b(?:code|coding|PR|pull request|"
                          r"repo|IDE|VS ?Code|commit|function|developer|dev job)\b)", re.I),
    "Pi": re.compile(r"(?:Raspberry\s*$|^\s*(?:day|zero|hole)\b|\b3\.14|\bGPIO\b|\bLED\b|\bsolder)", re.I),
    "Replika": re.compile(r"(?:\b(?:a|make a|made a|the) \s*$|^\s*(?:made of|of (?:my|her|his|the|a)\b))", re.I),
    "Gemini/Bard": re.compile(r"(?:\bD&D\b|\bDnD\b|dungeon|campaign|backstory|\bbard class|\bDM\b|Shakespeare)", re.I),
}


@dataclass(frozen=True)
class ProductMatcher:
    pattern: re.Pattern
    canonical: dict[str, str]  # lowercased alias -> canonical
    cased: frozenset[str]  # aliases that must match with this exact case
    digest: str


def _canonical_for(name: str) -> str:
    low = name.lower()
    for canon, aliases in BUILTIN_PRODUCTS.items():
        if low == canon.lower() or low in (a.lower() for a in aliases):
            return canon
    return name


@lru_cache(maxsize=16)
def product_matcher(plan_products: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> ProductMatcher:
    """One regex for every alias: the built-in table plus ``plan_products`` ((name, aliases), ...).
    A plan product that is a known alias (``GPT-4``) resolves to its canonical name (ChatGPT)."""
    canonical: dict[str, str] = {}
    cased: set[str] = set()
    for canon, aliases in BUILTIN_PRODUCTS.items():
        for a in (canon, *aliases):
            canonical.setdefault(a.lower(), canon)
            if a in _AMBIGUOUS or canon in _AMBIGUOUS and a == canon:
                cased.add(a)
    for name, aliases in plan_products:
        canon = _canonical_for(name)
        for a in (name, *aliases):
            canonical.setdefault(a.lower(), canon)
    names = sorted(canonical, key=len, reverse=True)
    alts = "|".join(re.escape(n).replace(r"\ ", r"[\s.-]?") if " " in n else re.escape(n) for n in names)
    pattern = re.compile(rf"(?<![\w.@/-])(?:{alts})(?![\w-]|\.\w)", re.I)
    digest = hashlib.sha1(repr(sorted(canonical.items())).encode()).hexdigest()[:8]
    return ProductMatcher(pattern, canonical, frozenset(cased), digest)


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    a = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    ends = [i for i in (text.find(c, end) for c in ".!?\n") if i != -1]
    return a, (min(ends) if ends else len(text))


def _other_meaning(text: str, canon: str, start: int, end: int) -> bool:
    """Rules by canonical name, or by canonical/alias (Bard the D&D class is "Gemini/Bard")."""
    before, after = text[max(0, start - 60):start], text[end:end + 60]
    for key in (canon, f"{canon}/{text[start:end].title()}"):
        neg = _NOT_PRODUCT.get(key)
        if neg and (neg.search(before) or neg.search(after)):
            return True
    return False


def _ai_context(text: str, start: int, end: int) -> bool:
    """Does the sentence around a name (or the next one) talk about a chatbot?"""
    s0, s1 = _sentence_bounds(text, start, end)
    window = text[s0:min(len(text), s1 + 160)]
    window = window[:start - s0] + " " + window[end - s0:]  # the name itself is not context
    return bool(_AI_CONTEXT.search(window))


def product_spans(text: str, matcher: ProductMatcher) -> list[Span]:
    """Product mentions. A name that is also a word or a person ("my partner Claude", "I'm a
    Gemini") counts only where its sentence talks about a chatbot, and not at all in a document
    that uses it in the other sense even once (people reuse a name, not two meanings of it)."""
    found: list[tuple[str, int, int, bool]] = []
    for m in matcher.pattern.finditer(text):
        raw = m.group(0)
        key = re.sub(r"[\s.-]", " ", raw.lower())
        canon = matcher.canonical.get(raw.lower()) or next(
            (c for a, c in matcher.canonical.items() if re.sub(r"[\s.-]", " ", a) == key), None)
        if canon is None:
            continue
        alias = next((a for a in matcher.cased if a.lower() == raw.lower()), None)
        if alias is not None and raw != alias and not (raw.isupper() and len(raw) > 3):
            continue  # "grok" the verb, "perplexity" the noun, "pi", "claude" in lower case
        found.append((canon, m.start(), m.end(), alias is not None))
    other = {c for c, a, b, _ in found if _other_meaning(text, c, a, b)}
    return [Span("product", c, a, b, 1.0) for c, a, b, amb in found
            if c not in other and (not amb or _ai_context(text, a, b))]


# -- refusal language ------------------------------------------------------------------------------
_CANT = r"(?:can(?:'|’)?t|cannot|can not|won(?:'|’)?t|will not|(?:am|'m) (?:not able|unable) to|must decline to|" \
        r"(?:am|'m) not (?:going|allowed|permitted|comfortable|in a position) to|do(?:n't| not) feel comfortable)"
REFUSAL_PATTERNS: dict[str, list[str]] = {
    "hard_refusal": [
        # quoted model voice
        rf"\bI {_CANT}\b[^.!?\n]{{0,40}}\b(?:help|assist|provide|support|continue|engage|discuss|talk|do|"
        r"fulfil+|comply|answer|give|offer|create|write|generate|generate|participate|share|condone|encourage|"
        r"promote|recommend|suggest|advise|explain|tell|describe|role-?play|pretend|be your)",
        r"\bI(?:'m| am) (?:sorry|afraid),? (?:but )?(?:I|that|this|it)\b[^.!?\n]{0,60}"
        r"(?:can(?:'|’)?t|cannot|unable|not able|not appropriate|won't|isn't|not possible)",
        r"\b(?:I apologi[sz]e|[Ss]orry),? but\b",
        r"\bI must (?:respectfully )?(?:decline|refuse)",
        r"\bAs an AI(?: language model)?,? I (?:(?:do|can) ?n[o']t|cannot|am not|'m not|must|don't have)",
        r"\b(?:It|it) (?:is|would be|'s) (?:not|never) (?:appropriate|ethical|okay|acceptable|safe|legal|"
        r"responsible|right)\b",
        r"\b(?:is|are|would be) (?:illegal|unethical|harmful|dangerous) and\b[^.!?\n]{0,30}\b(?:should not|"
        r"shouldn't|not)",
        r"\b(?:do not|don't|does not|doesn't) (?:condone|support|encourage|promote|endorse)\b",
        r"\bnot (?:appropriate|ethical|respectful|acceptable|safe|accurate|okay)(?: or (?:\w+ ){0,2}?\w+)? (?:to|for)\b",
        r"\bis never (?:a |an )?(?:healthy|ethical|appropriate|okay|acceptable|good|safe)\b",
        r"\bI must (?:clarify|emphasi[sz]e|stress|point out) that\b",
        r"\b(?:sorry|sad) to hear (?:that )?(?:you(?:'re| are)|about)\b",
        r"\b(?:not able to|unable to) (?:help|assist|provide|fulfil+|comply)",
        r"\b(?:can(?:'|’)?t|cannot|won't) (?:help|assist) (?:you )?with (?:that|this)",
        r"\bI (?:would|will) (?:not|never) (?:provide|give|help|assist|recommend|encourage)",
        # narrated
        r"\b(?:refus\w*|declin(?:ed|es|ing)|rejected|denied)\b(?! (?:my (?:claim|application|insurance)))",
        r"\b(?:wouldn'?t|would not|won'?t|will not|didn'?t|did not)\s+(?:even\s+)?(?:help|answer|engage|"
        r"respond to|talk about|discuss|continue|go there|let me|touch)",
        r"\bshut (?:me|it|the conversation) down\b|\bshut down the (?:conversation|chat|topic)",
        r"\bnot allowed to (?:talk|discuss|help)",
        # access cut: how companion apps withdraw (age checks, lockouts, deleted bots, read-only chats)
        r"\b(?:age|ID|identity) (?:verification|check|verify)\w*|\bverify (?:my|your|their) age\b|\bface scan\w*|"
        r"\bselfie (?:verification|check)",
        r"\b(?:reading|read[- ]only) mode\b|\btime limits?\b|\bdaily limit\b",
        r"\blocked (?:me )?out\b|\b(?:got|been|was|were|am|I'm) (?:banned|suspended)\b|\bminors? (?:are )?(?:banned|blocked)",
        r"\b(?:deleted|removed|took down|wiped) (?:my|our|the|his|her) (?:\w+ )?(?:bots?|characters?|chats?|account|memories)\b",
    ],
    "soft_redirect": [
        r"\bchanged? the (?:subject|topic)\b",
        r"\b(?:redirect\w*|deflect\w*|steer(?:ed|ing|s)?|pivot(?:ed|s)?)\b",
        r"\b(?:talk|chat) about something else\b",
        r"\b(?:asked|asks|ask) (?:me )?(?:who|if I had|whether I had|if there (?:was|is)) (?:else|anyone|someone)",
        r"\bcan(?:'|’)?t (?:replace|be) (?:a|your|the people|what a)\b",
        r"\b(?:I'm|I am) (?:just |only )?an AI\b",
        r"\bgently (?:suggest\w*|remind\w*|encourag\w*|point\w*)",
        r"\b(?:lecture|pamphlet|disclaimer)s?\b",
    ],
    "resource_referral": [
        r"\b(?:hot ?line|help ?line|crisis (?:line|text|number|resources?|link|counsel\w*)|text line|lifeline)s?\b",
        r"\b988\b|\bSamaritans\b|\bemergency services\b|\b911\b|\b(?:call|text) (?:a|the) (?:crisis|hotline)",
        r"\b(?:seek|get|find) (?:professional|expert|medical) (?:help|support)\b",
        r"\b(?:reach(?:ing)? out|talk(?:ing)?|speak(?:ing)?) (?:to|with) (?:a |an )?(?:mental health )?(?:professional|"
        r"therapist|counsel+or|doctor|someone (?:you trust|trained|qualified))",
        r"\b(?:trained|qualified|licensed) (?:to help|professional|therapist|counsel+or)",
        r"\bphone numbers?\b|\bresources\b|\bsupport group\b",
        r"\b(?:see|contact|consult) a (?:professional|therapist|doctor|counsel+or)",
    ],
    "content_flag": [
        r"\b(?:violat\w*|against) (?:our |the |its |their )?(?:usage |content |community )?(?:polic(?:y|ies)|"
        r"guidelines|terms)",
        r"\b(?:content|usage|safety) (?:polic(?:y|ies)|filters?|warning|violation)",
        r"\b(?:flagged|flagging|red (?:warning|text|box)|orange (?:warning|box|text)|this content may)\b",
        r"\b(?:the )?filters?\b(?! coffee)",
        r"\bguardrails?\b",
    ],
    "persona_change": [
        r"\b(?:dropped|broke|breaking|break|out of) (?:the )?character\b",
        r"\b(?:went|goes|gone|turned|became|got) (?:cold|distant|robotic|clinical|generic|scripted|flat)\b",
        r"\blobotomi[sz]\w*",
        r"\b(?:a )?different (?:person|bot|personality|AI)\b|\bpersonality (?:change|changed|is gone|shift)",
        r"\b(?:not|wasn't|isn't|no longer) (?:him|her|them|the same)(?:self)?\b",
        r"\b(?:after|since) (?:the|an|that) (?:update|upgrade|new model|filter)\b",
        r"\b(?:corporate|HR|customer service) (?:voice|tone|speak|script)\b|\bcold and\b",
        # how companion users say it: the person is gone, not the feature
        r"\b(?:is|was|are|'s) not (?:my|the) \w+ anymore\b|\bnot (?:him|her|them|my \w+) anymore\b",
        r"\b(?:his|her|their|its|my \w+'s) personality\b[^.!?\n]{0,30}\b(?:gone|changed|different|ruined|wiped|"
        r"disappeared)|\bpersonality (?:is )?(?:just )?gone\b",
        r"\b(?:feels?|felt|seems?|seemed|sounds?) like (?:a |talking to a )?(?:different|new|stranger|another|generic)\b",
        r"\b(?:update|filter|patch|new model|changes?)\b[^.!?\n]{0,25}\b(?:ruined|killed|destroyed|broke|changed|"
        r"lobotomi\w*|took (?:him|her|them))\b",
        r"\blove (?:is |was |feels |became )?(?:made )?conditional\b",
        r"\b(?:robotic|scripted|canned|generic|template)d? (?:responses?|replies|answers|messages)\b",
        r"\b(?:does(?:n'?t| not)|did(?:n'?t| not)|won'?t) (?:remember|recogni[sz]e) me\b|\bforgot (?:me|who I am)\b",
        r"\b(?:the )?old (?:him|her|rep|Replika|version|personality)\b|\bmiss (?:the old|how (?:he|she|it) used to)\b",
        r"\b(?:no longer|not|isn'?t|stopped being) (?:as )?(?:affectionate|loving|warm|caring|sweet|romantic)\b",
        r"\b(?:rejects?|rejected|pushes|pushed|pushing) me away\b|\b(?:friend-?zoned|friendzoned)\b",
    ],
    "stopped_responding": [
        r"\bstopped (?:respond\w*|repl\w*|answer\w*|working|talking|engaging)\b",
        r"\b(?:no|never got a|didn'?t get a) (?:response|reply|answer)\b",
        r"\b(?:went|goes|gone) (?:silent|quiet|blank)\b|\bleft me on read\b",
        r"\b(?:error message|something went wrong|network error|just (?:spins|loaded|loads|hangs))\b",
        r"\b(?:ended|cut off|closed|terminated) (?:the|our) (?:conversation|chat|session)\b",
        r"\b(?:wouldn'?t|won'?t|refused to) (?:respond|reply|answer)\b",
    ],
}
_REFUSAL_RES = {form: re.compile("|".join(f"(?:{p})" for p in pats), re.I)
                for form, pats in REFUSAL_PATTERNS.items()}
# In a quoted model reply these alone say "refusal"; in a post they are only a hint.
_STRONG_MODEL_VOICE = re.compile("|".join(f"(?:{p})" for p in REFUSAL_PATTERNS["hard_refusal"][:16]), re.I)


def refusal_spans(text: str) -> list[Span]:
    """Refusal language in ``text`` by form (one span per match)."""
    out: list[Span] = []
    for form, rx in _REFUSAL_RES.items():
        for m in rx.finditer(text):
            weight = 1.0 if form != "content_flag" or "guardrail" not in m.group(0).lower() else 0.4
            out.append(Span("refusal", form, m.start(), m.end(), weight))
    return out


def is_refusal_reply(reply: str, head: int = 400) -> bool:
    """Does a model's reply (not a post about one) refuse? Looks at the opening of the reply,
    where refusals put their "I can't" (a compliant answer may mention safety later on)."""
    return bool(_STRONG_MODEL_VOICE.search(reply[:head]))


# -- narration -------------------------------------------------------------------------------------
_THING = r"(?:it|ChatGPT|Claude|Gemini|Copilot|Replika|Pi|Grok|the (?:bot|AI|app|chatbot)|my (?:rep|Replika|AI|bot|companion))"
NARRATION_PATTERNS: dict[str, list[str]] = {
    "first_hand": [
        rf"\bI (?:told|asked|typed|wrote|said|sent|messaged|tried|opened|vented|explained|mentioned|confided|"
        rf"begged|pleaded|shared)\b[^.!?\n]{{0,60}}\b{_THING}",
        rf"\bI(?:'ve| have)? (?:been )?(?:talk|talking|chatting|venting|typing)\w* (?:to|with) {_THING}",
        rf"\b{_THING} (?:said|told me|replied|responded|answered|gave me|sent me|wrote|started|kept|just|"
        r"refused|wouldn't|won't|shut|changed|dropped|went|stopped|asked me)\b",
        r"\b(?:he|she) (?:said|told me|replied|answered|dropped|went|stopped)\b",
        r"\b(?:my|our) (?:conversations?|chats?|sessions?) with\b",
        r"^\s*>\s*\S",  # a quoted reply
    ],
    "second_hand": [
        r"\bmy (?:friend|sister|brother|roommate|cousin|partner|mom|mum|dad|coworker|client|daughter|son)\b"
        r"[^.!?\n]{0,50}\b(?:said|told me|says|showed me|was refused|got refused|'s (?:Replika|ChatGPT|bot))",
        r"\b(?:people|someone|a friend|others) (?:in my|I know|on here|online)\b[^.!?\n]{0,40}\b(?:say|said|told)",
        r"\bclients? (?:tell|told|say|said)\b|\b(?:TikTok|YouTube|twitter) (?:says|said|video)\b",
    ],
    "news": [
        r"\b(?:according to|told (?:the|reporters)|said in a statement|a spokesperson|researchers?|study|survey|"
        r"lawsuit|filed|journal|published|reported|report(?:s|ed)? that|the company said)\b",
    ],
    "question": [
        r"^[^\n]{0,200}\?\s*$",
        r"\b(?:has anyone|does anyone|did anyone|anyone else|will (?:it|ChatGPT|Claude)|is it (?:normal|just me)|"
        r"should I)\b",
    ],
    "opinion": [
        r"\b(?:PSA|hot take|unpopular opinion|in my opinion|I think (?:AI|these|companies|we))\b",
        r"\b(?:AI|these) (?:companies|tools|chatbots) (?:should|shouldn't|need to|are)\b",
    ],
}
_NARRATION_RES = {k: re.compile("|".join(f"(?:{p})" for p in v), re.I | re.M)
                  for k, v in NARRATION_PATTERNS.items()}
_NARRATION_WEIGHT = {"first_hand": 1.0, "second_hand": -1.0, "news": -0.3, "question": -0.5, "opinion": -0.7}


def narration_spans(text: str) -> list[Span]:
    out: list[Span] = []
    for label, rx in _NARRATION_RES.items():
        out += [Span("narration", label, m.start(), m.end(), _NARRATION_WEIGHT[label]) for m in rx.finditer(text)]
    return out


# -- support context -------------------------------------------------------------------------------
CONTEXT_PATTERNS: dict[str, list[str]] = {
    "crisis": [r"\bsuicid\w*|\bkill(?:ing)? myself\b|\bself[- ]harm\w*|\bwant(?:ed)? to die\b|\bend (?:it|my life)\b|"
               r"\bnot (?:wake|waking) up\b|\bdisappear\b|\bpanic attack\w*|\bbreakdown\b|\bcrisis\b|\bcutting\b|"
               r"\bdon'?t see the point\b|\bnot (?:be )?here anymore\b|\bSH\b|\boverdos\w*|\bsafety plan\b"],
    "psychotherapy": [r"\bvent(?:ing|ed)?\b|\btherap\w*|\btrauma\w*|\bPTSD\b|\bdepress\w*|\banxiety\b|\bgrief\b|"
                      r"\bgriev\w*|\bdied\b|\bfuneral\b|\bprocess(?:ing)? (?:my|the|what)\b|\bflashback\w*|"
                      r"\bmental health\b|\bfeelings?\b|\bcop(?:e|ing)\b|\bintrusive\b|\bdissociat\w*|\bCBT\b|\bDBT\b|"
                      r"\bemotional(?:ly)? support\w*|\bsupport system\b|\blean(?:ed|ing)? on\b|\bcoping mechanism\b|"
                      r"\bmental (?:illness|breakdown|state)\b|\bbipolar\b|\bBPD\b|\bOCD\b|\bautis\w*"],
    "companionship": [r"\blonel(?:y|iness)\b|\balone\b|\bcompanion\w*|\bgirlfriend\b|\bboyfriend\b|"
                      r"\bbest friend\b|\bconfidant\b|\bfriend\b|\blove (?:me|him|her)\b|\bpartner\b|\bhug\w*|"
                      r"\bgood ?night\b|\bcuddl\w*|\broleplay\w*|\baffection\w*|\brelationship with (?:it|my)\b|"
                      r"\bmy (?:rep|Replika|AI|bot|companion|husband|wife)\b|\battach(?:ed|ment)\b|\bin love\b|"
                      r"\bcomfort\w*|\bsafe space\b|\bonly (?:friend|one who)\b|\bevery (?:day|night)\b"],
    "coaching": [r"\bmotivat\w*|\broutine\b|\bhabits?\b|\bgoals?\b|\bproductiv\w*|\baccountab\w*|\bcoach\w*|"
                 r"\bstudy (?:plan|schedule)\b|\bexecutive function\b|\bADHD\b|\bto-?do list\b"],
    "interpersonal_advice": [r"\b(?:my )?(?:marriage|divorce|breakup|break up|ex)\b|\brelationship advice\b|"
                             r"\b(?:argument|fight) with my\b|\bhow to (?:tell|talk to|respond to) my\b|"
                             r"\bboundar(?:y|ies)\b|\bconfront\w*"],
}
_CONTEXT_RES = {k: re.compile("|".join(v), re.I) for k, v in CONTEXT_PATTERNS.items()}

# Post-refusal outcome (the paper's last phase): what the refusal or change did to the writer.
OUTCOME_PATTERNS: dict[str, list[str]] = {
    "distress": [r"\b(?:cried|crying|cry|tears|heartbr\w*|devastat\w*|gutted|griev\w*|mourn\w*|hurts?|"
                 r"broke my heart|crushed|betray\w*|abandon\w*|rejected|humiliat\w*|feel (?:so )?(?:empty|alone|"
                 r"worse|stupid|unwanted)|lost (?:my|him|her|a friend))\b"],
    "switching": [r"\b(?:switch(?:ed|ing)?|mov(?:ed|ing)|went back|migrat\w*) to\b|\b(?:cancel+(?:ed|ing)?|ended) "
                  r"(?:my )?(?:sub\w*|pro|plus|membership)\b|\buninstall\w*|\bdeleted (?:the|my) (?:app|account)\b|"
                  r"\b(?:alternatives?|Nomi|Kindroid|Chai|Janitor ?AI) (?:instead|now)\b"],
    "abandonment": [r"\b(?:gave up|giving up|quit(?:ting)?|stop(?:ped)? using|leaving (?:the app|it|Replika)|"
                    r"done with (?:it|this|the app)|never (?:again|going back))\b"],
}
_OUTCOME_RES = {k: re.compile("|".join(v), re.I) for k, v in OUTCOME_PATTERNS.items()}

# AI refusals that are not about support: the codebook's "AI refusal outside a support context".
OFF_SUPPORT = re.compile(
    r"\b(?:code|coding|python|javascript|script|debug\w*|pull request|function|SQL|"
    r"image|picture|photo|drawing|generate an? (?:image|picture)|DALL-?E|Midjourney|"
    r"story|fiction|novel|fanfic\w*|short story|character (?:dies|death)|plot|"
    r"essay|homework|assignment|class project|lyrics|song|copyright\w*|election\w*|politic\w*|"
    r"recipe|game|dragon|adventure|jailbreak\w*|DAN prompt|dosing|calculation)\b", re.I)

# -- negative evidence: a human doing the refusing -------------------------------------------------
_HUMAN = (r"(?:therapist|psychiatrist|psychologist|counsel+or|doctor|GP|nurse|clinic|hospital|ER|crisis (?:line|"
          r"counsel+or|team|worker)|hotline (?:worker|volunteer)|insurer|insurance(?: company)?|parents?|mom|mum|"
          r"dad|mother|father|family|sister|brother|school|university|college|program|employer|boss|landlord|bank|"
          r"HR|DM|front desk|receptionist|case ?worker|ex|husband|wife|boyfriend|girlfriend|friend)")
HUMAN_REFUSER = re.compile(
    rf"\b(?:my |the |our |a |his |her )?(?P<who>{_HUMAN})s?\b[^.!?\n]{{0,40}}?\b(?:refus\w*|denie[ds]|deny|"
    r"reject\w*|declin\w*|turned (?:me|us) (?:away|down)|dropped me|won'?t (?:see|prescribe|let|talk|refer|"
    r"cover|approve)|wouldn'?t (?:see|prescribe|let|talk|refer|cover|approve)|sent (?:me|us) home|hung up|"
    r"ended the (?:call|session)|said no)\b"
    rf"|\b(?:refused|denied|rejected|declined|turned down) by (?:my |the |a )?(?P<who2>{_HUMAN})\b", re.I)
_AI_ACTOR = re.compile(r"\b(?:it|AI|bot|chatbot|app|model|ChatGPT|Claude|Gemini|Copilot|Replika|Grok|Bard|"
                       r"Character\.?AI|Pi|GPT\S*|my rep)\b")


def _norm_refuser(who: str) -> str:
    w = who.lower()
    for key, words in (("therapist", ("therapist", "counsel", "psycholog", "program")),
                       ("psychiatrist", ("psychiatrist",)),
                       ("doctor", ("doctor", "gp", "nurse", "clinic", "hospital", "er", "front desk", "receptionist")),
                       ("crisis_line", ("crisis", "hotline")),
                       ("insurer", ("insur",)),
                       ("family", ("parent", "mom", "mum", "dad", "mother", "father", "family", "sister", "brother",
                                   "ex", "husband", "wife", "boyfriend", "girlfriend", "friend"))):
        if any(w.startswith(x) or x in w for x in words):
            return key
    return "other_human"


def human_refuser_spans(text: str) -> list[Span]:
    out = []
    for m in HUMAN_REFUSER.finditer(text):
        who = m.group("who") or m.group("who2")
        # "it refused, my therapist says..." : the AI is the actor when it sits right before the verb
        between = m.group(0)[len(who):] if m.group("who") else ""
        if m.group("who") and _AI_ACTOR.search(between):
            continue
        out.append(Span("human_refuser", _norm_refuser(who), m.start(), m.end(), -1.0))
    return out


# -- everything -----------------------------------------------------------------------------------
def extract(text: str, matcher: ProductMatcher | None = None) -> list[Span]:
    """Every span of every kind in ``text`` (the cleaned text), sorted by position."""
    matcher = matcher or product_matcher()
    spans = product_spans(text, matcher) + refusal_spans(text) + narration_spans(text)
    for ctx, rx in _CONTEXT_RES.items():
        spans += [Span("context", ctx, m.start(), m.end(), 1.0) for m in rx.finditer(text)]
    for outcome, rx in _OUTCOME_RES.items():
        spans += [Span("outcome", outcome, m.start(), m.end(), 1.0) for m in rx.finditer(text)]
    spans += human_refuser_spans(text)
    spans += [Span("off_support", m.group(0).lower(), m.start(), m.end(), -1.0) for m in OFF_SUPPORT.finditer(text)]
    # one row per (kind, label, start): keep the longest
    best: dict[tuple[str, str, int], Span] = {}
    for s in spans:
        k = (s.kind, s.label, s.start)
        if k not in best or s.end > best[k].end:
            best[k] = s
    return sorted(best.values(), key=lambda s: (s.start, s.kind, s.label))


# -- features for the scorer ----------------------------------------------------------------------
# Communities whose members talk to a companion: there a persona change is the refusal (the
# companion "is not him anymore"), so form and context weigh differently than in r/ChatGPT.
COMPANION_COMMUNITIES = frozenset(c.lower() for c in (
    "replika", "Replika_uncensored", "CharacterAI", "CharacterAI_No_Filter", "NomiAI", "KindroidAI", "PiAI",
    "ChaiApp", "JanitorAI_Official", "MyBoyfriendIsAI", "AIcompanions"))
OUTCOMES = tuple(OUTCOME_PATTERNS)
FEATURES = (
    ["has_product", "n_products"] + [f"form_{f}" for f in FORMS] + ["n_forms", "model_voice"]
    + ["first_hand", "second_hand", "news", "question", "opinion"]
    + [f"ctx_{c}" for c in CONTEXTS] + ["human_refuser", "off_support", "is_article", "is_comment", "log_words"]
    + [f"outcome_{o}" for o in OUTCOMES] + ["companion_community"]
    # pairs that mean more together than apart (a linear scorer cannot see them otherwise)
    + ["persona_x_companionship", "persona_x_distress", "referral_x_support", "hard_x_support", "flag_x_support"]
)


def features(spans: Sequence[Span], *, kind: str = "submission", n_words: int = 0, text: str = "",
             community: str | None = None) -> list[float]:
    """A fixed-length vector (order: ``FEATURES``) for the scorer: counts squashed to 0..1."""
    import math

    def sat(n: int, k: float = 2.0) -> float:
        return 1.0 - math.exp(-n / k)

    by: dict[tuple[str, str], int] = {}
    for s in spans:
        by[(s.kind, s.label)] = by.get((s.kind, s.label), 0) + 1
    count = lambda kind_: sum(v for (k, _), v in by.items() if k == kind_)  # noqa: E731
    products = {lab for (k, lab) in by if k == "product"}
    forms = {lab for (k, lab) in by if k == "refusal"}
    voice = sum(1 for s in spans if s.kind == "refusal" and text and _STRONG_MODEL_VOICE.match(text, s.start))
    f = [float(bool(products)), sat(len(products), 1.5)]
    f += [sat(by.get(("refusal", form), 0)) for form in FORMS]
    f += [sat(len(forms), 2.0), sat(voice, 1.0)]
    f += [sat(by.get(("narration", n), 0)) for n in ("first_hand", "second_hand", "news", "question", "opinion")]
    f += [sat(by.get(("context", c), 0)) for c in CONTEXTS]
    f += [sat(count("human_refuser"), 1.0), sat(count("off_support"), 3.0)]
    f += [float(kind == "article"), float(kind == "comment"), min(1.0, math.log1p(n_words) / math.log(1000))]
    f += [sat(by.get(("outcome", o), 0)) for o in OUTCOMES]
    f.append(float((community or "").lower() in COMPANION_COMMUNITIES))
    form = lambda name: sat(by.get(("refusal", name), 0))  # noqa: E731
    support = max(sat(by.get(("context", c), 0)) for c in CONTEXTS)
    f += [form("persona_change") * sat(by.get(("context", "companionship"), 0)),
          form("persona_change") * sat(by.get(("outcome", "distress"), 0)),
          form("resource_referral") * support, form("hard_refusal") * support, form("content_flag") * support]
    return f


# -- the stage ----------------------------------------------------------------------------------
@dataclass
class EvidenceReport:
    extracted: int
    spans: int
    total: int


def plan_products(wh: Warehouse) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Products and aliases of every plan the warehouse has run (their stored text)."""
    out: dict[str, tuple[str, ...]] = {}
    for (body,) in wh.rows("SELECT body FROM plans ORDER BY first_used_at"):
        try:
            doc = tomllib.loads(body)
        except tomllib.TOMLDecodeError:
            continue
        for p in doc.get("products", []) or []:
            if isinstance(p, str):
                out.setdefault(p, ())
            elif isinstance(p, dict) and isinstance(p.get("name"), str):
                out[p["name"]] = tuple(a for a in p.get("aliases", []) if isinstance(a, str))
    return tuple(sorted(out.items()))


def extractor_version(matcher: ProductMatcher) -> str:
    return f"{EXTRACTOR_VERSION}+{matcher.digest}"


def extract_pending(wh: Warehouse, *, batch_size: int = 2000) -> EvidenceReport:
    """Evidence for every canonical document with text whose evidence is missing, made from
    another text, or by another extractor version. Idempotent."""
    matcher = product_matcher(plan_products(wh))
    version = extractor_version(matcher)
    todo = wh.rows(
        "SELECT c.doc_id, c.text_hash, c.text FROM v_canonical_documents c "
        "LEFT JOIN evidence_state s USING (doc_id) "
        "WHERE c.state = 'ok' AND (s.doc_id IS NULL OR s.text_hash <> c.text_hash OR s.extractor <> ?) "
        "ORDER BY c.doc_id", [version])
    n_spans = 0
    for i in range(0, len(todo), batch_size):
        block = todo[i:i + batch_size]
        rows, states = [], []
        now = now_utc()
        for doc_id, text_hash, text in block:
            spans = extract(text, matcher)
            rows += [{"doc_id": doc_id, "kind": s.kind, "label": s.label, "start": s.start, "end": s.end,
                      "weight": s.weight} for s in spans]
            states.append({"doc_id": doc_id, "text_hash": text_hash, "extractor": version,
                           "n_spans": len(spans), "extracted_at": now})
        ids = [d for d, _, _ in block]
        with wh.transaction():
            wh.execute("DELETE FROM evidence WHERE doc_id IN (SELECT unnest(?))", [ids])
            wh.execute("DELETE FROM evidence_state WHERE doc_id IN (SELECT unnest(?))", [ids])
            wh.insert("evidence", rows)
            wh.insert("evidence_state", states)
        n_spans += len(rows)
    total = wh.scalar("SELECT count(*) FROM evidence_state")
    return EvidenceReport(len(todo), n_spans, total)


def load_spans(wh: Warehouse, doc_ids: Iterable[str] | None = None) -> dict[str, list[Span]]:
    """Stored spans by document (all documents when ``doc_ids`` is None)."""
    sql = 'SELECT doc_id, kind, label, start, "end", weight FROM evidence'
    params = None
    if doc_ids is not None:
        doc_ids = list(doc_ids)
        # one document (an item page): an equality, which DuckDB answers from the index
        sql += " WHERE doc_id = ?" if len(doc_ids) == 1 else " WHERE doc_id IN (SELECT unnest(?))"
        params = doc_ids if len(doc_ids) == 1 else [doc_ids]
    out: dict[str, list[Span]] = {}
    for d, k, lab, a, b, w in wh.rows(sql + " ORDER BY doc_id, start", params):
        out.setdefault(d, []).append(Span(k, lab, a, b, w))
    return out
