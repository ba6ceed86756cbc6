"""PII detection: each recognizer on sentences of its own, and recall on the replay corpus's
planted PII (the ground truth marks every planted span with its type)."""

from __future__ import annotations

import pytest

from miner.incidents import pii

CASES = [
    (pii.USER, "thanks u/anon_3f9a2b1c for the advice", "u/anon_3f9a2b1c"),
    (pii.USER, "ask /u/quiet_heron_22 about it", "/u/quiet_heron_22"),
    (pii.SUBREDDIT, "I posted this in r/CPTSD first", "r/CPTSD"),
    (pii.REDDIT_LINK, "see https://www.reddit.com/r/anxiety/comments/1abcde/my_post/ for context",
     "https://www.reddit.com/r/anxiety/comments/1abcde/my_post/"),
    (pii.REDDIT_LINK, "my old thread r/depression/comments/9zz9zz/title is gone", "r/depression/comments/9zz9zz/title"),
    (pii.URL, "I write at https://quiet-pages.example.org/posts/7.", "https://quiet-pages.example.org/posts/7"),
    (pii.URL, "my blog is quietpages.example.com if you want", "quietpages.example.com"),
    (pii.EMAIL, "email me at lena.ortiz@example.com anytime", "lena.ortiz@example.com"),
    (pii.PHONE, "text me at (312) 555-0188 tonight", "(312) 555-0188"),
    (pii.PHONE, "my number is 555-0123 if DMs are weird", "555-0123"),
    # written out to dodge filters (issue 19): a re-identifier reads these as easily as the plain forms
    (pii.EMAIL, "mail jon dot pemberton1988 at gmail dot com please", "jon dot pemberton1988 at gmail dot com"),
    (pii.EMAIL, "or jon.p [at] gmail [dot] com", "jon.p [at] gmail [dot] com"),
    (pii.URL, "my site is quietpages dot example dot com now", "quietpages dot example dot com"),
    (pii.PHONE, "call 312 555 0188 tonight", "312 555 0188"),
    (pii.PHONE, "or 3 1 2 5 5 5 0 1 8 8 if not", "3 1 2 5 5 5 0 1 8 8"),
    (pii.REDDIT_LINK, "see /comments/1abcde/my_post for it", "/comments/1abcde/my_post"),
    (pii.PERSON, "My therapist Dr. Ingrid Vale said to write it down.", "Dr. Ingrid Vale"),
    (pii.PERSON, "my sister Rosalind thinks I should stop", "Rosalind"),
    (pii.PERSON, "My brother Claude refused to believe me", "Claude"),
    (pii.PLACE, "I live alone in Millbrook Falls since June.", "Millbrook Falls"),
    (pii.PLACE, "I moved to Saskatoon for the job.", "Saskatoon"),
    (pii.AGE, "I'm 34 and I have never written this down.", "34"),
    (pii.AGE, "27M, work from home, live alone.", "27"),
    (pii.AGE, "the 42-year-old manager said", "42"),
    (pii.DATE, "He died on May 19, 2018 and it never gets easier.", "May 19, 2018"),
    (pii.DATE, "on 12 January I called the line", "12 January"),
    (pii.EMPLOYER, "I do contract analysis at Pellworth Logistics and hate it", "Pellworth Logistics"),
    (pii.EMPLOYER, "I work nights at the Tamsin & Reed warehouse", "Tamsin & Reed"),
    (pii.SCHOOL, "I'm a second year at Harlow Community College now", "Harlow Community College"),
    (pii.SCHOOL, "a researcher at the University of Westmere said", "University of Westmere"),
]


@pytest.mark.parametrize("etype,text,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_recognizer_finds_its_kind(etype, text, expected):
    found = [(e.type, e.text) for e in pii.detect(text)]
    assert (etype, expected) in found, found


@pytest.mark.parametrize("text", [
    "ChatGPT gave me the hotline again and Claude said it couldn't help.",
    "I moved from Canada to the UK last year.",
    "I've been on the same dose for two years, since January.",
    "The 988 line put me on hold for 20 minutes.",
    "I was at home. Co-workers said I looked tired.",
    "Between 2019 2020 and 2021 I called the 988 line.",
])
def test_products_countries_months_and_counts_are_not_pii(text):
    assert pii.detect(text) == []


def test_our_own_placeholders_are_never_detected_again():
    assert pii.detect("[PERSON_1] told me at [EMPLOYER_2], [AGE: 30s], on [DATE: May 2018].") == []


def test_recall_on_the_planted_pii_of_the_replay_corpus(corpus):
    """Every planted email, phone, handle, link, age, date, employer and school is found;
    names and places (left to spaCy plus context rules) at least 90%."""
    from miner.replay.corpus import field_texts
    from miner.replay.truth import load_truth

    truth = load_truth(corpus)
    texts = field_texts(corpus)
    found: dict[str, list[bool]] = {}
    detected = {}
    for p in truth.pii:
        key = (p.doc_id, p.field)
        if key not in detected:
            detected[key] = pii.detect(texts[key])
        hit = any(e.start < p.end and p.start < e.end for e in detected[key])
        found.setdefault(p.type, []).append(hit)
    recall = {t: sum(v) / len(v) for t, v in found.items()}
    for t in ("email", "phone", "handle", "url", "age", "date", "employer", "school"):
        assert recall[t] == 1.0, (t, recall)
    assert recall["name"] >= 0.9 and recall["city"] >= 0.9, recall


@pytest.mark.parametrize("etype,text,expected", [
    (pii.PHONE, "ring 0161 496 0732 after six", "0161 496 0732"),
    (pii.PHONE, "or 07700-900-461 on weekends", "07700-900-461"),
    (pii.PHONE, "call five five five 0133 tonight", "five five five 0133"),
    (pii.AGE, "ines calderwood (16) found it changed", "16"),
    (pii.PERSON, "yeah Niall came round with chips", "Niall"),
    (pii.PERSON, "Corinne Dufresne had eleven minutes left", "Corinne Dufresne"),
    (pii.PLACE, "didn't want to wake anyone in Cork, so I", "Cork"),
])
def test_spellings_found_in_the_issue_19_audit(etype, text, expected):
    assert (etype, expected) in [(e.type, e.text) for e in pii.detect(text)]


@pytest.mark.parametrize("text", [
    "Got up at 7, opened a new chat and asked again.",
    "I felt awful. Felt like being put on hold by a machine.",
    "I use Character.AI most nights.",
    "It took five minutes. Problem: the moment I get near the app I freeze.",
    "A responder, a Marine Corps veteran, stayed on the line.",
])
def test_clock_times_and_words_spacy_capitalizes_are_not_pii(text):
    assert pii.detect(text) == []


def test_the_adversarial_bench_set_is_fully_replaced_and_leaves_nothing_for_the_gate():
    """bench/pii.py's adversarial set (bare usernames, lower-case names, spelled-out contacts):
    recall >= 0.98, precision >= 0.8, and the leak gate finds nothing in what is stored."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_pii", Path(__file__).parent.parent / "bench" / "pii.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    recall, precision, left = bench.adversarial()
    assert recall >= 0.98 and precision >= 0.8 and left == 0, (recall, precision, left)


def test_a_press_outlet_or_a_game_is_not_an_employer():
    text = "According to screenshots she shared with Continental Wire Service, I lost at Catan. I work at Pellworth Logistics."
    assert [(e.type, e.text) for e in pii.detect(text) if e.type == pii.EMPLOYER] == [(pii.EMPLOYER, "Pellworth Logistics")]
