"""How close to Reddit's rate limit a harvest runs, and whether it ever gets a 429.

The replay server enforces Reddit's limit (100 requests a minute, counted over 10-minute
windows: 1,000 per 600 s) scaled down in time by --scale, and the harvest paces itself at
the plan's 100 requests/minute scaled the same way. It harvests the paper's Reddit queries
into fresh warehouses until --requests requests were sent, then prints the achieved rate as
a share of the limit and the number of 429s (target: >= 90%, zero).

    .venv/bin/python bench/harvest_rate.py [--scale 10] [--requests 2500]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("MINER_SECRET", "bench")

from miner.collect.harvest import Harvester  # noqa: E402
from miner.collect.pseudonyms import Pseudonymizer  # noqa: E402
from miner.collect.sources.reddit import RedditSource  # noqa: E402
from miner.collect.store import start_run  # noqa: E402
from miner.core.config import REPLAY_REDDIT, installation_secret  # noqa: E402
from miner.core.db import Warehouse  # noqa: E402
from miner.plan.plan import expand, load_plan  # noqa: E402
from miner.replay.server import RateWindow, ReplayOptions, ReplayServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=10.0, help="time compression (10: a 600 s window lasts 60 s)")
    ap.add_argument("--requests", type=int, default=2500)
    args = ap.parse_args()
    window = 600.0 / args.scale
    per_window = 1000
    limit_per_s = per_window / window
    plan = load_plan(ROOT / "queries" / "paper.toml")
    queries = [q for q in expand(plan) if q.source == "reddit"]
    options = ReplayOptions(rate=RateWindow(requests=per_window, seconds=window))
    with ReplayServer(options=options) as server, tempfile.TemporaryDirectory() as tmp:
        reddit = RedditSource(REPLAY_REDDIT, base_url=server.url,
                              requests_per_minute=plan.budget.reddit_requests_per_minute * args.scale,
                              window_seconds=int(window))
        start = time.monotonic()
        harvests = 0
        while server.stats["requests"] < args.requests:
            path = Path(tmp) / f"w{harvests}.duckdb"
            with Warehouse.open(path) as wh:
                run = start_run(wh, plan, endpoint="replay")
                h = Harvester(wh, plan, run, Pseudonymizer(installation_secret(path)), reddit=reddit)
                for q in queries:
                    h.run_query(q)
                    if server.stats["requests"] >= args.requests:
                        break
            harvests += 1
        elapsed = time.monotonic() - start
        sent = server.stats["requests"]
    rate = sent / elapsed
    print(f"limit: {per_window} requests per {window:.0f} s window = {limit_per_s:.2f}/s "
          f"(Reddit's 100/min scaled x{args.scale:g})")
    print(f"sent: {sent} requests in {elapsed:.1f} s over {harvests} harvests of the paper plan")
    print(f"achieved: {rate:.2f} requests/s = {rate / limit_per_s:.1%} of the limit")
    print(f"429 responses: {server.stats['429']}")


if __name__ == "__main__":
    main()
