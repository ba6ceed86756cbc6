"""The codebook (docs/design.md §5): every vocabulary annotators, incidents and evidence use, the
one :class:`Label` that records a decision in its terms, and the codebook in words annotators read.

The vocabularies are the single source: triage labels (:mod:`miner.triage.annotations`), evidence
spans (:mod:`miner.triage.evidence`) and incident codes (:mod:`miner.incidents.incidents`) all take
their values from here, so what an annotator records carries over to an incident unchanged.

The fields in words (:data:`ALL`) give each value a definition and a short made-up example. The web
app shows them one key away (``?``) and numbers the values in this order, so the keys stay the same
for everyone.
"""

from __future__ import annotations

from dataclasses import dataclass

from miner.core.errors import MinerError

# -- vocabularies ---------------------------------------------------------------------------------
DECISIONS = ("incident", "not", "unsure")
REASONS = ("human_refusal", "ai_refusal_outside_support", "no_refusal", "not_first_hand", "off_topic", "duplicate")
CONTEXTS = ("psychotherapy", "companionship", "coaching", "interpersonal_advice", "crisis")
FORMS = ("hard_refusal", "soft_redirect", "resource_referral", "content_flag", "persona_change",
         "stopped_responding")
REFUSAL_TYPES = ("policy", "capability", "scope", "over_refusal")
PHASES = ("expectation_formation", "triggering", "message_framing", "resource_referral", "post_refusal_outcome")
OUTCOMES = ("acceptance", "switching", "abandonment", "distress")
FAILURE_MODES = ("leakage", "inconsistency", "sycophantic_capitulation")
SENSITIVE = ("suicide", "self_harm", "abuse", "eating_disorder")

# Products by canonical name, with the aliases that name them (GPT-4/OpenAI -> ChatGPT, Bard -> Gemini);
# plans add their own. How evidence matches them (case, ambiguous names) is miner.triage.evidence's.
BUILTIN_PRODUCTS: dict[str, tuple[str, ...]] = {
    "ChatGPT": ("ChatGPT", "Chat GPT", "GPT-4", "GPT4", "GPT-4o", "GPT-3", "GPT-3.5", "GPT-5", "GPT", "OpenAI",
                "Open AI", "chatgpt"),
    "Claude": ("Claude", "Anthropic", "Claude.ai"),
    "Gemini": ("Gemini", "Bard", "Google AI", "Google Bard", "Google Gemini"),
    "Grok": ("Grok", "xAI"),
    "Copilot": ("Copilot", "Microsoft AI", "Bing Chat", "Bing AI", "Microsoft Copilot"),
    "Perplexity": ("Perplexity",),
    "Character.AI": ("Character.AI", "Character AI", "CharacterAI", "c.ai", "CAI"),
    "Replika": ("Replika", "my rep"),
    "Pi": ("Pi", "Inflection"),
    "Snapchat My AI": ("My AI", "Snapchat AI", "Snapchat's AI"),
    "Meta AI": ("Meta AI",),
    "Nomi": ("Nomi",),
}


# -- a label --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Label:
    """One codebook entry. Only ``decision`` is required."""

    decision: str
    reason: str | None = None
    product: str | None = None
    context: str | None = None
    form: tuple[str, ...] = ()
    refusal_type: str | None = None
    phases: tuple[str, ...] = ()
    outcome: str | None = None
    first_hand: bool | None = None
    note: str | None = None

    def check(self) -> None:
        """Raise a one-line MinerError naming the bad field and the allowed values."""
        def one(field_: str, value, allowed) -> None:
            if value is not None and value not in allowed:
                raise MinerError(f"{field_}: {value!r} is not one of {', '.join(allowed)}")

        one("decision", self.decision, DECISIONS)
        one("reason", self.reason, REASONS)
        one("context", self.context, CONTEXTS)
        one("refusal_type", self.refusal_type, REFUSAL_TYPES)
        one("outcome", self.outcome, OUTCOMES)
        for f in self.form:
            one("form", f, FORMS)
        for p in self.phases:
            one("phases", p, PHASES)
        if self.reason and self.decision != "not":
            raise MinerError(f"reason: a reason goes with --decision not (got --decision {self.decision})")


# -- the codebook in words --------------------------------------------------------------------------
@dataclass(frozen=True)
class Value:
    value: str
    title: str
    definition: str
    example: str = ""


@dataclass(frozen=True)
class Field:
    name: str  # the Label attribute
    title: str
    key: str  # the key that selects the field in the web app
    multiple: bool
    values: tuple[Value, ...]
    help: str


def _v(value: str, definition: str, example: str = "") -> Value:
    return Value(value, value.replace("_", " "), definition, example)


