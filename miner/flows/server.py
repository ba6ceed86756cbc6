"""Prefect servers started for one command: they live exactly as long as the command does.

``temporary_api`` (``miner harvest``): without ``PREFECT_API_URL`` Prefect runs a flow on a
temporary server of its own, a uvicorn child it stops from an ``atexit`` hook, so a SIGKILLed
harvest left it running, re-parented to PID 1. We start the same server ourselves, through
:mod:`miner.flows.watchdog`, so it dies with the harvest however the harvest ends.

``prefect_api`` (``miner schedule``): Prefect's ephemeral mode runs flows but cannot schedule
them, so the schedule needs a real API. If ``PREFECT_API_URL`` is set we use that server (a
team's Prefect); otherwise we start ``prefect server start`` on localhost, tied the same way,
for as long as the schedule is served. Its database lives in ``PREFECT_HOME`` (default
``~/.prefect``), so run history survives restarts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from miner.core.errors import MinerError
from miner.flows.watchdog import tied_command


@contextmanager
def temporary_api(*, startup_timeout: float = 90.0) -> Iterator[str | None]:
    """Yield the API URL the flows of this command use: the configured server's, or that of
    a temporary server started here (what Prefect's ephemeral mode would start, minus the
    orphan). None when neither is allowed (ephemeral mode disabled): Prefect then says why."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    configured = PREFECT_API_URL.value()
    settings = get_current_settings()
    if configured or not settings.server.ephemeral.enabled:
        yield configured
        return
    import prefect

    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1",
           **settings.to_environment_variables(exclude_unset=True)}
    cmd = tied_command("uvicorn", "--app-dir", str(Path(prefect.__file__).parent.parent), "--factory",
                       "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
                       "--log-level", "error", "--lifespan", "on")
    with _server(cmd, url, env, startup_timeout):
        with temporary_settings(updates={PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                _drain_to_api()


def _drain_to_api() -> None:
    """Send what Prefect's background workers still hold (run logs, events) while the server
    answers: stopped first, they would print "--- Error logging to API ---" at exit."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=5)


@contextmanager
def prefect_api(port: int = 4200, *, startup_timeout: float = 90.0) -> Iterator[str]:
    """Yield the API URL of a Prefect server: the configured one, or a local one started here."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    configured = PREFECT_API_URL.value()
    if configured:
        yield configured
        return
    url = f"http://127.0.0.1:{port}/api"
    if _healthy(url):  # a server already runs there (e.g. started by hand): use it
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
        return
    cmd = tied_command("prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port))
    with _server(cmd, url, dict(os.environ), startup_timeout):
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url


@contextmanager
def _server(cmd: list[str], url: str, env: dict[str, str], startup_timeout: float) -> Iterator[None]:
    """Run ``cmd`` until it answers on ``url``, then until the block ends; stopped either way.
    Its stderr goes to a temporary file (a pipe nobody reads would block a long-lived server)."""
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + startup_timeout
            while not _healthy(url):
                if proc.poll() is not None:
                    err.seek(0)
                    lines = err.read().decode(errors="replace").strip().splitlines()
                    raise MinerError(f"prefect server did not start: {lines[-1] if lines else f'exit {proc.returncode}'}")
                if time.monotonic() > deadline:
                    raise MinerError(f"prefect server did not answer on {url} within {startup_timeout:.0f} s")
                time.sleep(0.5)
            yield
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False
