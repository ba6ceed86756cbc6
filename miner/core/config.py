"""Where things live and which secrets to use: explicit argument, then environment, then default.

Secrets come only from the environment or from the installation's secret file; nothing
here logs them.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from miner.core.errors import MinerError

DEFAULT_WAREHOUSE = Path("data/warehouse.duckdb")
SECRET_FILE_NAME = "miner.secret"


def resolve_warehouse(explicit: str | os.PathLike | None = None) -> Path:
    """``--warehouse PATH``, else ``$MINER_WAREHOUSE``, else ``data/warehouse.duckdb``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("MINER_WAREHOUSE")
    return Path(env) if env else DEFAULT_WAREHOUSE


def installation_secret(warehouse: Path) -> bytes:
    """The per-installation key for pseudonymizing authors (HMAC).

    ``$MINER_SECRET`` wins; otherwise a random key is created once beside the warehouse
    (mode 0600) and reused, so the same author gets the same pseudonym in every run, and
    nobody holding only the warehouse file can recompute it from a username.
    """
    env = os.environ.get("MINER_SECRET")
    if env:
        return env.encode()
    path = warehouse.parent / SECRET_FILE_NAME
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


@dataclass(frozen=True)
class RedditCredentials:
    client_id: str
    client_secret: str
    user_agent: str

    def __repr__(self) -> str:  # never print the secret, even in a traceback
        return f"RedditCredentials(client_id={self.client_id!r}, client_secret='***', user_agent={self.user_agent!r})"


@dataclass(frozen=True)
class Endpoints:
    """How to reach the sources. A ``None`` URL means the live service."""

    reddit_url: str | None = None
    newsapi_url: str | None = None
    timeout: float = 16.0  # seconds before a slow response counts as failed (and is retried)
    pace: bool = True  # space requests at the plan's rate; off for a replay that enforces no limit
    window_seconds: int = 600  # Reddit's rate-limit window (what its x-ratelimit-reset counts down)

    @property
    def is_replay(self) -> bool:
        return self.reddit_url is not None or self.newsapi_url is not None


REPLAY_REDDIT = RedditCredentials("replay-client", "replay-secret", "refusal-miner/0.1 (replay corpus)")
REPLAY_NEWSAPI_KEY = "replay-key"


def reddit_credentials(endpoints: Endpoints) -> RedditCredentials:
    if endpoints.reddit_url:
        return REPLAY_REDDIT
    missing = [v for v in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET", "REDDIT_USER_AGENT") if not os.environ.get(v)]
    if missing:
        raise MinerError(
            f"Reddit credentials missing: set {', '.join(missing)} (see README), or run with --replay"
        )
    return RedditCredentials(
        os.environ["REDDIT_CLIENT_ID"], os.environ["REDDIT_CLIENT_SECRET"], os.environ["REDDIT_USER_AGENT"]
    )


def newsapi_key(endpoints: Endpoints) -> str:
    if endpoints.newsapi_url:
        return REPLAY_NEWSAPI_KEY
    key = os.environ.get("NEWSAPI_KEY")
    if not key:
        raise MinerError("NewsAPI key missing: set NEWSAPI_KEY (see README), or run with --replay")
    return key
