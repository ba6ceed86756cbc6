"""``miner replay serve``: run the bundled replay server in the foreground."""

from __future__ import annotations

import click

from miner.cli import main
from miner.replay.server import RateWindow, ReplayOptions, serve_forever


@main.group()
def replay() -> None:
    """The offline replay of Reddit and NewsAPI over the bundled corpus."""


@replay.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--rpm", type=int, default=None, help="Enforce this many Reddit requests per minute (429 beyond).")
@click.option("--news-daily-limit", type=int, default=None, help="NewsAPI requests allowed before rateLimited.")
def serve(host: str, port: int, rpm: int | None, news_daily_limit: int | None) -> None:
    """Serve the replay corpus; point a harvest at it with --reddit-url/--newsapi-url."""
    options = ReplayOptions(rate=RateWindow(rpm * 10, 600.0) if rpm else None, news_daily_limit=news_daily_limit)
    serve_forever(host, port, options)
