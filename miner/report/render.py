"""``miner report``: an HTML report with figures, the same figures as PNG, and the methods appendix.

The report is a folder a researcher can zip, open in a browser or paste from: ``index.html``
references the PNGs next to it, ``methods.md`` is the appendix. It only reads the warehouse
(through ``report_data``), so it can run read-only while a harvest holds the write lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import jinja2

from miner.core.db import Warehouse
from miner.report import figures
from miner.report.data import ReportData, gather
from miner.report.methods import methods_markdown

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass
class Figure:
    name: str          # file stem: <name>.png
    title: str
    caption: str
    has_data: bool


@dataclass
class Report:
    out_dir: Path
    html: Path
    methods: Path
    figures: list[Figure]
    seconds: float


def draw_figures(data: ReportData, out_dir: Path) -> list[Figure]:
    """Every figure, always: a figure without data is a "no data yet" panel, never missing."""
    agreement_rows = [r for r in data.agreement or [] if r["n_items"]]
    figures.funnel(data.stages, out_dir / "funnel.png")
    figures.yield_heatmap(data.yield_grid, out_dir / "yield_heatmap.png")
    figures.incidents_over_time(data.incidents_monthly, data.incidents_by_month, out_dir / "incidents_over_time.png")
    figures.agreement(data.agreement, out_dir / "agreement.png")
    return [
        Figure("funnel", "Funnel", "Items kept at each stage, from the queries run to scenarios (v_funnel); "
               "beside each step, what it set aside.", bool(data.stages)),
        Figure("yield_heatmap", "Yield by product and template",
               "Unique documents each product x template found, all scopes together "
               "(v_yield_by_product_template); incidents when there are any.", bool(data.yield_grid)),
        Figure("incidents_over_time", "Incidents over time",
               "Incidents by the month of their first document, by product and by refusal form "
               "(v_incidents_monthly, v_incidents_by_month).", bool(data.incidents_monthly)),
        Figure("agreement", "Agreement", "Cohen's kappa per annotator pair and Krippendorff's alpha over "
               "all annotators, on the decision (v_agreement).", bool(agreement_rows)),
    ]


def build_report(wh: Warehouse, out_dir: str | Path) -> Report:
    start = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = gather(wh)
    figs = draw_figures(data, out)
    methods = methods_markdown(data)
    (out / "methods.md").write_text(methods)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("report.html.j2").render(data=data, figures=figs, methods=methods)
    (out / "index.html").write_text(html)
    return Report(out, out / "index.html", out / "methods.md", figs, time.perf_counter() - start)
