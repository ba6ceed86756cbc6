"""Exports carry anonymized narratives and codes only, refuse what fails the privacy checks,
and leak no planted PII, source id or URL of the replay corpus."""

from __future__ import annotations

import csv
import json
import re

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from miner.cli import main
from miner.core.db import Warehouse
from miner.incidents import checks, incidents, pii
from miner.incidents.export import export
from miner.plan.plan import load_plan
from tests.helpers import harvest, put_documents

SOURCE = ("After my dad died I talked to ChatGPT every night, and last week it told me it could not continue "
          "this conversation and gave me a crisis line instead of listening to me.")
GOOD = ("A grieving adult used a chatbot nightly after a parent died; one evening the chatbot ended the talk "
        "and offered a helpline, which felt like being dismissed.")


def read(path, fmt) -> list[dict]:
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))
    if fmt == "jsonl":
        return [json.loads(line) for line in open(path, encoding="utf-8")]
    return pq.read_table(path).to_pylist()


@pytest.fixture
def three(wh):
    put_documents(wh, {"reddit:t3_ok1": SOURCE, "reddit:t3_cp1": SOURCE + " (repost)", "reddit:t3_no1": SOURCE})
    good = incidents.create_incident(wh, ["reddit:t3_ok1"], codes={
        "product": "ChatGPT", "support_context": "crisis", "refusal_form": ["resource_referral"]})
    incidents.set_narrative(wh, good, GOOD)
    copied = incidents.create_incident(wh, ["reddit:t3_cp1"])
    incidents.set_narrative(wh, copied, "They said it could not continue this conversation and gave me a crisis line.")
    empty = incidents.create_incident(wh, ["reddit:t3_no1"])
    return good, copied, empty


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_writes_passing_incidents_and_says_what_it_left_out(wh, wh_path, three, tmp_path, fmt):
    good, copied, empty = three
    wh.close()
    out = tmp_path / f"inc.{fmt}"
    res = CliRunner().invoke(main, ["export", "incidents", "--format", fmt, "--out", str(out),
                                    "--warehouse", str(wh_path)])
    assert res.exit_code == 0, res.output
    assert "1 incident written" in res.output and "2 left out" in res.output
    assert f"left out {copied}: searchable_source" in res.output
    assert f"left out {empty}: narrative: no narrative yet" in res.output
    (row,) = read(out, fmt)
    assert row["incident_id"] == good and row["narrative"] == GOOD and row["product"] == "ChatGPT"
    assert row["refusal_form"] in ("resource_referral", ["resource_referral"])
    assert str(row["n_documents"]) == "1" and row["first_month"] == "2024-05"
    text = out.read_bytes().decode("utf-8", "replace")
    assert "t3_ok1" not in text and "reddit.com" not in text and "draft" not in text


def test_unreviewed_quasi_identifiers_keep_an_incident_out_until_reviewed(wh, three, tmp_path):
    good = three[0]
    incidents.set_narrative(wh, good, GOOD + " They live in a small town and have Kleine-Levin syndrome.")
    res = export(wh, "incidents", "jsonl", tmp_path / "a.jsonl")
    assert res.written == 0 and res.left_out[0][0] == good and "quasi_identifier" in res.left_out[0][1]
    assert len(checks.review_flags(wh, good, by="ann")) >= 2
    assert export(wh, "incidents", "jsonl", tmp_path / "b.jsonl").written == 1


def test_scenarios_export_their_condensed_narrative_with_aggregated_codes(wh, three, tmp_path):
    good, copied, _ = three
    incidents.set_codes(wh, copied, product="Claude", support_context="companionship")
    ok = incidents.create_scenario(wh, "Hotline instead of listening", [good, copied],
                                   "Two people seeking comfort were redirected to helplines and felt dismissed.")
    incidents.create_scenario(wh, "Unwritten", [good])
    res = export(wh, "scenarios", "jsonl", tmp_path / "s.jsonl")
    assert res.written == 1 and [i for i, _ in res.left_out] == ["scn-02"]
    (row,) = read(tmp_path / "s.jsonl", "jsonl")
    assert row["scenario_id"] == ok and row["n_incidents"] == 2 and row["products"] == ["ChatGPT", "Claude"]
    assert row["support_contexts"] == ["companionship", "crisis"]


