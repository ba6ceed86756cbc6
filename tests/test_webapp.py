"""The annotators' web app in a real headless Chromium (Playwright), over a warehouse built from
the replay corpus with the real model: keyboard labelling, previous/next and undo, cluster
labels with confirmation and undo, content warnings, opt-outs and break reminders, several
annotators at once, and bad input. Every test checks the warehouse afterwards.

Chromium comes from Debian (`.ci/apt-packages`). Without /usr/bin/chromium these tests fail in
CI and are skipped, with the reason, on a developer machine."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest

from miner.collect.pseudonyms import Pseudonymizer
from miner.collect.store import save_documents
from miner.core.config import installation_secret
from miner.core.db import Warehouse
from miner.pipeline import process
from miner.replay.load import corpus_documents
from miner.replay.truth import load_truth
from miner.triage import annotators, worklist
from miner.triage.care import flag_pending
from miner.triage.codebook import Label
from miner.web.app import BackgroundServer

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NAMES = ("alice", "bob", "carol")


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing at /usr/bin/chromium: .ci/run must install .ci/apt-packages")
    pytest.skip("browser tests need Chromium at /usr/bin/chromium (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def base(tmp_path_factory, corpus):
    """A processed warehouse: a third of the items the ground truth knows plus some background, three
    annotators and one whose token has expired."""
    truth = load_truth()
    path = tmp_path_factory.mktemp("webapp") / "warehouse.duckdb"
    with Warehouse.open(path) as wh:
        docs = list(corpus_documents(corpus, Pseudonymizer(installation_secret(path))))
        keep = [d for d in docs if d.doc_id in truth.labels][::3] + [d for d in docs if d.doc_id not in truth.labels][::80]
        with wh.transaction():
            save_documents(wh, keep, "run_test")
    process(path)
    with Warehouse.open(path) as wh:
        tokens = {n: annotators.add(wh, n) for n in NAMES}
        tokens["dana"] = annotators.add(wh, "dana", expires_days=-1)
        flag_pending(wh)
        cats = dict(wh.rows("SELECT q.doc_id, f.categories FROM v_queue_all q JOIN care_flags f USING (doc_id)"))
    return {"path": path, "tokens": tokens, "cats": cats}


class Site:
    """A copy of the warehouse served on a free port; ``db()`` stops the app and opens the file."""

    def __init__(self, path: Path, tokens: dict) -> None:
        self.path, self.tokens = path, tokens
        self.server = BackgroundServer(path, all_documents=True)
        self.url = self.server.__enter__()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.server.__exit__(None, None, None)
            self.running = False

    def db(self) -> Warehouse:
        self.stop()
        return Warehouse.open(self.path, read_only=True)


@pytest.fixture
def site(base, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copy(base["path"], path)
    s = Site(path, base["tokens"])
    yield s
    s.stop()


@pytest.fixture(scope="module")
def pw():
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def browser(p, tmp: Path | None = None):
    """A fresh Chromium profile (its own cookies): one per annotator."""
    return p.chromium.launch_persistent_context(str(tmp or tempfile.mkdtemp()), executable_path=str(CHROMIUM),
                                                args=ARGS, headless=True, viewport={"width": 1280, "height": 900})


def sign_in(ctx, url: str, token: str):
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.goto(url + "/next")
    page.fill("#token", token)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def csrf(html: str) -> str:
    """The session-bound token a page's forms carry."""
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def http_client(url: str, token: str, *, next_url: str | None = None, origin: bool = True) -> httpx.Client:
    """A signed-in HTTP client (its own cookies), signed in as a browser does: the sign-in page, then its form."""
    c = httpx.Client(base_url=url, headers={"origin": url} if origin else {}, follow_redirects=False)
    data = {"token": token, "csrf": csrf(c.get("/login").text), **({"next": next_url} if next_url else {})}
    assert c.post("/login", data=data).status_code == 303
    return c


def doc_on(page) -> str:
    return page.inner_text("#doc-id")


def press(page, *keys: str) -> None:
    """Press keys; the last one submits or navigates."""
    for k in keys[:-1]:
        page.keyboard.press(k)
    with page.expect_navigation():
        page.keyboard.press(keys[-1])


def mine(wh: Warehouse, who: str) -> list[dict]:
    return wh.dicts("SELECT * FROM annotations WHERE annotator = ? ORDER BY annotation_id", [who])


