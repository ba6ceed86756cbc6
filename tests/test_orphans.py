"""A killed harvest leaves no process behind (issue 19, item 5).

Prefect's temporary API server (uvicorn) used to be re-parented to PID 1 and live on after
``kill -9`` of ``miner harvest``, 4 kills out of 4. The harvest now starts it tied to its own
life (:mod:`miner.flows.watchdog`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, project_env


def session_members(sid: int) -> dict[int, str]:
    """pid -> command line of every live process in session ``sid`` (what the harvest started,
    and what they started, re-parented or not)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
            if fields[0] != "Z" and int(fields[3]) == sid:
                out[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue  # it ended while we looked
    return out


def wait_for(predicate, timeout: float, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(step)
    return predicate()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc (Linux)")
def test_a_harvest_killed_mid_run_leaves_no_prefect_server_behind(tmp_path):
    shutil.copytree(ROOT / "queries", tmp_path / "queries")
    log = tmp_path / "harvest.log"
    with log.open("w") as out:
        harvest = subprocess.Popen([sys.executable, "-m", "miner", "harvest", "queries/paper.toml", "--replay",
                                    "--warehouse", str(tmp_path / "warehouse.duckdb")], cwd=tmp_path,
                                   env=project_env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # mid-harvest: the first query has finished, its server is up and in use
        assert wait_for(lambda: "Task run 'reddit:" in log.read_text() or harvest.poll() is not None, 300), \
            log.read_text()[-2000:]
        assert harvest.poll() is None, "the harvest ended before it could be killed:\n" + log.read_text()[-2000:]
        before = session_members(harvest.pid)
        assert any("uvicorn" in cmd for cmd in before.values()), before  # the test sees the server
        os.kill(harvest.pid, signal.SIGKILL)
        harvest.wait()
        gone = wait_for(lambda: not session_members(harvest.pid), 15)
        assert gone, f"still running after the harvest was killed: {session_members(harvest.pid)}"
    finally:
        if harvest.poll() is None:
            harvest.kill()
        for pid in session_members(harvest.pid):  # never leave them running, even when the test fails
            os.kill(pid, signal.SIGKILL)


PARENT = """
import subprocess, sys, time
from miner.flows.watchdog import tied_command
child = subprocess.Popen(tied_command("http.server", "0", "--bind", "127.0.0.1"), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc (Linux)")
def test_a_tied_child_dies_with_its_parent_even_on_sigkill():
    """The mechanism both temporary servers use (``miner schedule``'s ``prefect server start`` too)."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], env=project_env(), stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        child = int(parent.stdout.readline())
        assert wait_for(lambda: "http.server" in session_members(parent.pid).get(child, ""), 20)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert wait_for(lambda: child not in session_members(parent.pid), 15), session_members(parent.pid)
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in session_members(parent.pid):
            os.kill(pid, signal.SIGKILL)
