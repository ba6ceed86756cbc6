"""The ``miner`` command line: thin wrappers over library functions.

One module per command, named after it (``miner import`` is ``import_.py``, a keyword). Each
parses its options, calls the library, and prints. ``miner --help`` lists the commands in
pipeline order, not alphabetically.

Errors a user can fix (bad plan, bad SQL, missing credentials) print one line each and exit
with status 2; nothing prints a traceback for them. A ValueError or OSError no library code
worded as a :class:`MinerError` gets the same treatment: the file it names, else the message
and where it arose.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import traceback
from pathlib import Path

import click

from miner.core.errors import MinerError

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


# The order ``miner --help`` lists commands in: the order a study goes through them.
COMMAND_ORDER = ("plan", "harvest", "schedule", "runs", "import", "refresh-deletions", "process", "funnel",
                 "triage", "annotator", "serve", "incident", "scenario", "export", "report", "sql", "replay")


class MinerGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        known = [name for name in COMMAND_ORDER if name in self.commands]
        return known + sorted(name for name in self.commands if name not in COMMAND_ORDER)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MinerError as exc:
            for line in str(exc).splitlines() or ["error"]:
                click.echo(f"error: {line}", err=True)
            sys.exit(2)
        except (ValueError, OSError) as exc:  # a value the library could not use, an --out it cannot write
            click.echo(f"error: {_describe(exc)}", err=True)
            sys.exit(2)


def _describe(exc: ValueError | OSError) -> str:
    """One line for an error no MinerError worded: the file it names, else where it arose."""
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    text = " / ".join(line.strip() for line in str(exc).splitlines() if line.strip()) or "bad value"
    return f"{text} ({type(exc).__name__} at {_origin(exc)})"


def _origin(exc: BaseException) -> str:
    """``miner/x.py:LINE`` (else ``click/types.py:LINE``): where the error arose, so a bug report
    can still say, though no traceback is printed."""
    root = Path(__file__).resolve().parent.parent
    frames = [(Path(f.filename).resolve(), f.lineno) for f in traceback.extract_tb(exc.__traceback__)]
    ours = [(p, n) for p, n in frames if p.is_relative_to(root) and p != Path(__file__).resolve()]
    where, line = (ours or frames)[-1]
    return f"{where.relative_to(root.parent) if ours else Path(*where.parts[-2:])}:{line}"


@click.group(cls=MinerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="refusal-miner")
def main() -> None:
    """refusal-miner: find first-hand accounts of LLM refusals in mental-health support."""


def _register() -> None:
    """Import every module of this package: each one adds its own command to ``main``."""
    for mod in pkgutil.iter_modules(__path__):
        if mod.name != "common":
            importlib.import_module(f"{__name__}.{mod.name}")


_register()
