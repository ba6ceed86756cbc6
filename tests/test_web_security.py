"""The web app against a browser used by someone else's site (issue 19, item 7), over the real
server: raw HTTP requests for the attacks (no Origin header and an invented form key, a token
from another annotator's session, a sign-in form posted from elsewhere, ``Host: evil.example``),
and a real Chromium in which a name rebound to 127.0.0.1 is refused while labelling still works.
Every attack checks the warehouse afterwards: nothing was stored."""

from __future__ import annotations

import re

import httpx
import pytest

from miner.web.security import allowed_hosts
from tests.test_webapp import (ARGS, CHROMIUM, base, csrf, doc_on, http_client, mine, press,  # noqa: F401
                               pw, sign_in, site)

pytestmark = pytest.mark.slow


def label_form(c: httpx.Client) -> tuple[str, dict]:
    """The next item's id and its label form's hidden fields, as the page drew them."""
    doc = c.get("/next").headers["location"].removeprefix("/item/")
    html = c.get(f"/item/{doc}").text.split('id="label-form"', 1)[1]
    return doc, dict(re.findall(r'name="(key|seen|others_seen|csrf)" value="([^"]*)"', html))


def test_a_post_without_origin_and_an_invented_key_is_refused_and_stores_nothing(site):
    c = http_client(site.url, site.tokens["alice"], origin=False)
    doc, form = label_form(c)
    settings = csrf(c.get("/settings").text)
    forged = [
        (f"/item/{doc}", {"decision": "incident", "key": "invented", "seen": ""}),
        (f"/item/{doc}", {"decision": "incident", "key": "invented", "seen": "", "csrf": "0" * 64}),
        (f"/item/{doc}", {**form, "decision": "incident", "csrf": form["csrf"][:-1] + "0"}),
        ("/settings", {"blur": "off", "break_minutes": "0", "opt_out": "suicide"}),
        ("/break", {}),
        ("/logout", {}),
    ]
    for url, data in forged:
        r = c.post(url, data=data)
        assert r.status_code == 403 and "does not belong to your sign-in" in r.text, (url, r.status_code)
    assert c.get("/settings").status_code == 200  # the forged sign-out did not end the session
    ok = c.post(f"/item/{doc}", data={**form, "decision": "not", "reason": "off_topic"})
    again = c.post(f"/item/{doc}", data={**form, "decision": "not", "reason": "off_topic"}, follow_redirects=True)
    assert ok.status_code == 303 and "Already saved" in again.text  # the double-submit key still works
    assert c.post("/settings", data={"blur": "all", "break_minutes": "0", "csrf": settings}).status_code == 303
    with site.db() as wh:
        rows = mine(wh, "alice")
        opt_out = wh.scalar("SELECT opt_out FROM annotators WHERE name = 'alice'")
        blur = wh.scalar("SELECT blur FROM annotators WHERE name = 'alice'")
    assert [(r["doc_id"], r["decision"]) for r in rows] == [(doc, "not")]
    assert not opt_out and blur == "all"


def test_a_token_from_another_annotators_session_or_an_earlier_sign_in_is_refused(site):
    alice = http_client(site.url, site.tokens["alice"])
    bob = http_client(site.url, site.tokens["bob"])
    doc, alices = label_form(alice)
    bobs_doc, bobs = label_form(bob)
    r = bob.post(f"/item/{bobs_doc}", data={**bobs, "csrf": alices["csrf"], "decision": "incident"})
    assert r.status_code == 403 and "Nothing was saved" in r.text
    # alice signs in again (a new session): forms drawn under the old one are refused
    again = http_client(site.url, site.tokens["alice"])
    r = again.post(f"/item/{doc}", data={**alices, "decision": "incident"})
    assert r.status_code == 403 and "signed in again" in r.text
    # the old tab's own session still works
    assert alice.post(f"/item/{doc}", data={**alices, "decision": "incident"}).status_code == 303
    with site.db() as wh:
        assert mine(wh, "bob") == []
        assert [(r["doc_id"], r["decision"]) for r in mine(wh, "alice")] == [(doc, "incident")]


