"""How much a search plan misses: its queries applied locally to labelled documents.

A researcher who has labelled some documents (a labels file, or the triage annotations)
asks: which of these incidents would this plan's queries have found, at what cost in hits
to read, and which would no query find? :func:`evaluate` answers with the local search
archive imports use (:class:`miner.plan.localsearch.LocalSearch`, the same meaning Reddit
search has), so the answer holds for live harvests, archive backfills and the replay corpus alike.

How a document counts as found, and why:

* A **submission** is found by a Reddit query whose scope holds its subreddit and whose
  terms match its title and body (the title alone when deleted or removed).
* A **comment** is found when its submission is, and it is among the plan's
  ``comments_per_post`` first comments as they are fetched: live, the first N of the tree
  sorted by top (depth first, siblings by score); from dumps, the archive import's rule
  (the N highest scores). With ``search_comments = true`` also when its own body matches.
* An **article** is found by a news query matching title and body, in the query's language
  and date window when the article says which.
* **Recall** counts distinct incidents (a post and its retelling in a comment are one), so
  a plan is not rewarded for finding the same story twice. **Hits** are (query, document)
  pairs as in the paper's 2,791; **reads** are distinct documents, what an annotator reads.
* Labelled samples are not the population, so the 1,000-item listing cap is not applied;
  queries whose hits could reach it on a full corpus are flagged instead.

On the warehouse, the hits a source recorded for the same query also count: NewsAPI
matched whole articles, of which the warehouse keeps about 200 characters.

The corpus comes from the warehouse (:func:`warehouse_corpus`), dump files
(:func:`dump_corpus`) or anything else that builds an :class:`EvalCorpus` (the replay package
offers its corpus as one: :func:`miner.replay.load.replay_corpus`); labels from a CSV/JSONL
file or the annotations table. Nothing here writes to the warehouse.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import orjson

from miner.collect.dumps import open_dump, read_blocks
from miner.collect.normalize import comment_state, submission_state, unescape_legacy
from miner.core.errors import MinerError, read_text
from miner.plan.localsearch import LocalSearch
from miner.plan.plan import Plan, PlannedQuery, expand
from miner.plan.query import IndexedText, compile_query, parse

LABELS = ("incident", "not", "unsure")


# -- documents ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EvalDoc:
    """A document as search sees it: where it lives and the text a query is matched on."""

    doc_id: str
    kind: str  # submission | comment | article
    community: str  # subreddit, or the outlet for news
    text: str
    thread_id: str | None = None  # comments: the submission's doc_id
    parent_id: str | None = None  # comments: the parent comment's or the submission's doc_id
    score: int = 0
    created: float = 0.0
    language: str | None = None


@dataclass
class EvalCorpus:
    name: str
    docs: list[EvalDoc]
    comment_order: str = "tree"  # tree: as live Reddit sends them (sort=top); score: as the archive picks
    # query_id -> doc_ids the source itself returned for that query (warehouse hits): NewsAPI
    # searches whole articles, the warehouse keeps ~200 characters of them.
    recorded: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {d.doc_id: d for d in self.docs}
        threads: dict[str, list[EvalDoc]] = {}
        for d in self.docs:
            if d.kind == "comment" and d.thread_id:
                threads.setdefault(d.thread_id, []).append(d)
        self.comments = {t: _comment_order(t, cs, self.comment_order) for t, cs in threads.items()}

    def subset(self, keep: Iterable[str], name: str | None = None) -> "EvalCorpus":
        keep = set(keep)
        return EvalCorpus(name or self.name, [d for d in self.docs if d.doc_id in keep], self.comment_order,
                          {q: ds & keep for q, ds in self.recorded.items()})


def _comment_order(thread: str, comments: list[EvalDoc], order: str) -> list[str]:
    """A thread's comments in the order a harvest takes the first ``comments_per_post`` of."""
    best = sorted(comments, key=lambda c: (-c.score, c.created, c.doc_id))
    if order == "score":
        return [c.doc_id for c in best]
    children: dict[str, list[EvalDoc]] = {}
    for c in best:  # siblings stay best first
        children.setdefault(c.parent_id or thread, []).append(c)
    out: list[str] = []
    stack = list(reversed(children.get(thread, [])))
    while stack:  # depth first, as Reddit nests replies under their parent
        c = stack.pop()
        out.append(c.doc_id)
        stack.extend(reversed(children.get(c.doc_id, [])))
    placed = set(out)
    return out + [c.doc_id for c in best if c.doc_id not in placed]  # parents missing from the corpus


