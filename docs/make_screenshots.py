"""Screenshots of the annotators' web app for the README (docs/webapp-*.png).

    PYTHONPATH=. .venv/bin/python docs/make_screenshots.py [--warehouse data/warehouse.duckdb]

Works on a copy of the warehouse (default: a slice of the bundled replay corpus, processed
here), adds two demo annotators, labels a few items as both so the progress page has
something to show, and photographs each view in headless Chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("MINER_SECRET", "screenshots-only")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from playwright.sync_api import sync_playwright  # noqa: E402

from miner.collect.pseudonyms import Pseudonymizer  # noqa: E402
from miner.collect.store import save_documents  # noqa: E402
from miner.core.config import installation_secret  # noqa: E402
from miner.core.db import Warehouse  # noqa: E402
from miner.pipeline import process  # noqa: E402
from miner.replay.corpus import load_corpus  # noqa: E402
from miner.replay.load import corpus_documents  # noqa: E402
from miner.triage import annotators, worklist  # noqa: E402
from miner.triage.codebook import Label  # noqa: E402
from miner.web.app import BackgroundServer  # noqa: E402

OUT = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def build(path: Path) -> None:
    with Warehouse.open(path) as wh:
        docs = [d for d in corpus_documents(load_corpus(), Pseudonymizer(installation_secret(path)))]
        with wh.transaction():
            save_documents(wh, docs[::6], "run_screenshots")
    process(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", type=Path, help="a processed warehouse to copy (default: build one)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "w.duckdb"
    if args.warehouse:
        shutil.copy(args.warehouse, path)
    else:
        build(path)
    with Warehouse.open(path) as wh:
        token = annotators.add(wh, "maria")
        annotators.add(wh, "sam")
        maria, sam = annotators.get(wh, "maria"), annotators.get(wh, "sam")
        wh.execute("INSERT INTO overlap_items SELECT doc_id, 2, now() FROM v_queue_all ORDER BY position LIMIT 6")
        for i in range(6):  # both label the first six (overlap), with one disagreement
            for who, lab in ((maria, Label("incident")), (sam, Label("not", reason="human_refusal") if i == 2
                                                          else Label("incident"))):
                d = worklist.next_for(wh, who, all_documents=True)
                worklist.submit_label(wh, who.name, d, lab, key=f"{who.name}{i}", seen="")
    with BackgroundServer(path, all_documents=True) as url, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp / "profile"), executable_path="/usr/bin/chromium",
                                                   args=ARGS, headless=True, viewport={"width": 1280, "height": 860})
        page = ctx.new_page()
        page.goto(url + "/login")
        page.fill("#token", token)
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.screenshot(path=OUT / "webapp-queue.png")
        for k in ("c", "1", "f", "3"):
            page.keyboard.press(k)
        page.keyboard.press("?")
        page.screenshot(path=OUT / "webapp-codebook.png")
        page.goto(url + "/clusters")
        page.screenshot(path=OUT / "webapp-clusters.png")
        first = page.get_attribute("#cluster-table tbody tr[data-href]", "data-href")
        page.goto(url + first)
        page.screenshot(path=OUT / "webapp-cluster.png")
        page.goto(url + "/progress")
        page.screenshot(path=OUT / "webapp-progress.png")
        ctx.close()
    print("wrote", ", ".join(sorted(p.name for p in OUT.glob("webapp-*.png"))))


if __name__ == "__main__":
    main()
