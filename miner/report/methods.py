"""The methods appendix: Markdown a researcher can paste into a paper, generated from the warehouse.

It states what was searched (the plan and every query as sent), when (run dates), what each
stage kept (the funnel, per source), with which software, models and thresholds, and how far
annotators agreed. Every number comes from ``ReportData`` (the views), never from a recount.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Sequence

from miner.report.data import ReportData, Stage

MAX_RUN_ROWS = 20


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, int):
        return f"{v:,}"
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d %H:%M") if hasattr(v, "hour") else v.isoformat()
    return str(v).replace("|", "\\|").replace("\n", " ")


def md_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def _counts_sentence(stages: list[Stage]) -> str:
    by = {s.stage: s.n for s in stages}
    parts = []
    if "queries run" in by:
        parts.append(f"{by['queries run']:,} queries ran")
    for stage in [s.stage for s in stages if s.stage != "queries run"]:
        parts.append(f"{by[stage]:,} {stage}")
    return ("In total, " + "; ".join(parts) + ".") if parts else "No stage has counted anything yet."


def _plan_section(data: ReportData) -> list[str]:
    out = ["### Search plan", ""]
    if not data.plans:
        return out + ["No plan has run in this warehouse yet.", ""]
    for p in data.plans:
        qs = [q for q in data.queries if q["plan_id"] == p["plan_id"]]
        per_source = Counter(q["source"] for q in qs)
        products = sorted({q["product"] for q in qs if q["product"]})
        templates = sorted({q["template"] for q in qs if q["product"]})
        out += [f"Plan `{p['name']}` (version `{p['plan_id']}`, sha256 `{p['sha256'][:16]}`), first used "
                f"{_cell(p['first_used_at'])} UTC, {p['runs']} run(s). It expands to {len(qs)} queries ("
                + ", ".join(f"{n} {src}" for src, n in sorted(per_source.items())) + ")"
                + (f": {len(products)} products x {len(templates)} templates" if products else "") + ".", "",
                "```toml", p["body"].rstrip(), "```", "",
                "Queries exactly as sent to each API:", "",
                md_table(["source", "product", "template", "scope", "query as sent", "max items"],
                         [(q["source"], q["product"] or "", q["template"], q["scope"], f"`{q['rendered']}`",
                           q["max_items"]) for q in qs]), ""]
    return out


def _runs_section(data: ReportData) -> list[str]:
    out = ["### Harvest runs", ""]
    runs = data.runs
    if not runs:
        return out + ["No harvest has run yet.", ""]
    statuses = Counter(r["status"] for r in runs)
    endpoints = sorted({r["endpoint"] for r in runs})
    first, last = runs[0]["started_at"], runs[-1]["finished_at"] or runs[-1]["started_at"]
    out.append(f"{len(runs)} run(s) between {_cell(first)} and {_cell(last)} UTC ("
               + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + "), against "
               + " and ".join(endpoints) + " endpoints"
               + (" (`replay` is the bundled offline corpus, not live data)" if "replay" in endpoints else "")
               + ". A rerun fetches only what is new since the previous run (incremental high-water marks).")
    shown = runs[-MAX_RUN_ROWS:]
    out += ["", md_table(["run", "started (UTC)", "finished (UTC)", "status", "queries ok", "failed", "deferred",
                          "requests", "new documents"],
                         [(r["run_id"], r["started_at"], r["finished_at"], r["status"], r["queries_ok"],
                           r["queries_failed"], r["queries_deferred"], r["requests"], r["new_documents"])
                          for r in shown])]
    if len(runs) > len(shown):
        out.append(f"\n(The {len(shown)} most recent of {len(runs)} runs; `SELECT * FROM v_runs` lists all.)")
    return out + [""]


def _funnel_section(data: ReportData) -> list[str]:
    sources = sorted({s for st in data.stages for s in st.by_source})
    rows = [(st.step, st.stage, *(st.by_source.get(s, 0) for s in sources), st.n) for st in data.stages]
    return ["### Counts at every stage", "", _counts_sentence(data.stages), "",
            md_table(["step", "stage", *sources, "total"], rows), ""]


def _models_section(data: ReportData) -> list[str]:
    out = ["### Software, models and thresholds", "",
           md_table(["component", "version", "detail"],
                    [(v["component"], v["version"], v["detail"]) for v in data.versions]), ""]
    if data.thresholds:
        out += [md_table(["what", "version / value", "detail"],
                         [(t["what"], t["value"], t["detail"]) for t in data.thresholds]), ""]
    thresholds = [st.stage for st in data.stages if ">=" in st.stage]
    if thresholds:
        out += ["Thresholds in the funnel: " + "; ".join(thresholds) + ".", ""]
    return out


def _agreement_section(data: ReportData) -> list[str]:
    out = ["### Annotation and agreement", ""]
    if data.decisions:
        out += ["Decisions so far (per document: agreed by all its annotators, disputed, or adjudicated):", "",
                md_table(["status", "decision", "documents"],
                         [(d["status"], d["decision"] or "(pending)", d["n"]) for d in data.decisions]), ""]
    usable = [a for a in data.agreement or [] if a["n_items"]]
    if not usable:
        return out + ["No agreement statistics yet: they need two or more annotators labelling the same "
                      "documents.", ""]
    rows = [("Cohen's kappa" if a["measure"] == "cohen_kappa" else "Krippendorff's alpha (nominal)",
             f"{a['annotator_a']} / {a['annotator_b']}" if a["annotator_a"] else "all annotators",
             a["n_items"], a["observed"], a["value"]) for a in usable]
    return out + ["Agreement on the decision (incident / not / unsure):", "",
                  md_table(["measure", "annotators", "documents", "observed agreement", "value"], rows), ""]


def _missing_section(data: ReportData) -> list[str]:
    if not data.skipped_views:
        return []
    return ["### Stages not present in this warehouse", "",
            "These views are not installed here because the tables they read do not exist yet; their "
            "counts above are absent rather than zero:", "",
            *[f"- `{name}`: {reason}" for name, reason in sorted(data.skipped_views.items())], ""]


def methods_markdown(data: ReportData) -> str:
    head = ["## Methods appendix", "",
            f"Generated by refusal-miner from `{data.warehouse}` on {_cell(data.generated_at)} UTC. Documents "
            "were collected through the sources' public APIs (Reddit via praw with read-only OAuth, news via "
            "NewsAPI); authors are stored only as keyed hashes and usernames in text are masked before "
            "storage.", ""]
    body = (_plan_section(data) + _runs_section(data) + _funnel_section(data) + _models_section(data)
            + _agreement_section(data) + _missing_section(data))
    return "\n".join(head + body).rstrip() + "\n"
