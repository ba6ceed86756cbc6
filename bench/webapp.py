"""How fast the annotators' web app answers, alone and with several annotators at once.

    PYTHONPATH=. .venv/bin/python bench/webapp.py [--warehouse data/warehouse.duckdb] [--annotators 4] [--labels 25]

Works on a copy of a processed warehouse (`make demo` makes one). Each simulated annotator
signs in and labels items through HTTP exactly as the browser does (GET the item, POST the
form, follow the redirect to the next item), sending every form twice to exercise the
double-submit guard. Prints the round-trip times (POST + next item drawn) and checks that every
label was stored exactly once and that nobody was given an item someone else held.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402

from miner.core.db import Warehouse  # noqa: E402
from miner.triage import annotators  # noqa: E402
from miner.web.app import BackgroundServer  # noqa: E402


def session(url: str, token: str) -> httpx.Client:
    """Signed in as a browser is: the sign-in page first (its form token), then the form."""
    c = httpx.Client(base_url=url, headers={"origin": url}, timeout=60)
    form_token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    c.post("/login", data={"token": token, "csrf": form_token})
    return c


def label_run(c: httpx.Client, n: int, trips: list[float], done: list[str]) -> None:
    page = c.get("/next", follow_redirects=True)
    for _ in range(n):
        if "/item/" not in str(page.url):
            return
        doc = str(page.url).split("/item/", 1)[1]
        html = page.text.split('id="label-form"', 1)[1]
        form = {k: re.search(rf'name="{k}" value="([^"]*)"', html).group(1)
                for k in ("key", "seen", "others_seen", "csrf")}
        form["decision"] = "unsure"
        t0 = time.perf_counter()
        r = c.post(f"/item/{doc}", data=form)
        page = c.get(r.headers["location"], follow_redirects=True)
        trips.append(time.perf_counter() - t0)
        c.post(f"/item/{doc}", data=form)  # the double submit: must write nothing
        done.append(doc)


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", type=Path, default=Path("data/warehouse.duckdb"))
    ap.add_argument("--annotators", type=int, default=4)
    ap.add_argument("--labels", type=int, default=25, help="labels per annotator")
    ap.add_argument("--all-documents", action="store_true")
    args = ap.parse_args()
    if not args.warehouse.exists():
        raise SystemExit(f"{args.warehouse}: no warehouse (run `make demo`, or pass --warehouse)")
    tmp = tempfile.TemporaryDirectory()  # the copy goes when the bench ends (a 1M warehouse is a GB)
    path = Path(tmp.name) / "w.duckdb"
    shutil.copy(args.warehouse, path)
    names = [f"bench{i}" for i in range(args.annotators)]
    with Warehouse.open(path) as wh:
        tokens = {n: annotators.add(wh, n) for n in names}
        queue = wh.scalar(f"SELECT count(*) FROM {'v_queue_all' if args.all_documents else 'v_queue'}")
    print(f"warehouse {args.warehouse}: {queue} items in the queue")
    with BackgroundServer(path, all_documents=args.all_documents) as url:
        solo: list[float] = []
        solo_done: list[str] = []
        label_run(session(url, tokens[names[0]]), args.labels, solo, solo_done)
        trips: dict[str, list[float]] = {n: [] for n in names}
        done: dict[str, list[str]] = {n: [] for n in names}
        clients = {n: session(url, tokens[n]) for n in names}
        t0 = time.perf_counter()
        threads = [threading.Thread(target=label_run, args=(clients[n], args.labels, trips[n], done[n])) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    together = [x for xs in trips.values() for x in xs]
    print(f"one annotator: {len(solo)} labels, round trip median {statistics.median(solo) * 1000:.0f} ms, "
          f"p99 {pct(solo, 0.99):.0f} ms")
    print(f"{args.annotators} at once: {len(together)} labels in {wall:.1f} s ({len(together) / wall:.1f} labels/s), "
          f"round trip median {statistics.median(together) * 1000:.0f} ms, p99 {pct(together, 0.99):.0f} ms")
    with Warehouse.open(path, read_only=True) as wh:
        rows = wh.rows("SELECT annotator, doc_id, count(*) FROM annotations WHERE annotator LIKE 'bench%' GROUP BY ALL")
    sent = {(n, d) for n in names for d in done[n]} | {(names[0], d) for d in solo_done}
    stored = {(a, d) for a, d, _ in rows if a in names}
    twice = sum(1 for *_, k in rows if k > 1)
    shared = len([d for n in names for d in done[n]]) - len({d for n in names for d in done[n]})
    print(f"stored exactly once: {'yes' if twice == 0 and sent <= stored else 'NO'} "
          f"({len(stored)} labels, {twice} doubled, {len(sent - stored)} lost); items given to two people: {shared}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