def submission_text(title: str | None, body: str | None, state: str = "ok") -> str:
    """What Reddit search matches: title and body; the title alone once the body is gone."""
    return f"{title or ''}\n{body or ''}" if state == "ok" else (title or "")


def warehouse_corpus(wh) -> EvalCorpus:
    """Every document in the warehouse (``wh`` is an open :class:`miner.core.db.Warehouse`)."""
    rows = wh.rows("""SELECT doc_id, kind, coalesce(community, ''), title, body, thread_id, parent_id,
                             coalesce(score, 0), epoch(created_at), language, state FROM documents""")
    docs = []
    for doc_id, kind, community, title, body, thread, parent, score, created, lang, state in rows:
        text = submission_text(title, body, state) if kind != "comment" else (body or "")
        docs.append(EvalDoc(doc_id, kind, community, text, thread, parent, int(score), float(created or 0), lang))
    recorded: dict[str, set[str]] = {}
    for query_id, doc_id in wh.rows("SELECT query_id, doc_id FROM hits WHERE via = 'search'"):
        recorded.setdefault(query_id, set()).add(doc_id)
    return EvalCorpus("warehouse", docs, recorded=recorded)


def dump_corpus(paths: Iterable[str | Path]) -> EvalCorpus:
    """Reddit dump files (.zst, .ndjson, .jsonl): submissions and comments, one a line.

    Lines without an id (exports that dropped it) get ``FILE:LINE`` as their id, so they can
    still be counted as hits; malformed lines are skipped (``miner import`` quarantines them).
    """
    docs = []
    for path in paths:
        dump = open_dump(path)
        for block in read_blocks(dump):
            for i, line in enumerate(block.lines):
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(obj, dict) or not isinstance(obj.get("subreddit"), str):
                    continue
                data = unescape_legacy(obj)
                ident = data.get("id")
                fallback = f"{dump.name}:{block.first_line_no + i}"
                score = data.get("score") if isinstance(data.get("score"), int) else 0
                created = data.get("created_utc")
                created = float(created) if isinstance(created, (int, float)) else 0.0
                if isinstance(data.get("title"), str):
                    doc_id = f"reddit:t3_{ident}" if isinstance(ident, str) else fallback
                    body = data.get("selftext") if isinstance(data.get("selftext"), str) else ""
                    docs.append(EvalDoc(doc_id, "submission", data["subreddit"],
                                        submission_text(data["title"], body, submission_state(data)),
                                        score=score, created=created))
                elif isinstance(data.get("body"), str):
                    doc_id = f"reddit:t1_{ident}" if isinstance(ident, str) else fallback
                    link, parent = data.get("link_id"), data.get("parent_id")
                    docs.append(EvalDoc(doc_id, "comment", data["subreddit"],
                                        data["body"] if comment_state(data) == "ok" else "",
                                        thread_id=f"reddit:{link}" if isinstance(link, str) else None,
                                        parent_id=f"reddit:{parent}" if isinstance(parent, str) else None,
                                        score=score, created=created))
    return EvalCorpus("dump", docs, comment_order="score")  # as miner import reddit-dump picks them


# -- labels ---------------------------------------------------------------------------------
@dataclass
class Labels:
    """Decisions by document; ``incident_of`` groups documents telling the same incident."""

    decisions: dict[str, str]  # doc_id -> incident | not | unsure
    incident_of: dict[str, str] = field(default_factory=dict)
    source: str = ""

    def incident(self, doc_id: str) -> str:
        return self.incident_of.get(doc_id) or doc_id

    @property
    def positives(self) -> list[str]:
        return [d for d, v in self.decisions.items() if v == "incident"]

    @property
    def negatives(self) -> list[str]:
        return [d for d, v in self.decisions.items() if v == "not"]

    def subset(self, keep: Iterable[str]) -> "Labels":
        keep = set(keep)
        return Labels({d: v for d, v in self.decisions.items() if d in keep},
                      {d: i for d, i in self.incident_of.items() if d in keep}, self.source)


def _label(value: object, where: str) -> str:
    text = str(value or "").strip().lower()
    text = {"1": "incident", "true": "incident", "yes": "incident", "0": "not", "false": "not", "no": "not",
            "not an incident": "not", "not_incident": "not"}.get(text, text)
    if text not in LABELS:
        raise MinerError(f"{where}: label must be incident, not or unsure, got {value!r}")
    return text


