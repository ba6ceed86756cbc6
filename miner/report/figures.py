"""The report's figures, drawn with matplotlib (Agg: no display needed) from plain rows.

Each function writes one PNG and returns its path. When the data a figure needs is absent,
``no_data`` draws a panel that says what would produce it, so a report of a young warehouse
still has every figure and tells the reader what is missing instead of failing.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from miner.report.data import Stage  # noqa: E402

DPI = 120
NO_PRODUCT = "(no product: news)"
# Why items drop between two consecutive funnel stages, by the stages' names (docs/design.md §2).
DROP_REASONS = {
    ("hits", "unique documents"): "found again by another query",
    ("unique documents", "with text"): "deleted, removed or empty",
    ("with text", "after dedup"): "duplicates of another story",
    ("after dedup", "candidates"): "not candidates",
    # Scenarios count scenarios, not incidents: an incident outside them is not set aside.
    ("incidents", "scenarios"): None,
}


def drop_reason(prev: str, stage: str) -> str | None:
    """What the items between two stages were set aside for, or None when the later stage
    is no subset of the earlier one (so there is nothing to say beside the arrow)."""
    if (prev, stage) in DROP_REASONS:
        return DROP_REASONS[(prev, stage)]
    threshold = re.fullmatch(r"(.+) \(score >= ([\d.]+)\)", stage)
    if threshold:
        return f"scored below {threshold.group(2)}"
    return f"not {stage}"


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return path


def no_data(path: Path, title: str, message: str) -> Path:
    """A panel that says "no data yet" and what produces the data."""
    fig, ax = plt.subplots(figsize=(7, 2.2))
    ax.axis("off")
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    ax.text(0.5, 0.45, textwrap.fill(f"no data yet: {message}", 80), ha="center", va="center", fontsize=10,
            color="#555555", bbox=dict(boxstyle="round,pad=0.8", fc="#f4f4f4", ec="#bbbbbb", ls="--"))
    return _save(fig, path)


def funnel(stages: list[Stage], path: Path) -> Path:
    """PRISMA-style flow: one box per stage top to bottom, and what each step set aside beside it."""
    if not stages:
        return no_data(path, "Funnel", "run a harvest (`miner harvest PLAN`)")
    height = 1.25 * len(stages) + 0.6
    fig, ax = plt.subplots(figsize=(8.5, height))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, height)
    ax.axis("off")
    box_w, box_h, x0 = 4.6, 0.85, 0.3
    for i, s in enumerate(stages):
        y = height - 0.6 - 1.25 * i - box_h
        per_source = " · ".join(f"{src} {n:,}" for src, n in sorted(s.by_source.items()))
        ax.add_patch(FancyBboxPatch((x0, y), box_w, box_h, boxstyle="round,pad=0.02",
                                    fc="#e8f0fb", ec="#2b5797", lw=1.2))
        ax.text(x0 + box_w / 2, y + box_h * 0.66, f"{s.stage}: n = {s.n:,}", ha="center", va="center",
                fontsize=10, fontweight="bold")
        ax.text(x0 + box_w / 2, y + box_h * 0.28, per_source, ha="center", va="center", fontsize=8.5,
                color="#333333")
        if i == 0:
            continue
        prev = stages[i - 1]
        ax.annotate("", xy=(x0 + box_w / 2, y + box_h), xytext=(x0 + box_w / 2, y + box_h + 0.4 + 0.02),
                    arrowprops=dict(arrowstyle="->", color="#2b5797"))
        # Stage 1 counts queries, not items: nothing is "set aside" between queries and hits.
        reason = drop_reason(prev.stage, s.stage)
        if i >= 2 and s.n < prev.n and reason:
            ex, ey = x0 + box_w + 0.6, y + box_h + 0.05
            ax.add_patch(FancyBboxPatch((ex, ey), 4.0, 0.45, boxstyle="round,pad=0.02",
                                        fc="#fdf1e6", ec="#c0504d", lw=0.9))
            ax.text(ex + 2.0, ey + 0.225, f"{prev.n - s.n:,} {reason}", ha="center", va="center", fontsize=8.5)
            ax.annotate("", xy=(ex, ey + 0.225), xytext=(x0 + box_w / 2, ey + 0.225),
                        arrowprops=dict(arrowstyle="->", color="#c0504d", lw=0.9))
    ax.set_title("Funnel: from queries to scenarios", loc="left", fontsize=12, fontweight="bold")
    return _save(fig, path)


def _grid(rows: list[dict], value: str) -> tuple[list[str], list[str], list[list[float]]]:
    products = sorted({r["product"] or NO_PRODUCT for r in rows})
    templates = sorted({r["template"] for r in rows})
    cells: dict[tuple[str, str], float] = defaultdict(float)
    present: set[tuple[str, str]] = set()
    for r in rows:
        key = (r["product"] or NO_PRODUCT, r["template"])
        cells[key] += r[value] or 0
        present.add(key)
    grid = [[cells[(p, t)] if (p, t) in present else math.nan for t in templates] for p in products]
    return products, templates, grid


def yield_heatmap(rows: list[dict] | None, path: Path) -> Path:
    """Product x template: unique documents found, and incidents when there are any."""
    if not rows:
        return no_data(path, "Yield by product and template", "run a harvest (`miner harvest PLAN`)")
    panels = [("unique_documents", "unique documents found")]
    if any(r["incidents"] for r in rows):
        panels.append(("incidents", "incidents"))
    elif any(r["incident_documents"] for r in rows):
        panels.append(("incident_documents", "documents accepted as incidents"))
    products, templates, _ = _grid(rows, "unique_documents")
    fig, axes = plt.subplots(1, len(panels), figsize=(2.2 + 1.1 * len(templates) * len(panels),
                                                      1.2 + 0.38 * len(products)), squeeze=False)
    for ax, (col, label) in zip(axes[0], panels):
        _, _, grid = _grid(rows, col)
        finite = [v for row in grid for v in row if not math.isnan(v)]
        im = ax.imshow(grid, cmap="Blues", aspect="auto", vmin=0, vmax=max(finite + [1]))
        ax.set_xticks(range(len(templates)), [t.replace("{product}", "…") for t in templates],
                      rotation=35, ha="right", fontsize=8)
        ax.set_yticks(range(len(products)), products, fontsize=8)
        top = max(finite + [1])
        for y, row in enumerate(grid):
            for x, v in enumerate(row):
                if not math.isnan(v):
                    ax.text(x, y, f"{int(v):,}", ha="center", va="center", fontsize=7,
                            color="white" if v > top * 0.6 else "black")
        ax.set_title(label, fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle("Yield by product and template", x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.tight_layout()
    return _save(fig, path)


def every_month(months: set) -> list:
    """Every month from the first to the last of ``months`` (first days), the empty ones
    included, so a gap in the incidents shows as a gap on the time axis."""
    if not months:
        return []
    first, last = min(months), max(months)
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = m.replace(year=m.year + m.month // 12, month=m.month % 12 + 1)
    return out


def incidents_over_time(monthly: list[dict] | None, by_form: list[dict] | None, path: Path) -> Path:
    """Incidents per month, stacked by product (left; each incident once) and by refusal form
    (right; an incident with two forms counts under each)."""
    if not monthly:
        return no_data(path, "Incidents over time",
                       "incidents come from the incidents stage (accepted triage decisions linked into incidents)")
    months = every_month({r["month"] for r in monthly} | {r["month"] for r in by_form or []})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, rows, dim, title, empty in (
            (axes[0], monthly, "product", "by product", "(no product)"),
            (axes[1], by_form or [], "form", "by refusal form (an incident may show several)", "(not coded)")):
        series: dict[str, dict] = defaultdict(lambda: defaultdict(int))
        for r in rows:
            series[r[dim] or empty][r["month"]] += r["incidents"]
        bottom = [0] * len(months)
        for name in sorted(series):
            vals = [series[name].get(m, 0) for m in months]
            ax.bar(range(len(months)), vals, bottom=bottom, label=name)
            bottom = [a + b for a, b in zip(bottom, vals)]
        ax.set_xticks(range(len(months)), [m.strftime("%Y-%m") for m in months], rotation=45, ha="right",
                      fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("incidents")
        ax.yaxis.get_major_locator().set_params(integer=True)
        if series:
            ax.legend(fontsize=7, frameon=True, framealpha=0.9)
    fig.suptitle("Incidents over time", x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.tight_layout()
    return _save(fig, path)


def agreement(rows: list[dict] | None, path: Path) -> Path:
    """Cohen's kappa per annotator pair and Krippendorff's alpha, with the items each is over."""
    usable = [r for r in rows or [] if r["n_items"]]
    if not usable:
        return no_data(path, "Agreement between annotators",
                       "agreement needs two annotators labelling the same documents (triage overlap)")
    labels = [f"{r['annotator_a']} / {r['annotator_b']}" if r["annotator_a"] else "all (Krippendorff's α)"
              for r in usable]
    values = [r["value"] if r["value"] is not None else 0.0 for r in usable]
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.45 * len(usable)))
    colors = ["#2b5797" if r["measure"] == "cohen_kappa" else "#c0504d" for r in usable]
    ax.barh(range(len(usable)), values, color=colors)
    ax.set_yticks(range(len(usable)), labels, fontsize=8)
    ax.set_xlim(min(0.0, *values) - 0.05, 1.0)
    ax.axvline(0, color="#888888", lw=0.8)
    for i, (r, v) in enumerate(zip(usable, values)):
        text = "undefined" if r["value"] is None else f"{v:.2f}"
        ax.text(max(v, 0) + 0.01, i, f"{text} (n = {r['n_items']})", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("agreement on the decision (κ per pair, α overall)")
    ax.set_title("Agreement between annotators", loc="left", fontsize=12, fontweight="bold")
    return _save(fig, path)