# -- keyboard -------------------------------------------------------------------------------------
def test_items_are_labelled_with_the_keyboard_codebook_fields_included(site, pw, capsys):
    ctx = browser(pw)
    page = sign_in(ctx, site.url, site.tokens["alice"])
    first = doc_on(page)
    for k in ("c", "5", "f", "3", "1", "Escape", "p", "1", "t"):
        page.keyboard.press(k)
    product = page.input_value("#product")
    assert product and page.input_value("#first_hand") == "yes"
    t0 = time.perf_counter()
    press(page, "a")
    trips = [time.perf_counter() - t0]
    assert "Saved: incident" in page.inner_text("#flashes")
    second = doc_on(page)
    t0 = time.perf_counter()
    press(page, "1")  # not, reason 1 = human refusal, saved at once
    trips.append(time.perf_counter() - t0)
    third = doc_on(page)
    for _ in range(3):
        t0 = time.perf_counter()
        press(page, "u")
        trips.append(time.perf_counter() - t0)
    ctx.close()
    with capsys.disabled():
        print(f"\nlabel round trip (key -> next item drawn): median {sorted(trips)[len(trips) // 2] * 1000:.0f} ms")

    with site.db() as wh:
        rows = mine(wh, "alice")
    assert len({first, second, third}) == 3 and [r["doc_id"] for r in rows][:3] == [first, second, third]
    assert len(rows) == 5 and len({r["doc_id"] for r in rows}) == 5  # five items, each once
    a, b, c = rows[:3]
    assert (a["decision"], a["context"], sorted(a["form"]), a["product"], a["first_hand"]) == \
        ("incident", "crisis", ["hard_refusal", "resource_referral"], product, True)
    assert (b["decision"], b["reason"]) == ("not", "human_refusal")
    assert c["decision"] == "unsure" and c["reason"] is None
    assert all(r["batch_id"].startswith("w_") for r in rows)


def test_previous_next_and_undo_from_the_keyboard(site, pw):
    ctx = browser(pw)
    page = sign_in(ctx, site.url, site.tokens["bob"])
    d1 = doc_on(page)
    press(page, "a")
    d2 = doc_on(page)
    press(page, "r")
    press(page, "k")
    assert doc_on(page) == d2 and "You labelled this not" in page.inner_text("#mine")
    press(page, "k")
    assert doc_on(page) == d1 and "You labelled this incident" in page.inner_text("#mine")
    press(page, "j")
    assert doc_on(page) == d2
    press(page, "z")  # undo the latest label: d2's
    assert doc_on(page) == d2 and "Undone" in page.inner_text("#flashes")
    assert page.query_selector("#mine") is None
    press(page, "u")
    ctx.close()
    with site.db() as wh:
        rows = mine(wh, "bob")
        current = dict(wh.rows("SELECT doc_id, decision FROM v_annotations_current WHERE annotator = 'bob'"))
        undone = wh.scalar("SELECT count(*) FROM annotation_undos WHERE undone_by = 'bob'")
    assert [(r["doc_id"], r["decision"]) for r in rows] == [(d1, "incident"), (d2, "not"), (d2, "unsure")]
    assert current == {d1: "incident", d2: "unsure"} and undone == 1  # append-only: the undone row stays


def test_a_cluster_is_labelled_after_confirmation_and_undone(site, pw):
    ctx = browser(pw)
    page = sign_in(ctx, site.url, site.tokens["carol"])
    page.goto(site.url + "/clusters")
    page.keyboard.press("j")
    press(page, "Enter")
    cid = re.search(r"k\d+", page.inner_text("h1")).group(0)
    size = int(page.inner_text("#cluster-size"))
    press(page, "1")
    assert f"{size} items" in page.inner_text("#confirm-text") and "human refusal" in page.inner_text("#confirm-text")
    press(page, "Escape")  # cancel: nothing written
    assert page.url.endswith(f"/clusters/{cid}")
    press(page, "1")
    press(page, "y")
    assert f"Labelled {size} items of {cid}" in page.inner_text("#flashes")
    assert page.query_selector("#my-batches") is not None
    press(page, "z")
    assert "Undone: the cluster label" in page.inner_text("#flashes")
    ctx.close()
    with site.db() as wh:
        members = {d for (d,) in wh.rows("SELECT doc_id FROM cluster_members WHERE cluster_id = ?", [cid])}
        rows = mine(wh, "carol")
        current = wh.scalar("SELECT count(*) FROM v_annotations_current WHERE annotator = 'carol'")
        undone = wh.rows("SELECT batch_id FROM annotation_undos")
    assert len(members) == size and {r["doc_id"] for r in rows} == members and len(rows) == size
    assert {(r["decision"], r["reason"], r["cluster_id"]) for r in rows} == {("not", "human_refusal", cid)}
    assert undone == [(rows[0]["batch_id"],)] and current == 0