def load_labels(path: str | Path) -> Labels:
    """A CSV (header ``doc_id,label[,incident]``) or JSONL file (one object a line).

    ``incident`` (optional) groups documents telling the same story; without it every
    incident document is its own incident.
    """
    path = Path(path)
    raw = read_text(path, "labels")
    records: list[tuple[str, dict]] = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise MinerError(f"{path}:{n}: not valid JSON: {exc}") from None
            if not isinstance(obj, dict):
                raise MinerError(f"{path}:{n}: expected an object with doc_id and label")
            records.append((f"{path}:{n}", obj))
    else:
        reader = csv.DictReader(io.StringIO(raw))
        if not reader.fieldnames or not {"doc_id", "label"} <= {f.strip() for f in reader.fieldnames}:
            raise MinerError(f"{path}:1: the header must name doc_id and label (and optionally incident)")
        for n, row in enumerate(reader, 2):
            records.append((f"{path}:{n}", {k.strip(): v for k, v in row.items() if k}))
    decisions: dict[str, str] = {}
    incident_of: dict[str, str] = {}
    for where, obj in records:
        doc_id = str(obj.get("doc_id") or "").strip()
        if not doc_id:
            raise MinerError(f"{where}: doc_id is missing")
        decisions[doc_id] = _label(obj.get("label"), f"{where}: doc_id {doc_id}")
        if obj.get("incident"):
            incident_of[doc_id] = str(obj["incident"]).strip()
    if not decisions:
        raise MinerError(f"{path}: no labels in the file")
    return Labels(decisions, incident_of, str(path))


def annotation_labels(wh) -> Labels:
    """Labels from triage (``v_decisions``): the adjudicated decision, else the annotators'
    agreed one; a disputed item or "unsure" is unsure. Undone cluster labels do not count.
    Documents already linked to incidents carry the incident id, so recall counts stories."""
    rows = wh.rows("SELECT doc_id, coalesce(decision, 'unsure') FROM v_decisions")
    decisions = dict(rows)
    if not decisions:
        raise MinerError("the warehouse has no triage decisions yet (miner triage label); use --labels FILE")
    incident_of = dict(wh.rows(
        "SELECT l.doc_id, min(coalesce(i.merged_into, i.incident_id)) FROM incident_documents l "
        "JOIN incidents i USING (incident_id) GROUP BY l.doc_id"))
    return Labels(decisions, {d: i for d, i in incident_of.items() if d in decisions}, "annotations")


# -- matching -------------------------------------------------------------------------------
def _day_ts(day: str | None, end: bool) -> float | None:
    if not day:
        return None
    d = datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
    return d.timestamp() + (86_400 if end else 0)


def match_plan(queries: list[PlannedQuery], corpus: EvalCorpus, *,
               search_comments: bool = False) -> dict[str, dict[str, str]]:
    """query_id -> {doc_id: via} for every document a query finds (via ``search`` or ``thread``)."""
    found: dict[str, dict[str, str]] = {q.query_id: {} for q in queries}
    reddit = [q for q in queries if q.source in ("reddit", "reddit-archive")]
    news = [(q, compile_query(parse(q.rendered)), _day_ts(q.from_date, False), _day_ts(q.to_date, True))
            for q in queries if q.source == "news"]
    search = LocalSearch(reddit) if reddit else None
    for d in corpus.docs:
        if d.kind == "article":
            if not news or not d.text:
                continue
            doc = IndexedText(d.text)
            for q, match, start, end in news:
                if (q.language and d.language and q.language != d.language) or \
                        (d.created and ((start and d.created < start) or (end and d.created >= end))):
                    continue
                if match(doc):
                    found[q.query_id][d.doc_id] = "search"
            continue
        if search is None or not d.text or (d.kind == "comment" and not search_comments):
            continue
        for q in search.search(d.community, d.text):
            _found(found[q.query_id], q, d, corpus)
    # What the source itself returned for the same query counts too (it saw whole articles).
    for q in queries:
        for doc_id in corpus.recorded.get(q.query_id, ()):
            if doc_id in corpus.by_id and doc_id not in found[q.query_id]:
                _found(found[q.query_id], q, corpus.by_id[doc_id], corpus)
    return found


def _found(hits: dict[str, str], q: PlannedQuery, d: EvalDoc, corpus: EvalCorpus) -> None:
    hits[d.doc_id] = "search"
    if d.kind == "submission" and q.comments_per_post:
        for c in corpus.comments.get(d.doc_id, ())[:q.comments_per_post]:
            hits.setdefault(c, "thread")