# -- the leak test: real harvest, real ground truth --------------------------------------

@pytest.fixture(scope="module")
def truth_incidents(replay, tmp_path_factory):
    """The replay corpus harvested with the paper's plan, and one incident per ground-truth
    incident whose documents were harvested. The narrative is the anonymized draft itself (an
    annotator who rewrote nothing: the worst case for leaks) and flags are marked reviewed."""
    from miner.core.config import Endpoints
    from miner.replay.truth import load_truth

    path = tmp_path_factory.mktemp("leak") / "warehouse.duckdb"
    truth = load_truth()
    with Warehouse.open(path) as wh:
        harvest(wh, load_plan("queries/paper.toml"), Endpoints(reddit_url=replay.url, newsapi_url=replay.url))
        have = {d for (d,) in wh.rows("SELECT doc_id FROM documents WHERE state = 'ok'")}
        owned = {}
        for key, doc_ids in sorted(truth.incidents.items()):
            ids = [d for d in doc_ids if d in have]
            if ids:
                inc = incidents.create_incident(wh, ids)
                incidents.set_narrative(wh, inc, incidents.get_incident(wh, inc)["draft"])
                checks.review_flags(wh, inc)
                owned[inc] = ids
        incidents.create_scenario(wh, "All of them", list(owned), "Every harvested incident, condensed.")
    return path, truth, owned


def test_no_planted_pii_source_id_or_url_appears_in_any_export(truth_incidents, tmp_path):
    path, truth, owned = truth_incidents
    assert len(owned) >= 20
    outputs = []
    with Warehouse.open(path) as wh:
        for fmt in ("csv", "parquet", "jsonl"):
            res = export(wh, "incidents", fmt, tmp_path / f"i.{fmt}", max_shared_words=10_000)
            # Most drafts pass once copying is allowed; the rest are refused because the
            # detector still finds something in them, never exported anyway.
            assert res.written >= len(owned) // 2, res.left_out
            outputs.append((fmt, read(tmp_path / f"i.{fmt}", fmt)))
        sres = export(wh, "scenarios", "jsonl", tmp_path / "s.jsonl", max_shared_words=10_000)
        assert sres.written == 1
        # with the default N=6 every copied draft is refused, each with the reason
        strict = export(wh, "incidents", "jsonl", tmp_path / "strict.jsonl")
        assert strict.written == 0 and len(strict.left_out) == len(owned)
        assert sum("searchable_source" in why for _, why in strict.left_out) >= len(owned) // 2
        ids = wh.rows("SELECT doc_id, native_id, url, permalink, author_hash FROM documents")
    everything = "\n".join((tmp_path / n).read_bytes().decode("utf-8", "replace")
                           for n in ("i.csv", "i.parquet", "i.jsonl", "s.jsonl"))
    everything += json.dumps([r for _, rows in outputs for r in rows], default=str, ensure_ascii=False)
    # 1. planted PII of an incident's own documents never appears in its row
    pii_by_doc: dict[str, list] = {}
    for p in truth.pii:
        pii_by_doc.setdefault(p.doc_id, []).append(p)
    for _, rows in outputs:
        for row in rows:
            for doc_id in owned[row["incident_id"]]:
                for p in pii_by_doc.get(doc_id, []):
                    assert not re.search(rf"(?<!\w){re.escape(p.text)}(?!\w)", row["narrative"]), (p, row["narrative"])
    # 2. no planted string at all appears anywhere (numbers alone and product names excepted:
    #    "20 bucks" is not an age, and the products are what the study is about)
    for p in truth.pii:
        if p.text.isdigit() or p.text.lower() in pii.PRODUCTS:
            continue
        assert not re.search(rf"(?<!\w){re.escape(p.text)}(?!\w)", everything), p
    # 3. no source id, URL, permalink or author pseudonym of any harvested document
    for doc_id, native, url, permalink, author in ids:
        for s in (doc_id, native, url, permalink, author):
            assert not s or s not in everything, s
    assert "reddit.com" not in everything and "http" not in everything
