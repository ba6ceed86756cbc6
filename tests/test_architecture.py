"""The import rules of docs/design.md §7, checked on the import graph (:mod:`importgraph`).

The library is a stack of stage packages, each importing only itself and the ones below it:

    core < plan < collect < process < triage < incidents < report < tuning < pipeline

``replay`` (the offline stand-in for Reddit and NewsAPI), ``flows``, ``web`` and ``cli`` sit on
top; nothing in the library imports them. A failure names each offending import, file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from importgraph import Edge, imports, module_name, source_files, string_constants

from miner.cli import COMMAND_ORDER, main

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("core", "plan", "collect", "process", "triage", "incidents", "report", "tuning", "pipeline")
THIN = ("cli", "web", "flows")  # parse, call the library, print
ON_TOP = ("replay", *THIN)
GRAPH = imports(ROOT)


def package(module: str) -> str | None:
    """``miner.collect.store`` -> ``collect``; ``miner.pipeline`` -> ``pipeline``; the top-level
    ``flows/`` folder -> ``flows``; anything outside the code base -> None."""
    parts = module.split(".")
    if parts[0] == "flows":
        return "flows"
    if parts[0] != "miner":
        return None
    return parts[1] if len(parts) > 1 else "miner"


def edges(importer: str | tuple[str, ...] | None = None) -> list[Edge]:
    """Imports of our own modules, by importers of the given package(s)."""
    wanted = (importer,) if isinstance(importer, str) else importer
    return [e for e in GRAPH if package(e.imported) is not None
            and (wanted is None or package(e.importer) in wanted)]


def report(bad: list[Edge], rule: str) -> str:
    return f"{rule}:\n" + "\n".join(f"  {e}" for e in bad)


def test_the_graph_sees_every_kind_of_import(tmp_path):
    pkg = tmp_path / "miner" / "collect"
    pkg.mkdir(parents=True)
    (tmp_path / "miner" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from . import store\n")
    (pkg / "store.py").write_text("")
    (pkg / "harvest.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from .store import x\n"
        "if TYPE_CHECKING:\n    from ..triage import queue\n"
        "def f():\n    import miner.incidents.incidents\n    from miner import collect\n")
    found = {(e.importer, e.imported) for e in imports(tmp_path, ("miner",))}
    assert {("miner.collect", "miner.collect.store"), ("miner.collect.harvest", "miner.collect.store"),
            ("miner.collect.harvest", "miner.triage"), ("miner.collect.harvest", "miner.incidents.incidents"),
            ("miner.collect.harvest", "miner.collect")} <= found
    assert module_name(tmp_path, pkg / "__init__.py") == "miner.collect"


def test_every_package_has_a_place():
    here = {p.name for p in (ROOT / "miner").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    here |= {p.stem for p in (ROOT / "miner").glob("*.py") if not p.name.startswith("__")}
    assert here == set(LAYERS) | set(ON_TOP), "a package that is neither a stage nor a layer on top: " \
        f"{sorted(here ^ (set(LAYERS) | set(ON_TOP)))}"


def test_library_packages_import_only_themselves_and_packages_below():
    bad = [e for e in edges(LAYERS) if package(e.imported) not in LAYERS
           or LAYERS.index(package(e.imported)) > LAYERS.index(package(e.importer))]
    assert not bad, report(bad, "a stage package imports a package above it (order: " + " < ".join(LAYERS) + ")")


def test_collect_never_imports_triage_or_incidents():
    bad = [e for e in edges("collect") if package(e.imported) in ("triage", "incidents")]
    assert not bad, report(bad, "collect imports triage or incidents")


def test_sources_never_import_the_warehouse():
    bad = [e for e in GRAPH if e.importer.startswith("miner.collect.sources") and e.imported == "miner.core.db"]
    assert not bad, report(bad, "a source adapter imports the warehouse (use miner.core.clock for the time)")


def test_only_the_warehouse_module_opens_duckdb():
    bad = [e for e in GRAPH if e.imported.split(".")[0] == "duckdb" and e.importer != "miner.core.db"]
    assert not bad, report(bad, "DuckDB imported outside miner.core.db (pass a Warehouse instead)")


def test_no_library_package_imports_replay():
    bad = [e for e in edges() if package(e.importer) not in ON_TOP and package(e.imported) == "replay"]
    assert not bad, report(bad, "library code imports the replay package (a test double)")


def test_thin_layers_import_downwards_only():
    above = {"replay": ("flows", "web", "cli"), "flows": ("web", "cli"), "web": ("flows", "cli")}
    bad = [e for e in edges(tuple(above)) if package(e.imported) in above[package(e.importer)]]
    assert not bad, report(bad, "replay, flows or web imports a layer beside or above it")
    entry_points = [e for e in GRAPH if e.importer.startswith("flows.")]
    bad = [e for e in entry_points if not e.imported.startswith("miner.flows.")]
    assert entry_points
    assert not bad, report(bad, "flows/ holds deployment entry points only (import miner.flows)")


# SQL a module runs; a statement quoted inside a message ("try: miner sql \"SELECT ...\"") is a hint
# for the user to type, not SQL the module runs.
SQL = re.compile(r'(?<!")\b(SELECT\b[\s\S]*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b')


def test_thin_layers_define_no_sql():
    files = source_files(ROOT, tuple(f"miner/{p}" for p in THIN) + ("flows",))
    bad = [f"{path.relative_to(ROOT)}:{line}: {text.strip()[:80]!r}"
           for path in files for line, text in string_constants(path) if SQL.search(text)]
    assert files
    assert not bad, "SQL in cli/, web/ or flows/ (move it into a library function):\n  " + "\n  ".join(bad)


def test_miner_help_lists_commands_in_pipeline_order():
    assert set(main.commands) == set(COMMAND_ORDER), "give every command a place in miner.cli.COMMAND_ORDER"
    out = CliRunner().invoke(main, ["--help"]).output
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == list(COMMAND_ORDER)


def test_the_package_docstring_lists_the_stages_in_pipeline_order():
    import miner

    doc = miner.__doc__
    positions = [doc.find(f"{name}/") if name != "pipeline" else doc.find("pipeline.py") for name in LAYERS]
    assert -1 not in positions and positions == sorted(positions), positions