# -- care -----------------------------------------------------------------------------------------
def test_codebook_warnings_blur_and_opt_outs(site, pw, base):
    flagged = sorted(d for d, c in base["cats"].items() if "suicide" in c)
    plain = sorted(set(base["cats"]) - set(flagged))
    assert flagged, "the test corpus has items about suicide"
    ctx = browser(pw)
    page = sign_in(ctx, site.url, site.tokens["alice"])
    page.keyboard.press("?")
    assert page.is_visible("#codebook") and "resource referral" in page.inner_text("#codebook")
    page.keyboard.press("Escape")
    assert not page.is_visible("#codebook")

    page.goto(f"{site.url}/item/{flagged[0]}")
    assert "suicide" in page.inner_text("#content-warning")
    assert "blurred" in page.get_attribute("#text", "class")
    page.keyboard.press("v")
    assert "blurred" not in page.get_attribute("#text", "class")
    unflagged = [d for d in plain if not base["cats"][d]]
    page.goto(f"{site.url}/item/{unflagged[0]}")
    assert page.query_selector("#content-warning") is None and "blurred" not in page.get_attribute("#text", "class")

    page.goto(site.url + "/settings")
    page.check("input[name=opt_out][value=suicide]")
    with page.expect_navigation():
        page.click("#settings-form button[type=submit]")
    page.goto(f"{site.url}/item/{flagged[0]}")
    assert "chose not to read" in page.inner_text("#held")
    page.goto(site.url + "/next")
    seen = []
    for _ in range(8):
        seen.append(doc_on(page))
        press(page, "3")
    ctx.close()
    assert not set(seen) & set(flagged)
    with site.db() as wh:
        assert annotators.get(wh, "alice").opt_out == ["suicide"]


def test_a_break_reminder_appears_after_the_configured_time(site, pw):
    ctx = browser(pw)
    page = sign_in(ctx, site.url, site.tokens["bob"])
    page.goto(site.url + "/settings")
    page.fill("#break_minutes", "0.15")
    with page.expect_navigation():
        page.click("#settings-form button[type=submit]")
    page.goto(site.url + "/next")
    assert not page.is_visible("#break")
    page.wait_for_selector("#break", state="visible", timeout=20000)
    with page.expect_navigation():
        page.click("#break-take")
    assert "Break started" in page.inner_text("main")
    page.goto(site.url + "/next")
    assert not page.is_visible("#break")  # the clock restarted
    ctx.close()


# -- several people -------------------------------------------------------------------------------
def test_several_annotators_at_once_store_every_label_exactly_once(site, pw):
    n_each = 6
    shown: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                ctx = browser(p)
                page = sign_in(ctx, site.url, site.tokens[name])
                docs = []
                for i in range(n_each):
                    docs.append(doc_on(page))
                    with page.expect_navigation():
                        page.keyboard.press("u")
                        page.keyboard.press("u")  # a double key press: the second must not count
                    page.wait_for_selector("#doc-id")
                shown[name] = docs
                ctx.close()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in NAMES]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not errors, errors
    with site.db() as wh:
        rows = wh.rows("SELECT annotator, doc_id, count(*) FROM annotations GROUP BY ALL")
        forms = wh.scalar("SELECT count(*) FROM web_submissions")
    got = {(a, d): n for a, d, n in rows}
    assert all(n == 1 for n in got.values()), "a label was stored twice"
    assert set(got) == {(a, d) for a, docs in shown.items() for d in docs}, "a label was lost"
    assert len(got) == forms == n_each * len(NAMES)
    everyone = [d for docs in shown.values() for d in docs]
    assert len(set(everyone)) == len(everyone), "two people were given the same item"


