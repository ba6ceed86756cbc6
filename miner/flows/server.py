"""A local Prefect server for schedules, when none is configured.

Prefect's ephemeral mode runs flows but cannot schedule them, so ``miner schedule`` needs a
real API. If ``PREFECT_API_URL`` is set we use that server (a team's Prefect); otherwise we
start ``prefect server start`` on localhost for as long as the schedule is served. Its
database lives in ``PREFECT_HOME`` (default ``~/.prefect``), so run history survives restarts.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from typing import Iterator

from miner.core.errors import MinerError


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
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + startup_timeout
        while not _healthy(url):
            if proc.poll() is not None:
                err = (proc.stderr.read() or b"").decode(errors="replace").strip().splitlines()
                raise MinerError(f"prefect server did not start: {err[-1] if err else 'exit ' + str(proc.returncode)}")
            if time.monotonic() > deadline:
                raise MinerError(f"prefect server did not answer on {url} within {startup_timeout:.0f} s")
            time.sleep(0.5)
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False
