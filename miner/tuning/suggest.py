"""Widen a plan where it misses: terms, phrases and scopes learned from labelled documents.

:func:`suggest` looks at the incidents a plan does not find and proposes new Reddit
queries (a word or phrase searched in one subreddit) with what each would add: distinct
incidents found (gain in recall) and documents to read (cost in hits). It works greedily:
each round takes the candidate with the most new incidents per new document read, until
no candidate pays for itself or enough are chosen. The result is a TOML fragment of
``[[reddit.communities]]`` blocks to review and paste; nothing is applied to a plan.

Why these rules:

* **Candidates come from missed incidents** (the words of the posts that carry them, or of
  the post a missed comment hangs under, since search finds threads), but a word or phrase
  must occur in at least ``min_support`` distinct incidents, found or not: a phrase only one
  story uses is that story's fingerprint, not how people talk about refusals, and would not
  find the next one. Stop words may sit inside a phrase ("gave me the hotline") but not at
  its ends.
* **Ranked by smoothed precision**: new incidents per new read in the subreddit, pulled
  towards the phrase's precision over the whole corpus (``PRIOR_WEIGHT`` documents' worth),
  itself pulled towards the base rate of incidents (``BASE_WEIGHT``), so that a phrase seen
  in 10 incident posts out of 15 beats one seen in 3 out of 3.
  Two incidents in a small subreddit happen to share "weird" or "years"; "hotline" is rare
  outside incidents everywhere. A candidate must reach ``1 / max_reads_per_incident``.
* **Costs are counted on every document** of the corpus, labelled or not: an annotator
  reads what a query brings, whatever its label.
* **Estimates are in-sample**: they are what the labels you learned from say. To know how
  a suggestion generalises, learn on part of the labels and evaluate on the rest
  (``bench/plans.py`` does, with two folds).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field

from miner.core.errors import MinerError
from miner.plan.plan import Plan, PlanError, parse_plan
from miner.plan.query import quote_operand, stem
from miner.tuning.evaluate import EvalCorpus, EvalDoc, Evaluation, Labels, evaluate

_TOKEN = re.compile(r"[a-z0-9]+")  # the tokens miner.plan.query matches on
_PLAIN_SURFACE = re.compile(r"[a-z0-9' .-]+")

try:  # scikit-learn ships a standard English stop list; a small one if it is missing
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as _STOP
except ImportError:  # pragma: no cover
    _STOP = frozenset("a an and are as at be but by for from has have i in is it its me my of on or so that the "
                      "this to was were with you".split())
STOP = frozenset(_STOP) | {"t", "s", "m", "ve", "re", "ll", "d"}  # what an apostrophe splits off
# "wasn't" -> "wasn" "t": fine inside a phrase ("won't talk"), meaningless alone or at its end
CONTRACTED = frozenset("aren can couldn didn doesn don hadn hasn haven isn mustn shouldn wasn weren won wouldn".split())
PRIOR_WEIGHT = 30.0  # documents' worth of weight the corpus-wide precision gets against a subreddit's own counts
BASE_WEIGHT = 10.0  # documents' worth of weight the base rate gets against a phrase's corpus-wide counts


@dataclass(frozen=True)
class Gram:
    stems: tuple[str, ...]
    surface: str  # as people wrote it (first occurrence), for the query text

    @property
    def template(self) -> str:
        if len(self.stems) == 1 and re.fullmatch(r"[a-z0-9]+", self.surface):
            return self.surface
        return f'"{self.surface}"' if '"' not in self.surface else quote_operand(" ".join(self.stems))


@dataclass
class Suggestion:
    subreddit: str
    gram: Gram
    incidents: int  # new distinct incidents (in-sample)
    reads: int  # new documents to read
    hits: int  # (query, document) pairs it adds
    incident_ids: list[str] = field(default_factory=list)


@dataclass
class Concentration:
    subreddit: str
    missed: int  # incidents the plan misses that live here
    documents: int  # documents the corpus holds here
    in_plan: bool


@dataclass
class SuggestResult:
    plan: Plan
    before: Evaluation
    suggestions: list[Suggestion]
    scopes: list[Concentration]
    positives: int
    others: int

    @property
    def found_after(self) -> int:
        return self.before.found + sum(s.incidents for s in self.suggestions)

    @property
    def reads_after(self) -> int:
        return self.before.reads + sum(s.reads for s in self.suggestions)

    @property
    def recall_after(self) -> float:
        return self.found_after / self.before.incidents if self.before.incidents else 0.0

    def fragment(self) -> str:
        return render_fragment(self)


def grams(text: str, max_n: int = 3) -> dict[tuple[str, ...], str]:
    """Every 1..max_n-gram of stems in ``text`` worth searching for, with its surface form."""
    low = text.lower()
    spans = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(low)]
    st = [stem(w) for _, _, w in spans]
    out: dict[tuple[str, ...], str] = {}
    for i in range(len(spans)):
        for n in range(1, max_n + 1):
            j = i + n
            if j > len(spans):
                break
            first, last = spans[i][2], spans[j - 1][2]
            if first in STOP or last in STOP or last in CONTRACTED or (n == 1 and len(first) < 3):
                continue
            key = tuple(st[i:j])
            if key in out:
                continue
            surface = " ".join(low[spans[i][0]:spans[j - 1][1]].split())
            if not _PLAIN_SURFACE.fullmatch(surface):
                surface = " ".join(w for _, _, w in spans[i:j])
            out[key] = surface
    return out


def _gram_set(text: str, max_n: int) -> set[tuple[str, ...]]:
    low = text.lower()
    st = [stem(w) for w in _TOKEN.findall(low)]
    return {tuple(st[i:i + n]) for n in range(1, max_n + 1) for i in range(len(st) - n + 1)}


def suggest(plan: Plan, corpus: EvalCorpus, labels: Labels, *, max_queries: int = 10, min_support: int = 2,
            max_reads_per_incident: float = 50.0, max_n: int = 3) -> SuggestResult:
    """Greedy: new (subreddit, word or phrase) queries by new incidents per new read."""
    if plan.reddit is None:
        raise MinerError(f"{plan.path}: suggest adds Reddit queries; the plan has no [reddit] table")
    before = evaluate(plan, corpus, labels)
    inc = labels.incident
    per_post = plan.reddit.comments_per_post
    search_comments = plan.reddit.search_comments
    positives = [d for d in labels.positives if d in corpus.by_id and corpus.by_id[d].kind != "article"]
    found = set(before.found_incidents)
    read = set(before.docs_found)

    # Where search would have to land to find each positive document: itself (a post, or a
    # comment when comments are searched) or the post it is among the best comments of.
    def targets(d: EvalDoc) -> list[EvalDoc]:
        if d.kind == "submission":
            return [d]
        out = [d] if search_comments else []
        thread = corpus.by_id.get(d.thread_id or "")
        if thread is not None and d.doc_id in corpus.comments.get(thread.doc_id, [])[:per_post]:
            out.append(thread)
        return out

    support: dict[tuple[str, ...], set[str]] = {}
    surfaces: dict[tuple[str, ...], str] = {}
    missed_targets: dict[str, set[str]] = {}  # subreddit -> target doc ids of missed incidents
    for d in positives:
        for t in targets(corpus.by_id[d]):
            for g in _gram_set(t.text, max_n):
                support.setdefault(g, set()).add(inc(d))
            if inc(d) not in found:
                missed_targets.setdefault(t.community.lower(), set()).add(t.doc_id)
                for g, surface in grams(t.text, max_n).items():
                    surfaces.setdefault(g, surface)
    candidates = {g for g in surfaces if len(support.get(g, ())) >= min_support}

    # Per subreddit with missed incidents: what each candidate would bring.
    names: dict[str, str] = {}
    docs_by_sub: dict[str, list[EvalDoc]] = {}
    for d in corpus.docs:
        if d.kind == "article":
            continue
        names.setdefault(d.community.lower(), d.community)
        docs_by_sub.setdefault(d.community.lower(), []).append(d)
    positive_set = set(positives)
    # Corpus-wide precision of each candidate: incident documents among those it matches.
    df: dict[tuple[str, ...], int] = {}
    pos_df: dict[tuple[str, ...], int] = {}
    target_of_positive = {t.doc_id for d in positives for t in targets(corpus.by_id[d])}
    for d in corpus.docs:
        if d.kind == "article" or (d.kind == "comment" and not search_comments) or not d.text:
            continue
        for g in _gram_set(d.text, max_n) & candidates:
            df[g] = df.get(g, 0) + 1
            if d.doc_id in target_of_positive:
                pos_df[g] = pos_df.get(g, 0) + 1
    n_docs = sum(1 for d in corpus.docs if d.kind == "submission" or (search_comments and d.kind == "comment"))
    base = len(target_of_positive) / max(n_docs, 1)
    prior = {g: (pos_df.get(g, 0) + BASE_WEIGHT * base) / (df[g] + BASE_WEIGHT) for g in df}
    brings: dict[tuple[str, tuple[str, ...]], tuple[set[str], dict[str, str]]] = {}  # -> (docs, incidents)
    for sub in missed_targets:
        for d in docs_by_sub.get(sub, []):
            if d.kind == "comment" and not search_comments or not d.text:
                continue
            matched = _gram_set(d.text, max_n) & candidates
            if not matched:
                continue
            docs = [d.doc_id] + (corpus.comments.get(d.doc_id, [])[:per_post] if d.kind == "submission" else [])
            for g in matched:
                got, incs = brings.setdefault((sub, g), (set(), {}))
                got.update(docs)
                for x in docs:
                    if x in positive_set:
                        incs[inc(x)] = x

    chosen: list[Suggestion] = []
    while len(chosen) < max_queries:
        best, best_key = None, None
        for (sub, g), (docs, incs) in brings.items():
            gain = sum(1 for i in incs if i not in found)
            if not gain:
                continue
            cost = len(docs - read)
            precision = (gain + PRIOR_WEIGHT * prior.get(g, 0.0)) / (cost + PRIOR_WEIGHT)
            if precision * max_reads_per_incident < 1:
                continue
            key = (precision, gain, -len(g), [-ord(ch) for ch in surfaces[g]])
            if best_key is None or key > best_key:
                best, best_key = (sub, g), key
        if best is None:
            break
        sub, g = best
        docs, incs = brings.pop(best)
        new = sorted(i for i in incs if i not in found)
        chosen.append(Suggestion(names[sub], Gram(g, surfaces[g]), len(new), len(docs - read), len(docs), new))
        found.update(new)
        read |= docs

    plan_subs = {s.lower() for q in before.queries if q.query.source != "news" for s in q.query.scope.split("+")}
    missed_here: dict[str, set[str]] = {}
    for d in positives:
        if inc(d) not in before.found_incidents:
            missed_here.setdefault(corpus.by_id[d].community.lower(), set()).add(inc(d))
    scopes = sorted((Concentration(names[s], len(m), len(docs_by_sub.get(s, [])), s in plan_subs)
                     for s, m in missed_here.items()), key=lambda c: (-c.missed, c.documents, c.subreddit))
    return SuggestResult(plan, before, chosen, scopes, len({inc(d) for d in positives}),
                         len(corpus.docs) - len(positives))


def render_fragment(r: SuggestResult) -> str:
    """The suggestions as ``[[reddit.communities]]`` blocks, with the estimates as comments."""
    b = r.before
    lines = [
        f"# Suggested by `miner plan suggest` for {r.plan.plan_id} ({r.plan.path}). Review before use:",
        "# nothing here has been applied. Append the blocks you keep to the plan's file.",
        f"# Learned from {b.incidents} labelled incidents in corpus '{b.corpus}' (labels: {b.labels}).",
        f"# Estimated on those same labels (in-sample): recall {b.recall:.3f} -> {r.recall_after:.3f} "
        f"(+{r.found_after - b.found} incidents), reads {b.reads} -> {r.reads_after} (+{r.reads_after - b.reads}).",
    ]
    if r.scopes:
        lines.append("# Where missed incidents concentrate (missed incidents, documents there, in the plan?):")
        lines += [f"#   r/{c.subreddit}: {c.missed} missed, {c.documents} documents, "
                  f"{'in scope' if c.in_plan else 'NOT in scope'}" for c in r.scopes[:12]]
    if not r.suggestions:
        lines.append("# No query found that pays for itself: every candidate brings more than the allowed"
                     " reads per incident, or occurs in too few incidents to generalise.")
        return "\n".join(lines) + "\n"
    # One block per set of subreddits sharing templates: one combined search, not several.
    subs_of: dict[str, list[Suggestion]] = {}
    for s in r.suggestions:
        subs_of.setdefault(s.gram.template, []).append(s)
    blocks: dict[tuple[str, ...], list[tuple[str, int, int]]] = {}
    for template, items in subs_of.items():
        key = tuple(sorted(s.subreddit for s in items))
        blocks.setdefault(key, []).append((template, sum(s.incidents for s in items), sum(s.reads for s in items)))
    for subs, templates in blocks.items():
        lines += ["", "[[reddit.communities]]", f"subreddits = {json.dumps(list(subs))}", "templates = ["]
        lines += [f"  {json.dumps(t, ensure_ascii=False)},  # +{n} incidents, +{reads} reads"
                  for t, n, reads in templates]
        lines.append("]")
    return "\n".join(lines) + "\n"


def apply_fragment(plan: Plan, fragment: str) -> Plan:
    """The plan with a suggested fragment appended, as a researcher would paste it (for
    evaluating a suggestion; the plan file itself is never changed)."""
    text = plan.text.rstrip("\n") + "\n\n" + fragment
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(plan.path, [f"plan with the suggestions is not valid TOML: {exc}"]) from None
    return parse_plan(doc, path=plan.path, text=text)