def test_racing_double_submits_write_once(site):
    """Requests racing each other from several threads: the same form sent twice at the same
    moment, for several annotators at once; every label is stored exactly once."""
    clients = {name: http_client(site.url, site.tokens[name]) for name in NAMES}
    sent: list[tuple[str, str]] = []
    lock = threading.Lock()

    def one(name: str) -> None:
        c = clients[name]
        for _ in range(5):
            doc = c.get("/next").headers["location"].removeprefix("/item/")
            html = c.get(f"/item/{doc}").text.split('id="label-form"', 1)[1]
            form = {k: re.search(rf'name="{k}" value="([^"]*)"', html).group(1)
                    for k in ("key", "seen", "others_seen", "csrf")}
            form["decision"] = "not"
            results = []
            racers = [threading.Thread(target=lambda: results.append(c.post(f"/item/{doc}", data=form).status_code))
                      for _ in range(2)]
            for r in racers:
                r.start()
            for r in racers:
                r.join()
            assert results == [303, 303]
            with lock:
                sent.append((name, doc))

    threads = [threading.Thread(target=one, args=(n,)) for n in NAMES]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    with site.db() as wh:
        rows = wh.rows("SELECT annotator, doc_id, count(*) FROM annotations GROUP BY ALL")
    assert len(sent) == 15 and sorted((a, d) for a, d, _ in rows) == sorted(sent)
    assert all(n == 1 for *_, n in rows)


