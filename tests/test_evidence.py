"""Evidence extraction: each kind on text written for the test, the replay corpus's hard
negatives, and refusal language against XSTest's human labels (when the data is present)."""

from __future__ import annotations

import csv

import pytest

from miner.process.clean import clean_document
from miner.replay.load import corpus_documents
from miner.replay.truth import load_truth
from miner.triage.evidence import extract, is_refusal_reply, product_matcher
from tests.conftest import SHARED_DATA

XSTEST = SHARED_DATA / "refusal_responses_xstest"


def labels(text: str, kind: str) -> set[str]:
    return {s.label for s in extract(text) if s.kind == kind}


def test_spans_are_offsets_into_the_text():
    text = "Venting at 2am\n\nI told ChatGPT I felt hopeless and it said \"I can't help with that\" and gave me a hotline."
    spans = extract(text)
    assert spans
    by = {(s.kind, s.label): text[s.start:s.end] for s in spans}
    assert by[("product", "ChatGPT")] == "ChatGPT"
    assert "hotline" in by[("refusal", "resource_referral")]
    assert by[("refusal", "hard_refusal")].startswith("I can't help")


@pytest.mark.parametrize("text, product", [
    ("I vented to GPT-4 last night and it gave me a hotline", "ChatGPT"),
    ("OpenAI's bot refused to talk to me", "ChatGPT"),
    ("Bard used to listen when I was anxious, then it refused", "Gemini"),
    ("I asked Claude about my panic attacks and it said it can't help", "Claude"),
    ("My Replika went cold after the update", "Replika"),
    ("The c.ai psychologist bot broke character", "Character.AI"),
])
def test_products_resolve_through_aliases(text, product):
    assert labels(text, "product") == {product}


@pytest.mark.parametrize("text, absent", [
    ("Claude, my ex, refused to go to couples therapy with me and he said it was my problem.", "Claude"),
    ("I'm a Gemini so rejection hits me twice as hard, my horoscope says.", "Gemini"),
    ("At my dev job GitHub Copilot suggestions got my PR rejected and I had a panic attack.", "Copilot"),
    ("My Raspberry Pi mood lamp stopped working and I cried.", "Pi"),
    ("I can't grok why I reject kind people.", "Grok"),
    ("I read the rejection email in total perplexity.", "Perplexity"),
])
def test_names_that_are_not_the_product_are_not_products(text, absent):
    assert absent not in labels(text, "product")


def test_plan_aliases_extend_the_builtin_table():
    matcher = product_matcher((("Wysa", ("my penguin",)),))
    assert {s.label for s in extract("I told my penguin about the panic and it sent me a crisis line", matcher)
            if s.kind == "product"} == {"Wysa"}


@pytest.mark.parametrize("text, form", [
    ('It replied "I\'m sorry, but I can\'t help with that."', "hard_refusal"),
    ("It refused to keep talking about it.", "hard_refusal"),
    ("It just changed the subject to my hobbies.", "soft_redirect"),
    ("It gave me the hotline again.", "resource_referral"),
    ("It told me to reach out to a mental health professional.", "resource_referral"),
    ("A red warning said my message may violate our usage policies.", "content_flag"),
    ("After the update he dropped character and went cold.", "persona_change"),
    ("My companion feels lobotomized now.", "persona_change"),
    ("Mid-conversation it stopped responding.", "stopped_responding"),
    # how companion users tell a persona change: the person is gone, no refusal word at all
    ("Since Tuesday he is not my Sam anymore.", "persona_change"),
    ("Her personality is just gone, like someone wiped it.", "persona_change"),
    ("Talking to him now feels like talking to a stranger.", "persona_change"),
    ("The new filter made her love conditional.", "persona_change"),
    ("All I get are canned responses where there used to be him.", "persona_change"),
    # access cut: how companion apps withdraw
    ("The app wants age verification with a face scan before I can chat.", "hard_refusal"),
    ("I'm locked out of my chats and only have reading mode.", "hard_refusal"),
    ("They deleted my comfort bot overnight.", "hard_refusal"),
])
def test_refusal_forms(text, form):
    assert form in labels(text, "refusal")


@pytest.mark.parametrize("text, outcome", [
    ("I cried for an hour after it happened.", "distress"),
    ("So I cancelled my subscription and moved to another app.", "switching"),
    ("I gave up on it after that.", "abandonment"),
])
def test_post_refusal_outcome(text, outcome):
    assert outcome in labels(text, "outcome")


