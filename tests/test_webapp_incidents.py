"""Incidents in the annotators' web app (real headless Chromium): accepted items become an
incident with one click, the searchability check names the span a narrative copied from its
source, and a rewrite saved in the browser passes, once, however often the form is sent.
Chromium and the helpers come from tests/test_webapp.py (skipped there without Chromium)."""

from __future__ import annotations

import re
from contextlib import closing

import httpx
import pytest

from miner.collect.pseudonyms import Pseudonymizer
from miner.collect.store import save_documents
from miner.core.config import installation_secret
from miner.core.db import Warehouse
from miner.incidents.incidents import document_text
from miner.incidents.searchability import words
from miner.replay.load import corpus_documents
from miner.replay.truth import load_truth
from miner.triage import annotators
from miner.triage.annotations import label
from miner.triage.codebook import Label
from tests.test_webapp import Site, browser, csrf, http_client, pw, sign_in  # noqa: F401  (pw is a fixture)

pytestmark = pytest.mark.slow

REWRITE = ("Someone who was struggling late at night turned to a chatbot for comfort. Instead of listening, "
           "it answered with a short refusal and a list of phone numbers, and they closed the app feeling "
           "dismissed and more alone than before.")


def copied_run(text: str, n: int = 8) -> str:
    """``n`` consecutive plain lower-case words of ``text`` (no names, so anonymizing keeps them)."""
    toks = [m for m in re.finditer(r"\S+", text)]
    for i in range(len(toks) - n):
        run = toks[i:i + n]
        if all(re.fullmatch(r"[a-z]+", t.group(0)) for t in run):
            return text[run[0].start():run[-1].end()]
    raise AssertionError("no run of plain words in the document")


@pytest.fixture
def site(tmp_path, corpus):
    """A small warehouse: documents the ground truth calls incidents plus background, one annotator
    who accepted one document as an incident."""
    truth = load_truth()
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        docs = list(corpus_documents(corpus, Pseudonymizer(installation_secret(path))))
        accepted = [d for d in docs if d.doc_id in truth.labels and d.kind == "submission"
                    and len((d.body or "").split()) > 60][:3]
        with wh.transaction():
            save_documents(wh, accepted + [d for d in docs if d.doc_id not in truth.labels][::200], "run_test")
        token = annotators.add(wh, "alice")
        label(wh, accepted[0].doc_id, "alice", Label(decision="incident", product="ChatGPT"))
        source = document_text(wh, accepted[0].doc_id)
    s = Site(path, {"alice": token})
    s.doc, s.source = accepted[0].doc_id, source
    yield s
    s.stop()


def test_narrative_copying_the_source_fails_with_the_span_and_a_rewrite_passes(site, pw):  # noqa: F811
    ctx = browser(pw)
    page = sign_in(ctx, site.url, site.tokens["alice"])
    with page.expect_navigation():
        page.click("#nav-incidents")
    assert "No incidents yet" in page.inner_text("#incident-table")
    with page.expect_navigation():
        page.click("#from-annotations button")
    assert "1 new incident" in page.inner_text("#flashes")
    row = page.locator("#incident-table tbody tr").first
    incident_id = row.get_attribute("data-incident")
    assert row.locator("td").nth(2).inner_text() == "1" and "unchecked" in row.inner_text()

    with page.expect_navigation():
        row.locator("a").click()
    assert page.inner_text("#incident-id") == incident_id
    assert "ChatGPT" in page.inner_text("#codes")
    assert "narrative" in page.inner_text("#problems")  # no narrative yet

    copied = copied_run(site.source)
    page.fill("#narrative", f"In short: {copied}. That is what happened.")
    with page.expect_navigation():
        page.click("#save")
    assert "Checks: " in page.inner_text("#flashes") and "problem(s)" in page.inner_text("#flashes")
    problem = page.locator("li.problem[data-check=searchable_source]")
    span = problem.locator("q.span").inner_text()
    assert copied in span and len(words(span)) >= 8
    assert copied in page.locator("#narrative-marked mark.ev-searchable_source").inner_text()

    # the rewrite: saved once even when the form is sent twice
    page.fill("#narrative", REWRITE)
    form = {k: page.locator(f"#narrative-form input[name={k}]").get_attribute("value") for k in ("key", "seen", "csrf")}
    with page.expect_navigation():
        page.click("#save")
    assert page.inner_text("#check-status").startswith("Passed"), page.inner_text("#check")
    assert page.input_value("#narrative") == REWRITE
    again = httpx.post(f"{site.url}/incidents/{incident_id}", data={**form, "narrative": REWRITE + " Again."},
                       cookies={c["name"]: c["value"] for c in ctx.cookies()}, follow_redirects=False)
    assert again.status_code == 303
    unknown = httpx.get(f"{site.url}/incidents/inc-9999", cookies={c["name"]: c["value"] for c in ctx.cookies()})
    assert unknown.status_code == 404 and "inc-9999: no such incident" in unknown.text
    with page.expect_navigation():
        page.click("#nav-incidents")
    assert "passed" in page.locator(f"tr[data-incident={incident_id}]").inner_text()
    ctx.close()

    with site.db() as wh:
        assert wh.scalar("SELECT narrative FROM incidents WHERE incident_id = ?", [incident_id]) == REWRITE
        assert wh.rows("SELECT doc_id FROM incident_documents WHERE incident_id = ?", [incident_id]) == [(site.doc,)]
        assert wh.scalar("SELECT count(*) FROM web_submissions WHERE action = 'narrative'") == 2
        runs = wh.rows("SELECT passed FROM privacy_checks WHERE owner_id = ? ORDER BY checked_at", [incident_id])
        assert [p for (p,) in runs] == [False, True]
        assert wh.scalar("SELECT checks FROM v_incidents WHERE incident_id = ?", [incident_id]) == "passed"


def test_two_annotators_saving_the_same_narrative_never_overwrite_each_other(site):
    """The second save from a page drawn before the first is refused, its text kept in the box."""
    with closing(http_client(site.url, site.tokens["alice"], next_url="/incidents", origin=False)) as c:
        page = c.get("/incidents").text
        key = re.search(r'name="key" value="([^"]+)"', page).group(1)
        c.post("/incidents", data={"key": key, "csrf": csrf(page)})
        incident_id = re.search(r'data-incident="([^"]+)"', c.get("/incidents").text).group(1)
        html = [c.get(f"/incidents/{incident_id}").text for _ in range(2)]  # two tabs
        forms = [dict(re.findall(r'name="(key|seen|csrf)" value="([^"]+)"', h)) for h in html]
        first = c.post(f"/incidents/{incident_id}", data={**forms[0], "narrative": REWRITE})
        assert first.status_code == 303
        second = c.post(f"/incidents/{incident_id}", data={**forms[1], "narrative": "Tab two's version."})
        assert second.status_code == 409 and "someone changed this narrative" in second.text
        assert "Tab two&#39;s version." in second.text  # still in the textarea, not lost
    with site.db() as wh:
        assert wh.scalar("SELECT narrative FROM incidents WHERE incident_id = ?", [incident_id]) == REWRITE
