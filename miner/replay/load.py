"""The replay corpus in the pipeline's own shapes, without a server or a plan.

A harvest through the replay server only reaches what the plan's queries find (about 730
documents for the paper's plan). Tests and benches that measure the post-harvest stages
against the ground truth want every document the truth talks about, so
:func:`load_corpus_into` builds each item's wire object exactly as the server would send it,
runs it through the pipeline's own normalization, and saves it as one run (only tests and
benches call it). :func:`replay_corpus` gives the corpus to plan evaluation
(``miner plan evaluate --corpus replay``) as an :class:`~miner.tuning.evaluate.EvalCorpus`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from miner.collect.normalize import news_article, reddit_comment, reddit_submission
from miner.collect.pseudonyms import Pseudonymizer
from miner.collect.store import save_documents
from miner.core.clock import now_utc
from miner.core.config import installation_secret
from miner.core.db import Warehouse
from miner.core.records import Document
from miner.replay import wire
from miner.replay.corpus import Corpus, Submission, load_corpus
from miner.tuning.evaluate import EvalCorpus, EvalDoc, submission_text


def corpus_documents(corpus: Corpus, p: Pseudonymizer) -> Iterator[Document]:
    """Every submission, comment and article of ``corpus`` as the pipeline would store it."""
    for s in corpus.submissions:
        parent = corpus.by_key.get(s.crosspost_of or "")
        yield reddit_submission(wire.t3(s, crosspost_parent=wire.t3(parent) if isinstance(parent, Submission)
                                        else None), p)
        for c in s.comments:
            yield reddit_comment(wire.t1(c, s), p)
    for a in corpus.articles:
        doc = news_article(wire.news_article(a), p, language=a.language)
        if doc is not None:
            yield doc


def load_corpus_into(wh: Warehouse, corpus: Corpus | None = None) -> int:
    """Save every corpus document into ``wh`` (as run ``run_corpus``); returns how many."""
    corpus = corpus or load_corpus()
    docs = list(corpus_documents(corpus, Pseudonymizer(installation_secret(Path(wh.path)))))
    wh.insert("harvest_runs", [{"run_id": "run_corpus", "plan_id": "corpus", "started_at": now_utc(),
                                "finished_at": now_utc(), "status": "ok", "endpoint": "replay",
                                "flow_run_id": None}], on_conflict="DO NOTHING")
    with wh.transaction():
        save_documents(wh, docs, "run_corpus")
    return len(docs)


def replay_corpus() -> EvalCorpus:
    """The bundled replay corpus, exactly as the replay server searches it."""
    c = load_corpus()
    docs = []
    for s in c.submissions:
        docs.append(EvalDoc(s.doc_id, "submission", s.subreddit, submission_text(s.title, s.selftext, s.state),
                            score=s.score, created=s.created_utc))
        for cm in s.comments:
            docs.append(EvalDoc(cm.doc_id, "comment", s.subreddit, cm.body if cm.state == "ok" else "",
                                thread_id=s.doc_id, parent_id=f"reddit:{cm.parent_fullname}", score=cm.score,
                                created=cm.created_utc))
    for a in c.articles:
        text = "" if a.state != "ok" else f"{a.title}\n{a.description}\n{a.body}"
        docs.append(EvalDoc(a.doc_id, "article", a.outlet, text, created=a.published_utc, language=a.language))
    return EvalCorpus("replay", docs)