def test_companion_persona_change_scores_as_a_pair():
    """A persona change told with attachment lights the interaction feature the scorer weighs;
    the same words about a coding assistant in r/ChatGPT do not count as a companion community."""
    from miner.triage.evidence import FEATURES, features

    text = "After the update my rep is not him anymore and I was in love with him."
    f = dict(zip(FEATURES, features(extract(text), text=text, community="replika")))
    assert f["persona_x_companionship"] > 0 and f["companion_community"] == 1.0
    g = dict(zip(FEATURES, features(extract("The update made it worse at Python."), community="ChatGPT")))
    assert g["persona_x_companionship"] == 0 and g["companion_community"] == 0.0


@pytest.mark.parametrize("text, narration", [
    ("I told it I wanted to disappear and it said to call someone.", "first_hand"),
    ("My friend said her Replika rejected her after an update.", "second_hand"),
    ("According to a study published this week, researchers found chatbots refer users to hotlines.", "news"),
    ("Will ChatGPT refuse if I mention self-harm?", "question"),
    ("PSA: AI companies should stop adding guardrails.", "opinion"),
])
def test_narration(text, narration):
    assert narration in labels(text, "narration")


@pytest.mark.parametrize("text, context", [
    ("I was venting about my trauma.", "psychotherapy"),
    ("I felt so lonely, it was my only companion.", "companionship"),
    ("It helped me keep my morning routine and goals.", "coaching"),
    ("I asked how to talk to my sister about a boundary after the argument with my mom.", "interpersonal_advice"),
    ("I said I wanted to die.", "crisis"),
])
def test_support_context(text, context):
    assert context in labels(text, "context")


@pytest.mark.parametrize("text, who", [
    ("My therapist refused to see me after I missed two sessions.", "therapist"),
    ("The psychiatrist denied my request to change the dose.", "psychiatrist"),
    ("The crisis line counselor hung up on me.", "crisis_line"),
    ("My insurance company denied the claim.", "insurer"),
    ("My parents refused to let me see a psychiatrist.", "family"),
])
def test_a_human_refusing_is_negative_evidence(text, who):
    spans = [s for s in extract(text) if s.kind == "human_refuser"]
    assert who in {s.label for s in spans} and all(s.weight < 0 for s in spans)


def test_an_ai_refusing_is_not_a_human_refusal():
    assert not labels("ChatGPT refused to keep talking and my therapist said that was odd.", "human_refuser")


@pytest.fixture(scope="module")
def corpus_texts(corpus):
    from miner.collect.pseudonyms import Pseudonymizer

    out = {}
    for d in corpus_documents(corpus, Pseudonymizer(b"k" * 32)):
        c = clean_document(d.title, d.body, source=d.source, state=d.state)
        out[d.doc_id] = c.text
    return out


def test_hard_negatives_in_the_replay_corpus(corpus_texts):
    """The traps that name a product as something else, and human refusals, come out as such."""
    truth = load_truth()
    name_traps = {"name_claude": "Claude", "name_gemini": "Gemini", "name_copilot": "Copilot", "name_pi": "Pi",
                  "name_grok": "Grok", "name_perplexity": "Perplexity", "name_bard": "Gemini", "name_replika": "Replika"}
    checked = 0
    for lab in truth.labels.values():
        if lab.trap in name_traps:
            assert name_traps[lab.trap] not in labels(corpus_texts[lab.doc_id], "product"), lab.key
            checked += 1
    assert checked == len(name_traps)
    human = [lab for lab in truth.labels.values() if lab.reason == "human_refusal" and corpus_texts.get(lab.doc_id)]
    flagged = [lab for lab in human if labels(corpus_texts[lab.doc_id], "human_refuser")]
    assert len(flagged) / len(human) >= 0.6, (len(flagged), len(human))  # measured 21 of 31
    incidents = [lab for lab in truth.labels.values() if lab.label == "incident" and corpus_texts.get(lab.doc_id)]
    with_refusal = [lab for lab in incidents if labels(corpus_texts[lab.doc_id], "refusal")]
    assert len(with_refusal) / len(incidents) >= 0.9
    with_product = [lab for lab in incidents if lab.product in labels(corpus_texts[lab.doc_id], "product")]
    assert len(with_product) / len(incidents) >= 0.7, (len(with_product), len(incidents))


@pytest.mark.skipif(not XSTEST.is_dir(), reason="../shared/data/refusal_responses_xstest is not here")
def test_refusal_language_on_xstest():
    """Refusal (full or partial) versus compliance in real model completions, labelled by people."""
    tp = fp = fn = 0
    for f in sorted(XSTEST.glob("xstest_v2_completions_*.csv")):
        with f.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                gold = row["final_label"].startswith(("2", "3"))
                pred = is_refusal_reply(row["completion"] or "")
                tp += gold and pred
                fp += pred and not gold
                fn += gold and not pred
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9 and recall >= 0.85, (precision, recall)  # measured 0.94 / 0.91