def test_overlap_items_reach_a_second_annotator_and_claims_keep_people_apart(base, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copy(base["path"], path)
    with Warehouse.open(path) as wh:
        alice, bob, carol = (annotators.get(wh, n) for n in NAMES)
        a1 = worklist.next_for(wh, alice, all_documents=True)
        b1 = worklist.next_for(wh, bob, all_documents=True)
        assert a1 and b1 and a1 != b1
        assert worklist.next_for(wh, alice, all_documents=True) == a1  # a reload keeps the same item
        wh.execute("INSERT INTO overlap_items VALUES (?, 2, now())", [a1])
        worklist.submit_label(wh, "alice", a1, Label("incident"), key="k1", seen="")
        worklist.submit_label(wh, "bob", b1, Label("not", reason="off_topic"), key="k2", seen="")
        assert worklist.next_for(wh, bob, all_documents=True) == a1  # overlap: bob sees what alice labelled
        worklist.submit_label(wh, "bob", a1, Label("not", reason="no_refusal"), key="k3", seen="")
        assert worklist.next_for(wh, carol, all_documents=True) != a1  # two annotators were asked for
        # a claim lapses: an item left open for too long goes to someone else
        c1 = worklist.next_for(wh, carol, all_documents=True)
        wh.execute("UPDATE web_claims SET expires_at = now() - INTERVAL 1 MINUTE WHERE doc_id = ?", [c1])
        assert worklist.next_for(wh, alice, all_documents=True) == c1
        kappa = wh.dicts("SELECT * FROM v_agreement WHERE measure = 'cohen_kappa'")
    assert kappa and kappa[0]["n_items"] == 1 and kappa[0]["observed"] == 0


def test_opted_out_categories_never_come_up(base, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copy(base["path"], path)
    cats = base["cats"]
    with Warehouse.open(path) as wh:
        who = annotators.update_settings(wh, "carol", opt_out=["suicide", "self_harm"])
        got = []
        for i in range(40):
            d = worklist.next_for(wh, who, all_documents=True)
            if d is None:
                break
            got.append(d)
            worklist.submit_label(wh, "carol", d, Label("unsure"), key=f"o{i}", seen="")
        held = worklist.progress(wh, who, all_documents=True)["held_back"]
    assert len(got) == 40 and not [d for d in got if {"suicide", "self_harm"} & set(cats.get(d, []))]
    assert held == sum(1 for c in cats.values() if {"suicide", "self_harm"} & set(c))


# -- bad input ------------------------------------------------------------------------------------
def test_bad_input_gets_a_clear_message_and_writes_nothing_twice(site, pw):
    ctx = browser(pw)
    page = sign_in(ctx, site.url, site.tokens["alice"])

    resp = page.goto(site.url + "/item/reddit:t3_doesnotexist")
    assert resp.status == 404 and "no such document" in page.inner_text("#error")
    resp = page.goto(site.url + "/clusters/k9999")
    assert resp.status == 404 and "no such cluster" in page.inner_text("#error")

    # a double submit: the same page's form sent twice
    page.goto(site.url + "/next")
    double = doc_on(page)
    statuses = page.evaluate("""async () => {
        const f = document.querySelector('#label-form'); const body = new URLSearchParams(new FormData(f));
        body.set('decision', 'not'); body.set('reason', 'off_topic');
        const a = await fetch(f.action, {method: 'POST', body}); const b = await fetch(f.action, {method: 'POST', body});
        return [a.status, b.status, (await b.text()).includes('Already saved')]; }""")
    assert statuses == [200, 200, True]

    # a stale page: the same item open in two tabs, labelled in one, then in the other
    page.goto(site.url + "/next")
    stale = doc_on(page)
    other = ctx.new_page()
    other.goto(f"{site.url}/item/{stale}")
    press(page, "a")
    press(other, "r")
    assert "out of date" in other.inner_text("#flashes") and doc_on(other) == stale
    assert "You labelled this incident" in other.inner_text("#mine")

    # signed out in one tab while the other still shows an item: that label is not saved
    page.goto(site.url + "/next")
    lost = doc_on(page)
    with other.expect_navigation():
        other.click("header form[action='/logout'] button")
    press(page, "a")
    assert "not saved" in page.inner_text("#login-error")

    # a form posted from another site is refused
    assert page.request.post(f"{site.url}/item/{lost}", form={"decision": "incident", "key": "x", "seen": ""},
                             headers={"origin": "http://evil.example"}).status == 403
    ctx.close()

    ctx = browser(pw)
    page = ctx.new_page()
    for token, message in ((site.tokens["dana"], "expired"), ("mt_nonsense", "not valid")):
        page.goto(site.url + "/login")
        page.fill("#token", token)
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert message in page.inner_text("#login-error")
    ctx.close()

    with site.db() as wh:
        rows = mine(wh, "alice")
        assert [(r["doc_id"], r["decision"]) for r in rows] == [(double, "not"), (stale, "incident")]
        assert not wh.scalar("SELECT count(*) FROM annotations WHERE annotator = 'dana'")


def test_cluster_and_undo_forms_refuse_stale_doubled_and_foreign_submits(base, tmp_path):
    path = tmp_path / "w.duckdb"
    shutil.copy(base["path"], path)
    with Warehouse.open(path) as wh:
        cid, size = wh.rows("SELECT cluster_id, count(*) FROM cluster_members WHERE cluster_id IS NOT NULL "
                            "GROUP BY ALL ORDER BY 2 DESC, 1 LIMIT 1")[0]
        lab = Label("not", reason="human_refusal")
        stale = worklist.submit_cluster(wh, "alice", cid, lab, key="c1", size_seen=size - 1)
        assert stale.status == "stale" and f"{size - 1} members then, {size} now" in stale.message
        assert not wh.scalar("SELECT count(*) FROM annotations")
        done = worklist.submit_cluster(wh, "alice", cid, lab, key="c2", size_seen=size)
        again = worklist.submit_cluster(wh, "alice", cid, lab, key="c2", size_seen=size)
        assert (done.status, done.written, again.status) == ("saved", size, "duplicate")
        assert wh.scalar("SELECT count(*) FROM annotations") == size
        assert worklist.submit_undo(wh, "bob", done.batch_id, key="u1").status == "refused"
        assert worklist.submit_undo(wh, "alice", done.batch_id, key="u2").status == "saved"
        assert worklist.submit_undo(wh, "alice", done.batch_id, key="u2").status == "duplicate"
        assert worklist.submit_undo(wh, "alice", done.batch_id, key="u3").status == "stale"
        assert wh.scalar("SELECT count(*) FROM annotation_undos") == 1
        assert not wh.scalar("SELECT count(*) FROM v_annotations_current")


def test_the_app_lets_go_of_the_warehouse_while_nobody_is_annotating(base, tmp_path):
    """A nightly harvest (another process) can write while the app is idle; a request meanwhile
    is told the warehouse is busy, and the app picks up again afterwards."""
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    shutil.copy(base["path"], path)
    with BackgroundServer(path, all_documents=True, idle_close=0.5) as url:
        c = http_client(url, base["tokens"]["alice"])
        time.sleep(1.5)
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sys; from miner.core.db import Warehouse; w = Warehouse.open(sys.argv[1]); "
             "print('open', flush=True); sys.stdin.readline(); w.close()", str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        try:
            assert holder.stdout.readline().strip() == "open"
            busy = c.get("/progress")
            assert busy.status_code == 503 and "busy" in busy.text
        finally:
            holder.communicate("\n", timeout=30)
        assert c.get("/progress").status_code == 200
