"""Run a Python module as a child that dies with its parent, even when the parent is SIGKILLed.

Prefect's temporary API server is a child process (uvicorn). Prefect stops it from an
``atexit`` hook, which a SIGKILL (the OOM killer, ``kill -9``, a CI timeout) never runs: the
server is re-parented to PID 1 and lives on, holding its port and database. Started through
this module instead::

    python -m miner.flows.watchdog PARENT_PID MODULE [ARGS...]

the child asks Linux to send it SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``)
and, on every platform, a daemon thread polls ``os.getppid()`` once a second, so a parent
that died before the ``prctl`` (or a system without it) is noticed too. SIGTERM lets uvicorn
shut down cleanly; if that hangs, the process exits anyway after ``GRACE_SECONDS``.
"""

from __future__ import annotations

import ctypes
import os
import runpy
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 1.0
GRACE_SECONDS = 10.0


def tied_command(module: str, *args: str) -> list[str]:
    """The command line that runs ``python -m module args...`` tied to this process's life."""
    return [sys.executable, "-m", "miner.flows.watchdog", str(os.getpid()), module, *args]


def die_with_parent(parent_pid: int, *, poll_seconds: float = POLL_SECONDS, grace_seconds: float = GRACE_SECONDS) -> None:
    """From now on, this process ends soon after ``parent_pid`` (its parent) does."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the thread below still watches
            pass
    threading.Thread(target=_watch, args=(parent_pid, poll_seconds, grace_seconds), daemon=True,
                     name="die-with-parent").start()


def _watch(parent_pid: int, poll_seconds: float, grace_seconds: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_seconds)
    os.kill(os.getpid(), signal.SIGTERM)  # the parent is gone: shut down the usual way
    time.sleep(grace_seconds)
    os._exit(1)  # and if that hangs, go anyway


def main(argv: list[str] | None = None) -> None:
    parent, module, *args = sys.argv[1:] if argv is None else argv
    die_with_parent(int(parent))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
