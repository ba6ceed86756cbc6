"""``miner schedule``: the deployment it would serve, bad cron rejected, and a real served
schedule (local Prefect server, cron every minute) that harvests on its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from miner.cli import main
from miner.core.db import Warehouse, WarehouseError

ROOT = Path(__file__).resolve().parent.parent


def test_dry_run_prints_the_deployment_without_serving(wh_path):
    res = CliRunner().invoke(main, ["schedule", "queries/paper.toml", "--cron", "30 2 * * 1-5", "--paused",
                                    "--dry-run", "--warehouse", str(wh_path)])
    assert res.exit_code == 0, res.output
    assert "nightly-harvest/nightly" in res.output
    assert "30 2 * * 1-5 (UTC) paused" in res.output
    assert str((ROOT / "queries" / "paper.toml").resolve()) in res.output
    assert "process = True" in res.output  # the nightly run brings later stages up to date
    assert not wh_path.exists()  # nothing ran


def test_bad_cron_and_bad_plan_are_one_line_errors(tmp_path, wh_path):
    res = CliRunner().invoke(main, ["schedule", "queries/paper.toml", "--cron", "every night", "--dry-run",
                                    "--warehouse", str(wh_path)])
    assert res.exit_code == 2 and "--cron 'every night'" in res.output
    missing = tmp_path / "nope.toml"
    res = CliRunner().invoke(main, ["schedule", str(missing), "--dry-run", "--warehouse", str(wh_path)])
    assert res.exit_code == 2 and "nope.toml" in res.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _finished_runs(path: Path) -> list[dict]:
    """Harvest runs the served schedule finished; [] while the file is absent or busy."""
    if not path.exists():
        return []
    try:
        with Warehouse.open(path, read_only=True) as wh:
            return wh.dicts("SELECT status, flow_run_id FROM harvest_runs WHERE finished_at IS NOT NULL")
    except WarehouseError:
        return []  # the flow holds the write lock right now


@pytest.mark.slow
def test_served_schedule_runs_the_flow_on_its_own(tmp_path, wh_path):
    """Cron every minute: within two minutes the served deployment harvests the replay corpus
    without anyone starting it. Uses a local Prefect server of its own (no PREFECT_API_URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "miner", "schedule", "queries/paper.toml", "--cron", "* * * * *",
                             "--replay", "--no-process", "--port", str(_free_port()), "--warehouse", str(wh_path)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 200
        runs: list[dict] = []
        while time.monotonic() < deadline and not runs and proc.poll() is None:
            time.sleep(3)
            runs = _finished_runs(wh_path)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            out = proc.communicate(timeout=40)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out = proc.communicate()[0].decode(errors="replace")
    assert runs, out[-3000:]
    assert runs[0]["status"] == "ok" and runs[0]["flow_run_id"]
    assert "Prefect API: http://127.0.0.1:" in out
