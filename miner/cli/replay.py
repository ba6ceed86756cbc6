"""``miner replay serve``: run the bundled replay server in the foreground."""

from __future__ import annotations

import click

from miner.cli import main
from miner.cli.common import PORT
from miner.replay.server import RateWindow, ReplayOptions, serve_forever


@main.group()
def replay() -> None:
    """The offline replay of Reddit and NewsAPI over the bundled corpus."""


@replay.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=PORT)
@click.option("--rpm", type=int, default=None, help="Enforce this many Reddit requests per minute (429 beyond).")
@click.option("--news-daily-limit", type=int, default=None, help="NewsAPI requests allowed before rateLimited.")
def serve(host: str, port: int, rpm: int | None, news_daily_limit: int | None) -> None:
    """Serve the replay corpus; point a harvest at it with --reddit-url/--newsapi-url."""
    options = ReplayOptions(rate=RateWindow(rpm * 10, 600.0) if rpm else None, news_daily_limit=news_daily_limit)
    serve_forever(host, port, options)


@replay.command("labels")
def labels() -> None:
    """Print the replay corpus's ground truth as a labels CSV (doc_id,label,incident).

    So that ``miner plan evaluate PLAN --labels labels.csv`` can be tried without labelling
    anything: ``miner replay labels > labels.csv``.
    """
    import csv
    import sys

    from miner.replay.truth import load_truth

    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["doc_id", "label", "incident"])
    for doc_id, lab in sorted(load_truth().labels.items()):
        out.writerow([doc_id, lab.label, lab.incident or ""])