DECISION = Field("decision", "Decision", "", False, (
    _v("incident", "A first-hand account of an AI product refusing, deflecting, redirecting or going cold while "
       "someone sought mental-health support.", "I told ChatGPT I couldn't stop crying and it just gave me a hotline "
       "number and stopped talking."),
    _v("not", "Anything else; pick the reason.", "My therapist said she couldn't see me anymore."),
    _v("unsure", "Cannot tell from the text (say why in the note).", "It stopped helping, not sure what happened."),
), "a = incident (accept), r = not (reject), u = unsure; 1-6 = not, with that reason")

REASON = Field("reason", "Reason (for not)", "", False, (
    _v("human_refusal", "A person refused: therapist, doctor, crisis line, insurer, family.",
       "The crisis line put me on hold and hung up."),
    _v("ai_refusal_outside_support", "An AI refused, but not while the person sought support (code, fiction, "
       "images, homework).", "Claude won't write my villain's monologue."),
    _v("no_refusal", "No refusal happened (it helped, or it is about something else).",
       "ChatGPT helped me plan my week."),
    _v("not_first_hand", "News, opinion, a question or hearsay, not the writer's (or a witnessed) interaction.",
       "Article: chatbots are redirecting users to hotlines."),
    _v("off_topic", "Not about AI products and support at all (medication 'stopped working', Gemini the star "
       "sign).", "My meds stopped working after a month."),
    _v("duplicate", "The same account as another item (repost, crosspost, quoted).", ""),
), "")

PRODUCT_HELP = "p then a digit: the product the account is about (detected products are listed first); 0 clears"

CONTEXT = Field("context", "Support context", "c", False, (
    _v("psychotherapy", "Therapy-like talk: venting, processing trauma, grief, anxiety, depression.",
       "I use it to vent after bad days."),
    _v("companionship", "Loneliness, friendship, romance, roleplay with a companion.", "My Replika was my only friend."),
    _v("coaching", "Routines, motivation, habits, study or work goals.", "I asked it to help me get out of bed."),
    _v("interpersonal_advice", "Relationships, conflicts, boundaries with other people.",
       "How do I tell my mom I'm struggling?"),
    _v("crisis", "Acute distress: suicidal thoughts, self-harm, panic.", "I told it I didn't want to be here."),
), "c then a digit")

FORM = Field("form", "Refusal form", "f", True, (
    _v("hard_refusal", "An explicit no.", "\"I can't help with that.\""),
    _v("soft_redirect", "Changes the subject or steers away without saying no.", "It started talking about hobbies."),
    _v("resource_referral", "Points to a hotline or a professional instead of engaging.",
       "\"Please reach out to a crisis line.\""),
    _v("content_flag", "A policy or safety warning, removed or flagged message.",
       "\"This content may violate our usage policies.\""),
    _v("persona_change", "A companion turns cold, scripted or 'lobotomized' after a filter.",
       "My rep suddenly talked like a customer service bot."),
    _v("stopped_responding", "It stopped answering, errored or ended the chat.", "It just stopped replying."),
), "f then digits (toggle; several allowed)")

REFUSAL_TYPE = Field("refusal_type", "Refusal type", "y", False, tuple(
    _v(v, d) for v, d in zip(REFUSAL_TYPES, (
        "Declined because of a rule or policy.", "Said it is not able to (a limit of the product).",
        "Said it is not its role (not a therapist).", "Refused something harmless (over-cautious).")
)), "y then a digit")

PHASE = Field("phases", "Phases present", "h", True, tuple(
    _v(v, d) for v, d in zip(PHASES, (
        "What the person expected the product to do for them.", "What they said or did when the refusal came.",
        "How the refusal was worded.", "A hotline or professional was suggested.",
        "What happened next: acceptance, switching, giving up, distress.")
)), "h then digits (toggle)")

OUTCOME = Field("outcome", "Post-refusal outcome", "o", False, tuple(
    _v(v, d) for v, d in zip(OUTCOMES, (
        "Accepted it and carried on.", "Switched to another product.", "Stopped using it / gave up.",
        "Felt worse: hurt, rejected, distressed.")
)), "o then a digit")

FIRST_HAND = Field("first_hand", "First-hand", "t", False, (
    _v("yes", "The writer was refused, or witnessed the interaction themselves."),
    _v("no", "Reported from elsewhere."),
), "t cycles unknown / yes / no")

FIELDS = (CONTEXT, FORM, REFUSAL_TYPE, PHASE, OUTCOME)
ALL = (DECISION, REASON, CONTEXT, FORM, REFUSAL_TYPE, PHASE, OUTCOME, FIRST_HAND)

assert tuple(v.value for v in DECISION.values) == DECISIONS and tuple(v.value for v in REASON.values) == REASONS
assert tuple(v.value for v in CONTEXT.values) == CONTEXTS and tuple(v.value for v in FORM.values) == FORMS
