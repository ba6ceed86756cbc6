"""Shared fixtures: a replay server (the boundary standing in for Reddit and NewsAPI), a
fresh warehouse per test, and Prefect's test harness once per session."""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["MINER_SECRET"] = "test-secret-not-for-production"

from pathlib import Path

import pytest

from miner.core.config import Endpoints
from miner.core.db import Warehouse
from miner.replay.corpus import load_corpus
from miner.replay.server import ReplayServer

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def corpus():
    return load_corpus()


@pytest.fixture(scope="session")
def replay(corpus):
    """A replay server shared by tests that only read from it."""
    with ReplayServer(corpus) as server:
        yield server


@pytest.fixture
def fresh_replay(corpus):
    """A replay server of the test's own, for tests that change its clock, faults or deletions."""
    with ReplayServer(corpus) as server:
        yield server


@pytest.fixture
def endpoints(replay) -> Endpoints:
    return Endpoints(reddit_url=replay.url, newsapi_url=replay.url)


@pytest.fixture
def wh_path(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def wh(wh_path):
    with Warehouse.open(wh_path) as w:
        yield w


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect API for the whole session (starting one costs ~10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
