"""The rows the pipeline passes around. Field names are the warehouse's column names."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime


def content_hash(title: str | None, body: str | None) -> str:
    return hashlib.sha1(f"{title or ''}\n{body or ''}".encode()).hexdigest()


@dataclass
class Document:
    """One submission, comment or article, pseudonymized, as harvested (before cleaning)."""

    doc_id: str
    source: str  # reddit | news
    kind: str  # submission | comment | article
    native_id: str
    title: str | None
    body: str | None
    created_at: datetime | None
    state: str = "ok"  # ok | deleted | removed
    thread_id: str | None = None
    parent_id: str | None = None
    community: str | None = None
    author_hash: str | None = None
    url: str | None = None
    permalink: str | None = None
    score: int | None = None
    num_comments: int | None = None
    over_18: bool | None = None
    crosspost_parent: str | None = None
    language: str | None = None
    payload_id: str | None = None  # the raw payload this version was read from

    @property
    def content_hash(self) -> str:
        return content_hash(self.title, self.body)


@dataclass
class Hit:
    plan_id: str
    query_id: str
    doc_id: str
    source: str  # reddit | news | reddit-archive
    via: str  # search | thread
    run_id: str
    rank: int | None
    fetched_at: datetime
    payload_id: str | None


@dataclass
class RawPayload:
    payload_id: str
    source: str
    endpoint: str
    fetched_at: datetime
    body: str  # JSON text, already scrubbed


@dataclass
class RequestLog:
    run_id: str
    query_id: str | None
    source: str
    endpoint: str
    params: str  # JSON text
    status: int | None
    error: str | None
    items: int | None
    payload_id: str | None
    started_at: datetime
    elapsed_ms: float