# -- evaluation -----------------------------------------------------------------------------
@dataclass
class QueryResult:
    query: PlannedQuery
    hits: int
    incidents: int  # distinct incidents among its hits
    only: int  # incidents no other query of the plan finds
    labelled_not: int
    capped: bool  # on a full corpus this query's listing could stop at the cap


@dataclass
class Missed:
    incident: str
    doc_ids: list[str]
    communities: list[str]
    reason: str  # out of scope | in scope, no query matched | not in the corpus


@dataclass
class Evaluation:
    plan: Plan
    corpus: str
    labels: str
    incidents: int  # distinct incidents among the labelled documents in the corpus
    found: int
    hits: int  # (query, document) pairs
    reads: int  # distinct documents found
    labelled_not_read: int
    queries: list[QueryResult]
    missed: list[Missed]
    not_in_corpus: int  # labelled documents the corpus does not hold
    found_incidents: set[str] = field(default_factory=set)
    docs_found: set[str] = field(default_factory=set)

    @property
    def recall(self) -> float:
        return self.found / self.incidents if self.incidents else 0.0

    @property
    def reads_per_incident(self) -> float | None:
        return self.reads / self.found if self.found else None

    def summary_rows(self) -> list[tuple]:
        rpi = self.reads_per_incident
        return [("incidents (distinct, labelled, in corpus)", self.incidents),
                ("found by some query", self.found),
                ("recall", f"{self.recall:.3f}"),
                ("hits (query, document)", self.hits),
                ("reads (distinct documents)", self.reads),
                ("reads per incident found", f"{rpi:.1f}" if rpi is not None else "-"),
                ("labelled 'not' among reads", self.labelled_not_read),
                ("labelled documents not in the corpus", self.not_in_corpus)]


def evaluate(plan: Plan, corpus: EvalCorpus, labels: Labels, *,
             queries: list[PlannedQuery] | None = None) -> Evaluation:
    """Which labelled incidents the plan finds in ``corpus``, per query and overall."""
    queries = queries if queries is not None else expand(plan)
    search_comments = bool(plan.reddit and plan.reddit.search_comments)
    found = match_plan(queries, corpus, search_comments=search_comments)
    inc = labels.incident
    positives = [d for d in labels.positives if d in corpus.by_id]
    incidents = {inc(d) for d in positives}
    positive_set = set(positives)
    negatives = set(labels.negatives)

    finders: dict[str, set[str]] = {}  # incident -> query ids finding it
    for qid, docs in found.items():
        for d in docs:
            if d in positive_set:
                finders.setdefault(inc(d), set()).add(qid)
    results = []
    for q in queries:
        docs = found[q.query_id]
        incs = {inc(d) for d in docs if d in positive_set}
        only = sum(1 for i in incs if finders[i] == {q.query_id})
        searched = sum(1 for v in docs.values() if v == "search")
        results.append(QueryResult(q, len(docs), len(incs), only, sum(1 for d in docs if d in negatives),
                                   capped=q.limit is not None and searched >= q.limit))
    docs_found = set().union(*found.values()) if found else set()

    scopes = {s.lower() for q in queries if q.source != "news" for s in q.scope.split("+")}
    by_incident: dict[str, list[str]] = {}
    for d in labels.positives:
        by_incident.setdefault(inc(d), []).append(d)
    missed = []
    for i, ds in sorted(by_incident.items()):
        if i in finders:
            continue
        here = [corpus.by_id[d] for d in ds if d in corpus.by_id]
        if not here:
            reason = "not in the corpus"
        elif any(d.kind != "article" and d.community.lower() in scopes for d in here) or \
                any(d.kind == "article" and any(q.source == "news" for q in queries) for d in here):
            reason = "in scope, no query matched"
        else:
            reason = "out of scope"
        missed.append(Missed(i, sorted(ds), sorted({d.community for d in here}), reason))
    missed = [m for m in missed if m.reason != "not in the corpus"] + \
        [m for m in missed if m.reason == "not in the corpus"]
    return Evaluation(
        plan=plan, corpus=corpus.name, labels=labels.source, incidents=len(incidents), found=len(finders),
        hits=sum(len(v) for v in found.values()), reads=len(docs_found),
        labelled_not_read=len(docs_found & negatives), queries=results, missed=missed,
        not_in_corpus=sum(1 for d in labels.decisions if d not in corpus.by_id),
        found_incidents=set(finders), docs_found=docs_found,
    )
