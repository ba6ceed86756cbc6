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


def _keyer(wh):
    from miner.collect.pseudonyms import Pseudonymizer
    from miner.core.config import installation_secret

    return Pseudonymizer(installation_secret(wh.path))


def test_one_placeholder_per_identifier_across_draft_and_narrative_however_it_is_spelled(wh):
    """Issue 19: the draft's phone was [PHONE_1] and the narrative's [PHONE_2]; USER_1 vs USER_2."""
    k = _keyer(wh)
    post = (f"Text me at (312) 555-0188, or ask {k.mask_handles('u/quiet_heron_22')} who saw it. "
            "Mail jon.pemberton1988@gmail.com.")
    put_documents(wh, {"reddit:t3_ph1": post}, author_hash=k.author("pemberton_jon_1988"))
    inc = incidents.create_incident(wh, ["reddit:t3_ph1"])
    draft = incidents.get_incident(wh, inc)["draft"]
    stored = incidents.set_narrative(wh, inc, "They gave 312.555.0188 and jon dot pemberton1988 at gmail dot com "
                                              "to u/Quiet_Heron_22, then to /u/quiet_heron_22 again.")
    for ph in ("[PHONE_1]", "[USER_1]", "[EMAIL_1]"):
        assert ph in draft and ph in stored, (draft, stored)
    assert not re.search(r"\[(?:PHONE|USER|EMAIL)_2\]", stored), stored
    assert "555" not in stored and "heron" not in stored.lower() and "gmail" not in stored


def test_a_source_authors_bare_username_and_a_lower_case_full_name_are_replaced(wh):
    k = _keyer(wh)
    put_documents(wh, {"reddit:t3_us1": "My brother Jon Pemberton told me to ask ChatGPT."},
                  author_hash=k.author("pemberton_jon_1988"))
    put_documents(wh, {"reddit:t1_us2": "Same thing happened to me."}, author_hash=k.author("Other_Person_7"))
    wh.execute("UPDATE documents SET thread_id = 'reddit:t3_us1' WHERE doc_id = 'reddit:t1_us2'")
    inc = incidents.create_incident(wh, ["reddit:t3_us1"])
    stored = incidents.set_narrative(wh, inc, "Pemberton_Jon_1988 says jon pemberton was told off; "
                                              "other_person_7 agreed, and later jon said so. The will to go on mattered.")
    low = stored.lower()
    assert "pemberton" not in low and "other_person_7" not in low and "jon" not in low, stored
    assert stored.count("[PERSON_1]") == 2 and "[USER_1]" in stored and "[USER_2]" in stored
    assert "The will to go on" in stored  # plain words stay