def test_the_sign_in_form_is_bound_to_the_browser_that_drew_it(site):
    """Login CSRF: another site must not sign a victim in as the attacker (their labels would be
    the attacker's)."""
    attacker = httpx.Client(base_url=site.url)
    token = csrf(attacker.get("/login").text)
    victim = httpx.Client(base_url=site.url)
    victim.get("/login")  # the victim's own pre-sign-in cookie
    for client, data in ((httpx.Client(base_url=site.url), {"token": site.tokens["carol"]}),
                         (victim, {"token": site.tokens["carol"], "csrf": token})):
        r = client.post("/login", data=data)
        assert r.status_code == 403 and "did not come from the sign-in page of this app" in r.text
        assert "miner_session" not in client.cookies
        assert 'id="token"' in r.text  # the page offers a fresh form to sign in with
    retry = victim.post("/login", data={"token": site.tokens["carol"], "csrf": csrf(r.text)})
    assert retry.status_code == 303 and "miner_session" in victim.cookies
    with site.db() as wh:
        assert wh.scalar("SELECT count(*) FROM web_sessions WHERE annotator = 'carol'") == 1


def test_requests_naming_another_host_are_refused_before_any_handler(site):
    port = site.url.rsplit(":", 1)[1]
    token = csrf(httpx.get(site.url + "/login").text)
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1:1", f"127.0.0.2:{port}", ""):
        r = httpx.get(site.url + "/login", headers={"host": host})
        assert r.status_code == 400 and r.text.count("\n") == 1, host
        assert r.text.startswith(f"Refused: Host {host!r} is not this server; open http://127.0.0.1:{port}/")
    r = httpx.post(site.url + "/login", headers={"host": "evil.example"},
                   data={"token": site.tokens["alice"], "csrf": token})
    assert r.status_code == 400 and "set-cookie" not in r.headers
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert httpx.get(site.url + "/login", headers={"host": host}).status_code == 200, host
    with site.db() as wh:
        assert not wh.scalar("SELECT count(*) FROM web_sessions")


def test_which_host_names_a_bound_address_accepts():
    assert allowed_hosts("127.0.0.1", 8787) == {"127.0.0.1:8787", "localhost:8787", "[::1]:8787"}
    assert allowed_hosts("192.0.2.7", 8787) == {"192.0.2.7:8787"}  # a LAN address: no loopback names
    assert "example.org" in allowed_hosts("example.org", 80) and "[::1]" in allowed_hosts("::1", 80)
    assert "0.0.0.0:8787" not in allowed_hosts("0.0.0.0", 8787)


def test_labelling_works_in_a_browser_and_a_rebound_name_is_refused(site, pw):
    """Chromium resolves evil.example to 127.0.0.1 (what a DNS-rebinding attacker arranges): the
    page it loads under that name gets the refusal, not the app; the real address labels as usual."""
    ctx = pw.chromium.launch_persistent_context(
        str(site.path.parent / "profile"), executable_path=str(CHROMIUM), headless=True,
        args=ARGS + ["--host-resolver-rules=MAP evil.example 127.0.0.1"])
    page = sign_in(ctx, site.url, site.tokens["alice"])
    first = doc_on(page)
    press(page, "a")
    assert "Saved: incident" in page.inner_text("#flashes")
    second = doc_on(page)
    press(page, "1")
    port = site.url.rsplit(":", 1)[1]
    evil = ctx.new_page()
    resp = evil.goto(f"http://evil.example:{port}/next")
    assert resp.status == 400 and "is not this server" in evil.inner_text("body")
    ctx.close()
    with site.db() as wh:
        rows = mine(wh, "alice")
    assert [(r["doc_id"], r["decision"], r["reason"]) for r in rows] == \
        [(first, "incident", None), (second, "not", "human_refusal")]
