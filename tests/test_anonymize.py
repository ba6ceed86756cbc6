"""Pseudonyms are consistent inside an incident; ages and dates are coarsened; quasi-
identifiers are flagged."""

from __future__ import annotations

import re

from miner.incidents import incidents
from miner.incidents.anonymize import Pseudonyms, anonymize, quasi_identifiers
from tests.helpers import put_documents

POST = ("My therapist Dr. Aubrey Lind told me to try journaling. I'm 34 and I live in Dayton. "
        "On May 19, 2018 my brother died. My friend Carmen Ruiz says Dr. Lind is right.")
COMMENT = "Update: Dr. Lind called. Carmen Ruiz came over too. Carmen stayed till midnight."


def placeholders(text: str) -> list[str]:
    return re.findall(r"\[[A-Z]+_\d+\]", text)


def test_the_same_person_gets_the_same_placeholder_throughout_an_incident():
    p = Pseudonyms()
    a, b = anonymize(POST, p).text, anonymize(COMMENT, p).text
    for name in ("Aubrey", "Lind", "Carmen", "Ruiz", "Dayton"):
        assert name not in a + b
    lind = p.placeholder("PERSON", "Dr. Aubrey Lind")
    carmen = p.placeholder("PERSON", "Carmen Ruiz")
    assert lind != carmen
    # "Dr. Aubrey Lind" and "Dr. Lind" are one person; "Carmen" alone is Carmen Ruiz
    assert a.count(lind) == 2 and b.count(lind) == 1
    assert a.count(carmen) == 1 and b.count(carmen) == 2
    assert len(set(placeholders(a + b))) == 3  # Lind, Carmen, Dayton


def test_ages_become_bands_and_dates_their_month():
    text = anonymize(POST, Pseudonyms()).text
    assert "[AGE: 30s]" in text and "34" not in text
    assert "[DATE: May 2018]" in text and "19" not in text
    assert anonymize("im 16 and scared", Pseudonyms()).text == "im [AGE: under 18] and scared"


def test_a_narrative_written_later_reuses_the_incidents_pseudonyms(wh):
    put_documents(wh, {"reddit:t3_aaa111": POST, "reddit:t1_bbb222": COMMENT})
    inc = incidents.create_incident(wh, ["reddit:t3_aaa111", "reddit:t1_bbb222"])
    draft = incidents.get_incident(wh, inc)["draft"]
    lind = incidents.load_pseudonyms(wh, inc).placeholder("PERSON", "Lind")
    assert lind in draft and "Lind" not in draft
    stored = incidents.set_narrative(wh, inc, "After Dr. Lind suggested journaling, the writer asked a chatbot "
                                              "for help and Carmen noticed the change.")
    assert lind in stored and "Lind" not in stored and "Carmen" not in stored
    assert incidents.load_pseudonyms(wh, inc).placeholder("PERSON", "Carmen Ruiz") in stored
    # another incident numbers its own people from 1 again: maps are per incident
    put_documents(wh, {"reddit:t3_ccc333": "My sister Odile Brandt stopped talking to me."})
    other = incidents.create_incident(wh, ["reddit:t3_ccc333"])
    assert "[PERSON_1]" in incidents.get_incident(wh, other)["draft"]


def test_the_pseudonym_map_is_stored_apart_and_not_in_any_view(wh):
    put_documents(wh, {"reddit:t3_aaa111": POST})
    incidents.create_incident(wh, ["reddit:t3_aaa111"])
    assert wh.scalar("SELECT count(*) FROM pseudonym_maps WHERE original = 'dr. aubrey lind'") == 1
    views = wh.rows("SELECT sql FROM duckdb_views() WHERE NOT internal")
    assert not any("pseudonym_maps" in sql for (sql,) in views)


def test_quasi_identifiers_are_flagged_not_kept_silently():
    text = anonymize("I'm 23, I have bipolar II and Wilson's disease, and I live in Carver's Ferry, "
                     "population about 1,100, where the nearest psychiatrist is far.", Pseudonyms()).text
    kinds = {f.kind for f in quasi_identifiers(text)}
    assert {"rare_condition", "small_place", "combination"} <= kinds
    assert quasi_identifiers("ChatGPT gave me the hotline number and I closed the app.") == []
