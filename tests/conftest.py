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


def _project_copy(dest: Path) -> Path:
    """A directory that looks like a fresh clone to a command run in it: the plans, the
    saved queries and ``.venv`` (this environment), so README commands run as written."""
    import shutil
    import sys

    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "queries", dest / "queries")
    shutil.copytree(ROOT / "warehouse", dest / "warehouse")
    (dest / ".venv").symlink_to(Path(sys.prefix))
    return dest


def project_env() -> dict[str, str]:
    """The environment README commands run with: this tree's code first, this venv's tools."""
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("MINER_WAREHOUSE", "PREFECT_API_URL")}
    env.update(PYTHONPATH=str(ROOT), PATH=f"{Path(sys.prefix) / 'bin'}:{env.get('PATH', '')}", COLUMNS="200",
               NO_COLOR="1")
    return env


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``make demo`` once per session (``miner harvest queries/paper.toml --replay`` in a
    clone-like directory, ~45 s): its directory, with data/warehouse.duckdb, and its output."""
    import subprocess

    where = _project_copy(tmp_path_factory.mktemp("demo") / "clone")
    done = subprocess.run(["miner", "harvest", "queries/paper.toml", "--replay"], cwd=where, env=project_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return where, done.stdout


# What a skip needs, by a word of its reason, and the one command that provides it.
ENABLE = {
    "chromium": "sudo apt-get install chromium chromium-driver",
    "shared": "put the reference data at ../shared/data (outside git), e.g. ln -s /path/to/shared ../shared",
    "hyperscan": ".venv/bin/pip install hyperscan",
    "onnxruntime": ".venv/bin/pip install onnxruntime",
}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """End a green run by saying what did not run and how to make it run: a skip is
    otherwise easy to miss under 'passed'."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: dict[str, int] = {}
    for rep in skipped:
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    terminalreporter.section("what was skipped, and how to run it")
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        how = next((cmd for word, cmd in ENABLE.items() if word in reason.lower()), None)
        terminalreporter.write_line(f"{n} skipped: {reason}" + (f"\n    to run them: {how}" if how else ""))
