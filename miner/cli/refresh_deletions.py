"""``miner refresh-deletions``: re-check Reddit ids at the source and purge what was deleted."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import click

from miner.cli import main
from miner.cli.common import URL, console, warehouse_option, warehouse_path
from miner.core.config import Endpoints
from miner.core.errors import MinerError
from miner.pipeline import refresh_deletions
from miner.replay.server import ReplayServer


@main.command("refresh-deletions")
@click.option("--replay", is_flag=True, help="Check against the bundled replay corpus.")
@click.option("--reddit-url", type=URL, default=None, help="Send Reddit requests to this base URL.")
@click.option("--force", is_flag=True, help="Check even if a check ran in the last 20 hours.")
@warehouse_option
def refresh_deletions_cmd(replay: bool, reddit_url: str | None, force: bool, warehouse: Path | None) -> None:
    """Re-check known Reddit ids at the source (100 per request) and purge what was deleted or removed.

    The nightly flow does this at most once a day; tombstoned documents keep their id, counts
    and lineage, lose their text everywhere (raw payloads included), and later stages skip them.
    """
    with ExitStack() as stack:
        if replay:
            reddit_url = stack.enter_context(ReplayServer()).url
        result = refresh_deletions(warehouse_path(warehouse), Endpoints(reddit_url=reddit_url), force=force,
                                   requests_per_minute=None if reddit_url else 100)
    if result.skipped:
        console.print("A deletion check ran in the last 20 hours; nothing to do (use --force to check again).")
    else:
        console.print(f"Re-checked {result.checked} documents in {result.requests} requests: "
                      f"{result.tombstoned} deleted or removed at the source, text purged.")
    if result.error:
        raise MinerError(f"the check stopped early: {result.error}; it resumes next time")
