"""Archive backfill: apply a plan's Reddit queries to dump files, locally and resumably.

Reddit search stops at about 1,000 items a listing and forgets old posts, so researchers
backfill from Pushshift-style dumps and Arctic Shift exports. An import reads dump files
line by line (:mod:`miner.collect.dumps`) and records what the plan's queries find exactly as a
live harvest would: same document ids (``reddit:t3_<id>``), hits with lineage.

How it behaves, and why:

* **Same meaning as live search.** Queries are matched with
  :class:`miner.plan.localsearch.LocalSearch`, the matcher the replay server uses for Reddit search, on the same text (title and body; the title
  alone for deleted or removed posts). Each Reddit query of the plan has an archive twin
  with its own query id (source ``reddit-archive``, same product and template), so lineage
  tells which path found a post, and per-template yields can add both up.
* **Scope.** The plan's subreddits filter items (``scope = "each"`` hits only the query of
  the item's subreddit). ``posts_per_query`` does not apply: the 1,000 cap is a property of
  live listings, not of the data. ``search_comments = true`` matches comment bodies too;
  such hits point at the comment.
* **Comments.** A matching submission brings its ``comments_per_post`` best comments
  (highest score, then earliest, then id), found by ``link_id`` in any file of the import
  or of earlier imports. Comments wait in ``archive_comment_pool`` until their submission
  has been seen: then they are attached (if it matched) or dropped (if it did not).
  Attaching happens once, at the end of an import, so the choice does not depend on file
  order or on where an interrupted import resumed; comments arriving in a later import only
  fill free places (hits are lineage and are never taken back).
* **Sweeps.** A subreddit the plan sweeps (``sweep = true``: :func:`miner.plan.plan.expand_sweeps`)
  is read whole, as a live sweep reads its listings: every submission (and, if its comments
  are swept, every comment) there is kept with a ``via = 'sweep'`` hit of the archive sweep
  query (lineage ``sweep:r/SUB``), matched or not, so funnel and yields count it. A swept
  comment is kept at once as a document of its own, even when its submission is in no
  file: its thread (``thread_id``) is known, its title only once that file is imported.
  The summary counts these orphan comments.
* **Never overwrite.** A document already in the warehouse (harvested live, or imported
  before) is left as it is: a dump is an old snapshot, and a live copy may honour a
  deletion the dump predates. ``--all`` (``keep_all``) also keeps in-scope items no query
  matched, without hits, for broader SQL later.
* **Bad lines** (not JSON, no id, wrong types) go to ``archive_quarantine`` with file, line
  number, offset, reason and a scrubbed excerpt; the import goes on.
* **Resumable.** Lines are committed in batches; each batch and the file's checkpoint
  (decompressed byte offset and line number) go in one transaction. A killed import resumes
  at the first uncommitted line; a finished file is not read again for the same plan and
  mode.
* **Fast.** Most lines of a dump are outside the plan's subreddits; they are recognised by
  a byte search for their ``"subreddit"`` value and never parsed. In-scope lines are parsed
  with orjson; a query's text is stemmed and indexed only if the lower-cased text contains
  a needle every match needs (:func:`miner.plan.query.needle_clauses`). Rows go to DuckDB in
  Arrow batches.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import orjson
import pyarrow as pa

from miner.collect.archive_workers import default_workers, scan_in_workers
from miner.collect.dumps import CHUNK, SUFFIXES, Block, DumpError, DumpFile, open_dump, read_blocks
from miner.collect.linescan import LineScanner
from miner.collect.normalize import (_ts, comment_state, reddit_comment, reddit_submission, submission_state,
                                     unescape_legacy)
from miner.collect.pseudonyms import _AUTHOR_KEYS, DELETED_AUTHORS, Pseudonymizer
from miner.collect.store import (finish_run, harvest_lock, register_plan, save_documents, save_hits,
                                 save_payloads, start_run)
from miner.core.clock import now_utc
from miner.core.config import installation_secret
from miner.core.db import Warehouse
from miner.core.errors import MinerError
from miner.core.records import Document, Hit, RawPayload
from miner.plan.localsearch import LocalSearch
from miner.plan.plan import ARCHIVE_SOURCE, Plan, PlannedQuery, expand_archive, expand_sweeps

BATCH_LINES = 50_000  # lines per transaction and checkpoint: bigger batches commit less often (~0.1 s each) but DuckDB holds more memory
IN_SCOPE_FOR_WORKERS = 0.2  # share of in-scope lines from which worker processes pay (bench/backfill.py)
EXCERPT_CHARS = 2_000  # how much of a quarantined line is kept


# -- validating lines ------------------------------------------------------------------------
_ID = re.compile(r"[0-9a-z]{1,16}")
_LINK = re.compile(r"t3_[0-9a-z]{1,16}")
_OPTIONAL_TEXT = ("selftext", "body", "author", "parent_id", "permalink", "url")
_NUMBERS = ("created_utc", "score", "num_comments", "retrieved_on")


def _is_number(value: Any) -> bool:
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def classify(obj: Any) -> tuple[str | None, str | None]:
    """``(kind, None)`` for a usable submission or comment, else ``(None, reason)``.

    Only the fields the warehouse uses are checked; dumps add, drop and retype other fields
    from year to year, and those are kept in the raw payload as they came.
    """
    if not isinstance(obj, dict):
        return None, f"not a JSON object ({type(obj).__name__})"
    ident = obj.get("id")
    if ident is None:
        return None, "missing id"
    if not isinstance(ident, str) or not _ID.fullmatch(ident):
        return None, f"id is not a base-36 string: {str(ident)[:40]!r}"
    sub = obj.get("subreddit")
    if not isinstance(sub, str) or not sub:
        return None, "missing subreddit" if sub is None else f"subreddit is not a name: {str(sub)[:40]!r}"
    if "title" in obj:
        kind, prefix = "submission", "t3_"
        if not isinstance(obj["title"], str):
            return None, f"title is not a string ({type(obj['title']).__name__})"
    elif "link_id" in obj or "body" in obj:
        kind, prefix = "comment", "t1_"
        link = obj.get("link_id")
        if not isinstance(link, str) or not _LINK.fullmatch(link):
            return None, "comment without a link_id (t3_...)" if link is None else \
                f"link_id is not a t3_ id: {str(link)[:40]!r}"
    else:
        return None, "neither a submission (no title) nor a comment (no link_id)"
    name = obj.get("name")
    if name is not None and name != prefix + ident:
        return None, f"name {str(name)[:40]!r} does not match id {ident!r}"
    for key in _OPTIONAL_TEXT:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            return None, f"{key} is not a string ({type(value).__name__})"
    for key in _NUMBERS:
        if not _is_number(obj.get(key)):
            return None, f"{key} is not a number: {str(obj.get(key))[:40]!r}"
    return kind, None


_AUTHOR_KEY = "(" + "|".join(sorted(_AUTHOR_KEYS)) + ")"
_AUTHOR_FIELD = re.compile(r'"' + _AUTHOR_KEY + r'"(\s*:\s*")([^"\\]*)')
# An author field holding a list or an object (up to its first closing bracket, or the end of
# a broken line), and the quoted strings inside it.
_AUTHOR_NESTED = re.compile(r'"' + _AUTHOR_KEY + r'"(\s*:\s*)([\[{][^\]}]*)')
_QUOTED = re.compile(r'"([^"\\]*)"?')


def scrub_quarantined(line: bytes, obj: Any, reason: str, p: Pseudonymizer) -> tuple[str, str]:
    """``(reason, excerpt)`` of a quarantined line, safe to store: author fields hashed,
    handles masked, the excerpt cut short, the names found masked in the reason too (it may
    quote a value).

    A line that parsed is scrubbed as JSON; one that did not (truncated, broken) has every
    author-like field's value replaced up to the next quote or the end of the line, so even
    a name cut off mid-line is not kept. Author fields are bad lines' usual fault, so a
    value that is not a name (a list, an object) has every string in it hashed, and every
    name found is also hashed where it appears elsewhere in the line (a signature, a quote).
    """
    names: set[str] = set()
    if isinstance(obj, (dict, list)):
        text = orjson.dumps(p.scrub(_nested_authors_hashed(obj, p, names))).decode()
        _string_authors(obj, names)
    else:
        text = line.decode("utf-8", errors="replace")

        def hashed(m: re.Match) -> str:
            name = m.group(3)
            names.add(name)
            return f'"{m.group(1)}"{m.group(2)}{name if name in DELETED_AUTHORS else p.author(name)}'

        def nested(m: re.Match) -> str:
            inner = _QUOTED.sub(lambda q: '"' + _hash_name(q.group(1), p, names) + '"', m.group(3))
            return f'"{m.group(1)}"{m.group(2)}{inner}'

        text = p.mask_handles(_AUTHOR_NESTED.sub(nested, _AUTHOR_FIELD.sub(hashed, text))) or ""
    return mask_names(reason, names, p), mask_names(text, names, p)[:EXCERPT_CHARS]


def mask_names(text: str, names: Iterable[str], p: Pseudonymizer) -> str:
    """``text`` with every whole-word occurrence of one of ``names`` replaced by its pseudonym."""
    real = sorted({n for n in names if len(n) >= 3 and n not in DELETED_AUTHORS}, key=len, reverse=True)
    if not real:
        return text
    pattern = re.compile(r"(?<![A-Za-z0-9_-])(" + "|".join(map(re.escape, real)) + r")(?![A-Za-z0-9_-])",
                         re.IGNORECASE)
    return pattern.sub(lambda m: p.author(m.group(1)) or "", text)


def _hash_name(value: str, p: Pseudonymizer, names: set[str]) -> str:
    names.add(value)
    return value if value in DELETED_AUTHORS else p.author(value) or ""


def _nested_authors_hashed(obj: Any, p: Pseudonymizer, names: set[str]) -> Any:
    """A copy of ``obj`` in which author fields that are not strings have every value (and
    key) inside them hashed as a name; string authors are left to ``Pseudonymizer.scrub``."""
    if isinstance(obj, list):
        return [_nested_authors_hashed(v, p, names) for v in obj]
    if not isinstance(obj, dict):
        return obj
    return {k: _hash_all(v, p, names) if k in _AUTHOR_KEYS and not isinstance(v, str)
            else _nested_authors_hashed(v, p, names) for k, v in obj.items()}


def _hash_all(value: Any, p: Pseudonymizer, names: set[str]) -> Any:
    if isinstance(value, str):
        return _hash_name(value, p, names)
    if isinstance(value, list):
        return [_hash_all(v, p, names) for v in value]
    if isinstance(value, dict):
        return {_hash_all(k, p, names): _hash_all(v, p, names) for k, v in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _hash_name(str(value), p, names)  # Reddit names may be all digits
    return value


def _string_authors(obj: Any, names: set[str]) -> None:
    """Collect the string values of author fields anywhere in ``obj``."""
    if isinstance(obj, list):
        for v in obj:
            _string_authors(v, names)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if k in _AUTHOR_KEYS and isinstance(v, str):
                names.add(v)
            elif isinstance(v, (dict, list)):
                _string_authors(v, names)


# -- counts and outcomes ---------------------------------------------------------------------
@dataclass
class Counts:
    """What an import did; the same names as the counters of ``archive_imports``."""

    lines: int = 0
    out_of_scope: int = 0
    submissions: int = 0
    comments: int = 0
    matched: int = 0
    hits: int = 0
    kept: int = 0
    swept: int = 0  # items kept because the plan sweeps their subreddit (listing)
    documents_new: int = 0
    quarantined: int = 0

    def add(self, other: "Counts") -> "Counts":
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


COUNTERS = [f.name for f in fields(Counts)]


@dataclass
class FileOutcome:
    """One file of an import: ``status`` ok or failed (``finish_run`` reads it)."""

    path: str
    status: str
    note: str  # imported | resumed at line N | already imported | the error
    file_id: str | None = None
    counts: Counts = field(default_factory=Counts)

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class Progress:
    """Reported after every block of lines (a few thousand), for progress bars and logs."""

    name: str
    read_bytes: int  # of the file as stored (compressed)
    size: int
    lines: int  # read in this run
    matched: int
    line_no: int  # the file's current line
    committed: bool  # a batch (and the checkpoint) was just committed


ProgressFn = Callable[[Progress], None]


@dataclass
class ImportSummary:
    run_id: str
    plan_id: str
    status: str
    warehouse: str
    files: list[FileOutcome]
    comments_attached: int
    comments_waiting: int
    seconds: float
    orphan_comments: int = 0  # swept comments kept whose submission no imported file has shown

    @property
    def totals(self) -> Counts:
        total = Counts()
        for f in self.files:
            total.add(f.counts)
        return total


# -- the importer ----------------------------------------------------------------------------
@dataclass
class _Batch:
    counts: Counts = field(default_factory=Counts)
    docs: list[Document] = field(default_factory=list)
    payloads: dict[str, RawPayload] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    threads: dict[str, bool] = field(default_factory=dict)  # submission doc_id -> matched
    pool: list[tuple[Document, dict, RawPayload | None, int]] = field(default_factory=list)
    quarantine: list[dict] = field(default_factory=list)

    def merge(self, other: "_Batch") -> None:
        self.counts.add(other.counts)
        self.docs += other.docs
        self.payloads.update(other.payloads)
        self.hits += other.hits
        threads = self.threads
        for doc_id, matched in other.threads.items():
            if matched:
                threads[doc_id] = True
            else:
                threads.setdefault(doc_id, False)
        self.pool += other.pool
        self.quarantine += other.quarantine


_SUBREDDIT_KEY = b'"subreddit"'
_SUBREDDIT_VALUE = re.compile(rb'\s*:\s*"([^"\\]*)"')


class ArchiveImporter:
    """Imports dump files for one run of one plan into an open warehouse."""

    def __init__(self, wh: Warehouse, plan: Plan, run_id: str, pseudonymizer: Pseudonymizer, *,
                 keep_all: bool = False, progress: ProgressFn | None = None,
                 batch_lines: int = BATCH_LINES, workers: int | None = None, chunk_size: int = CHUNK) -> None:
        _require_reddit(plan)
        self.wh = wh
        self.plan = plan
        self.run_id = run_id
        self.p = pseudonymizer
        self.keep_all = keep_all
        self.progress = progress
        self.batch_lines = batch_lines
        self.workers = workers  # scanning processes; None: one per core for big files
        self.chunk_size = chunk_size
        self.search = LocalSearch(expand_archive(plan))
        # (subreddit lower-cased, listing) -> the sweep query whose hit every such item gets
        self.sweeps = {(q.scope.lower(), q.listing): q for q in expand_sweeps(plan, ARCHIVE_SOURCE)}
        self.comments_per_post = plan.reddit.comments_per_post
        self.search_comments = plan.reddit.search_comments
        self.subreddits = self.search.subreddits | {sub for sub, _ in self.sweeps}
        self._scope = frozenset(s.encode() for s in self.subreddits)
        self._swept = frozenset(sub.encode() for sub, _ in self.sweeps)
        self._now = now_utc()
        # Quick path for submissions that cannot match (see miner.collect.linescan); off when every
        # in-scope item is kept anyway, or when some query needs no word at all.
        # Whether this plan has comments waiting in the pool (if not, no pool upkeep).
        self._pooled = wh.scalar("SELECT count(*) FROM archive_comment_pool WHERE plan_id = ?", [plan.plan_id])
        needles = self.search.key_needles
        self.scanner = LineScanner(needles) if needles and not keep_all else None

    # one file ------------------------------------------------------------------------------
    def import_file(self, path: str | Path) -> FileOutcome:
        try:
            dump = open_dump(path)
        except DumpError as exc:
            return FileOutcome(str(path), "failed", str(exc))
        row = self._checkpoint(dump)
        outcome = FileOutcome(str(path), "ok", "imported", dump.file_id)
        if row["status"] == "done":
            outcome.note = "already imported"
            return outcome
        if row["line_no"]:
            outcome.note = f"resumed at line {row['line_no'] + 1:,}"
        line_no, offset = row["line_no"], row["byte_offset"]
        batch = _Batch()
        seen = 0  # lines read this run, for progress
        matched = 0
        try:
            for line_no, offset, read_bytes, part in self._scanned(dump, offset, line_no):
                batch.merge(part)
                seen += part.counts.lines
                full = batch.counts.lines >= self.batch_lines
                if full:
                    matched += batch.counts.matched
                    self._commit(dump, batch, line_no, offset, done=False)
                    outcome.counts.add(batch.counts)
                    batch = _Batch()
                if self.progress:
                    self.progress(Progress(dump.name, read_bytes, dump.size, seen,
                                           matched + batch.counts.matched, line_no, full))
        except DumpError as exc:
            outcome.status, outcome.note = "failed", str(exc)
        # What was read before an error is good: commit it, so a retry resumes after it.
        self._commit(dump, batch, line_no, offset, done=outcome.status == "ok")
        outcome.counts.add(batch.counts)
        if self.progress:
            self.progress(Progress(dump.name, dump.size, dump.size, seen, outcome.counts.matched, line_no, True))
        return outcome

    def _scanned(self, dump: DumpFile, offset: int, line_no: int) -> Iterator[tuple[int, int, int, _Batch]]:
        """``(last line, end offset, bytes read, batch)`` per block of the file, in order.

        With ``workers`` unset, the first block is scanned here and decides: worker
        processes each decompress the whole file, which pays only when scanning costs more
        than decompressing, i.e. when many lines are in the plan's subreddits (a subreddit
        export). A monthly all-of-Reddit dump is almost all out of scope and stays in one
        process, where decompressing (on a thread) overlaps the scan.
        """
        workers = self.workers if self.workers is not None else default_workers(dump)
        if self.workers is not None and workers > 1:
            yield from scan_in_workers(self, dump, offset, line_no, workers, self.chunk_size)
            return
        blocks = read_blocks(dump, start_offset=offset, start_line=line_no, chunk_size=self.chunk_size)
        for block in blocks:
            part = _Batch()
            self.scan(dump, block, part)
            yield block.last_line_no, block.end_offset, block.read_bytes, part
            if workers > 1:
                c = part.counts
                if c.lines and (c.lines - c.out_of_scope) / c.lines >= IN_SCOPE_FOR_WORKERS:
                    blocks.close()
                    yield from scan_in_workers(self, dump, block.end_offset, block.last_line_no, workers,
                                               self.chunk_size)
                    return
                workers = 1

    @staticmethod
    def new_batch() -> _Batch:
        return _Batch()

    def _checkpoint(self, dump: DumpFile) -> dict:
        key = [dump.file_id, self.plan.plan_id, self.keep_all]
        now = now_utc()
        self.wh.insert("archive_imports", [{
            "file_id": dump.file_id, "plan_id": self.plan.plan_id, "keep_all": self.keep_all, "name": dump.name,
            "path": str(dump.path), "size_bytes": dump.size, "status": "running", "line_no": 0, "byte_offset": 0,
            "first_run_id": self.run_id, "last_run_id": self.run_id, "started_at": now, "updated_at": now,
        }], on_conflict="DO NOTHING")
        return self.wh.dicts("SELECT status, line_no, byte_offset FROM archive_imports "
                             "WHERE file_id = ? AND plan_id = ? AND keep_all = ?", key)[0]

    # the hot loop ------------------------------------------------------------------------
    def scan(self, dump: DumpFile, block: Block, batch: _Batch) -> None:
        """Classify every line of a block into the batch. Kept flat and local: this loop is
        where an import spends its time (see bench/backfill.py)."""
        counts = batch.counts
        scope = self._scope
        swept = self._swept
        sweeps = self.sweeps
        search = self.search
        subreddits = self.subreddits
        keep_all = self.keep_all
        pool_comments = self.comments_per_post > 0
        search_comments = self.search_comments
        loads = orjson.loads
        quiet = self.scanner.quiet_submission if self.scanner else None
        threads = batch.threads
        first = block.first_line_no
        cut = block.cut
        for i, line in enumerate(block.lines):
            if cut and i in cut:  # a runaway line (see read_blocks): one bad line, whatever its head says
                counts.lines += 1
                self._quarantine(dump, block, i, batch, f"line too long ({cut[i]:,} bytes)", None)
                continue
            # 1. Out of scope? A byte search, no parsing. A line whose "subreddit" we cannot
            #    read this way is parsed (and quarantined if it is broken).
            pos = line.find(_SUBREDDIT_KEY)
            if pos >= 0:
                inside = False
                while pos >= 0:
                    m = _SUBREDDIT_VALUE.match(line, pos + 11)
                    if m is None or m.group(1).lower() in scope:
                        inside = True
                        break
                    pos = line.find(_SUBREDDIT_KEY, pos + 11)
                if not inside:
                    counts.lines += 1
                    counts.out_of_scope += 1
                    continue
                # 2. A whole submission without any query's needle: only its id matters
                #    (unless its subreddit is swept: then every item is kept).
                if quiet is not None and not (swept and m is not None and m.group(1).lower() in swept):
                    ident = quiet(line)
                    if ident is not None:
                        counts.lines += 1
                        counts.submissions += 1
                        threads.setdefault("reddit:t3_" + ident, False)
                        continue
            # 3. Parse and check.
            try:
                obj = loads(line)
            except orjson.JSONDecodeError as exc:
                if not line.strip():
                    continue  # blank line
                counts.lines += 1
                self._quarantine(dump, block, i, batch, f"not valid JSON: {exc}", None)
                continue
            counts.lines += 1
            kind, reason = classify(obj)
            if kind is None:
                self._quarantine(dump, block, i, batch, reason, obj)
                continue
            sub = obj["subreddit"]
            if sub.lower() not in subreddits:  # the byte search saw a nested object's subreddit
                counts.out_of_scope += 1
                continue
            data = unescape_legacy(obj)
            # 4. Match and route.
            if kind == "submission":
                counts.submissions += 1
                doc_id = "reddit:t3_" + data["id"]
                body = data.get("selftext") or "" if submission_state(data) == "ok" else ""
                found = search.search(sub, f"{data['title']}\n{body}")
                threads[doc_id] = threads.get(doc_id, False) or bool(found)
                sweep = sweeps.get((sub.lower(), "submissions")) if sweeps else None
                if found or sweep:
                    self._matched(dump, first + i, obj, reddit_submission(data, self.p), found, batch, sweep)
                elif keep_all:
                    batch.docs.append(reddit_submission(data, self.p))
                    counts.kept += 1
            else:
                counts.comments += 1
                found = search.search(sub, data.get("body") or "") \
                    if search_comments and comment_state(data) == "ok" else []
                # A swept comment is kept now, as a document of its own: it does not wait for
                # its submission (which may be in no file at all), it only links to it.
                sweep = sweeps.get((sub.lower(), "comments")) if sweeps else None
                if not (found or sweep or keep_all or pool_comments):
                    continue
                doc = reddit_comment(data, self.p)
                payload = None
                if found or sweep:
                    payload = self._matched(dump, first + i, obj, doc, found, batch, sweep)
                elif keep_all:
                    batch.docs.append(doc)
                    counts.kept += 1
                if pool_comments:
                    batch.pool.append((doc, obj, payload, first + i))

    def _matched(self, dump: DumpFile, line_no: int, obj: dict, doc: Document, found: list[PlannedQuery],
                 batch: _Batch, sweep: PlannedQuery | None = None) -> RawPayload:
        """Keep ``doc`` with a ``search`` hit per query that ``found`` it and, where its
        subreddit is swept, a ``sweep`` hit (lineage ``sweep:r/SUB``, as a live sweep records)."""
        payload = self._payload(dump, line_no, obj)
        doc.payload_id = payload.payload_id
        batch.docs.append(doc)
        batch.payloads[payload.payload_id] = payload
        hits = [(q, "search") for q in found] + ([(sweep, "sweep")] if sweep else [])
        batch.hits += [Hit(self.plan.plan_id, q.query_id, doc.doc_id, ARCHIVE_SOURCE, via, self.run_id, None,
                           payload.fetched_at, payload.payload_id) for q, via in hits]
        if found:
            batch.counts.matched += 1
            batch.counts.hits += len(found)
        if sweep:
            batch.counts.swept += 1
        return payload

    def _payload(self, dump: DumpFile, line_no: int, obj: dict) -> RawPayload:
        """The line as stored for lineage: scrubbed like every payload, addressed by content;
        its endpoint says where it came from (``file:line``)."""
        body = orjson.dumps(self.p.scrub(obj), option=orjson.OPT_SORT_KEYS).decode()
        fetched = _ts(obj.get("retrieved_on") or obj.get("retrieved_utc")) or self._now
        return RawPayload(hashlib.sha1(body.encode()).hexdigest(), ARCHIVE_SOURCE, f"{dump.name}:{line_no}",
                          fetched, body)

    def _quarantine(self, dump: DumpFile, block: Block, i: int, batch: _Batch, reason: str, obj: Any) -> None:
        reason, excerpt = scrub_quarantined(block.lines[i], obj, reason, self.p)
        batch.quarantine.append({"file_id": dump.file_id, "line_no": block.first_line_no + i,
                                 "byte_offset": block.offset(i), "name": dump.name, "reason": reason,
                                 "excerpt": excerpt, "run_id": self.run_id})
        batch.counts.quarantined += 1

    # committing --------------------------------------------------------------------------
    def _commit(self, dump: DumpFile, batch: _Batch, line_no: int, offset: int, *, done: bool) -> None:
        """One batch and the file's checkpoint, all or nothing."""
        wh, plan_id = self.wh, self.plan.plan_id
        with wh.transaction():
            batch.counts.documents_new = save_documents(wh, batch.docs, self.run_id, keep_existing=True)
            save_payloads(wh, batch.payloads.values())
            save_hits(wh, batch.hits, self.run_id)
            if batch.threads:
                wh.insert("archive_threads", pa.table({
                    "plan_id": pa.array([plan_id] * len(batch.threads)),
                    "doc_id": pa.array(list(batch.threads)), "matched": pa.array(list(batch.threads.values()))}))
            self._pool(dump, batch)
            if batch.quarantine:
                wh.insert("archive_quarantine", batch.quarantine, on_conflict="DO NOTHING")
            now = now_utc()
            wh.execute(
                "UPDATE archive_imports SET status = ?, line_no = ?, byte_offset = ?, last_run_id = ?, "
                "updated_at = ?, finished_at = ?, name = ?, path = ?, "
                + ", ".join(f"{c} = {c} + ?" for c in COUNTERS)
                + " WHERE file_id = ? AND plan_id = ? AND keep_all = ?",
                ["done" if done else "running", line_no, offset, self.run_id, now, now if done else None,
                 dump.name, str(dump.path), *(getattr(batch.counts, c) for c in COUNTERS),
                 dump.file_id, plan_id, self.keep_all])

    def _pool(self, dump: DumpFile, batch: _Batch) -> None:
        """Comments wait for their submission, unless it was seen already and did not match."""
        wh, plan_id = self.wh, self.plan.plan_id
        if batch.pool:
            threads = list({doc.thread_id for doc, _, _, _ in batch.pool})
            closed = {r[0] for r in wh.rows(
                "SELECT doc_id FROM archive_threads WHERE plan_id = ? AND doc_id IN (SELECT unnest(?)) "
                "GROUP BY doc_id HAVING NOT bool_or(matched)", [plan_id, threads])}
            rows: dict[str, dict] = {}
            for doc, obj, payload, line_no in batch.pool:
                if doc.thread_id in closed:
                    continue
                payload = payload or self._payload(dump, line_no, obj)
                rows[doc.doc_id] = {
                    "plan_id": plan_id, "doc_id": doc.doc_id, "thread_id": doc.thread_id,
                    "parent_id": doc.parent_id, "community": doc.community, "author_hash": doc.author_hash,
                    "body": doc.body, "permalink": doc.permalink, "created_at": doc.created_at,
                    "score": doc.score, "state": doc.state, "fetched_at": payload.fetched_at,
                    "payload_id": payload.payload_id, "payload_endpoint": payload.endpoint,
                    "payload": payload.body}
            self._pooled += wh.insert("archive_comment_pool", list(rows.values()), on_conflict="DO NOTHING")
        unmatched = [d for d, m in batch.threads.items() if not m]
        if unmatched and self._pooled:  # submissions seen now close comments pooled before
            wh.execute("DELETE FROM archive_comment_pool WHERE plan_id = ? AND thread_id IN (SELECT unnest(?)) "
                       "AND thread_id NOT IN (SELECT doc_id FROM archive_threads WHERE plan_id = ? AND matched)",
                       [plan_id, unmatched, plan_id])

    # comments --------------------------------------------------------------------------
    def attach_comments(self) -> int:
        """Give every matched submission its best comments, up to ``comments_per_post``.

        Best: highest score, then earliest, then id. Places already taken (by an earlier
        import) are kept; then every pooled comment whose submission has been seen leaves
        the pool. Runs once per import, in one transaction; running it again does nothing.
        """
        n = self.comments_per_post
        wh, plan_id = self.wh, self.plan.plan_id
        if n <= 0:
            return 0
        with wh.transaction():
            rows = wh.dicts(_ATTACH_SQL, {"plan": plan_id, "source": ARCHIVE_SOURCE, "n": n})
            if rows:
                threads = sorted({r["thread_id"] for r in rows})
                queries: dict[str, list[str]] = {}
                for query_id, doc_id in wh.rows(
                        "SELECT query_id, doc_id FROM hits WHERE plan_id = ? AND source = ? AND via = 'search' "
                        "AND doc_id IN (SELECT unnest(?))", [plan_id, ARCHIVE_SOURCE, threads]):
                    queries.setdefault(doc_id, []).append(query_id)
                docs, payloads, hits = [], {}, []
                for r in rows:
                    docs.append(Document(
                        doc_id=r["doc_id"], source="reddit", kind="comment",
                        native_id=r["doc_id"].removeprefix("reddit:"), title=None, body=r["body"],
                        created_at=r["created_at"], state=r["state"], thread_id=r["thread_id"],
                        parent_id=r["parent_id"], community=r["community"], author_hash=r["author_hash"],
                        permalink=r["permalink"], score=r["score"], payload_id=r["payload_id"]))
                    payloads[r["payload_id"]] = RawPayload(r["payload_id"], ARCHIVE_SOURCE, r["payload_endpoint"],
                                                           r["fetched_at"], r["payload"])
                    hits += [Hit(plan_id, q, r["doc_id"], ARCHIVE_SOURCE, "thread", self.run_id, None,
                                 r["fetched_at"], r["payload_id"]) for q in queries.get(r["thread_id"], [])]
                save_documents(wh, docs, self.run_id, keep_existing=True)
                save_payloads(wh, payloads.values())
                save_hits(wh, hits, self.run_id)
            wh.execute("DELETE FROM archive_comment_pool WHERE plan_id = ? AND thread_id IN "
                       "(SELECT doc_id FROM archive_threads WHERE plan_id = ?)", [plan_id, plan_id])
        return len(rows)

    def comments_waiting(self) -> int:
        """Pooled comments whose submission no import has shown yet."""
        return self.wh.scalar("SELECT count(*) FROM archive_comment_pool WHERE plan_id = ?", [self.plan.plan_id])

    def orphan_comments(self) -> int:
        """Swept comments kept for this plan whose submission is in no imported file and not
        in the warehouse: their thread's title comes when the submission's file is imported."""
        return self.wh.scalar(
            "SELECT count(DISTINCT h.doc_id) FROM hits h JOIN documents d USING (doc_id) "
            "WHERE h.plan_id = ? AND h.source = ? AND h.via = 'sweep' AND d.kind = 'comment' "
            "AND d.thread_id NOT IN (SELECT doc_id FROM archive_threads WHERE plan_id = ?) "
            "AND d.thread_id NOT IN (SELECT doc_id FROM documents)",
            [self.plan.plan_id, ARCHIVE_SOURCE, self.plan.plan_id])


# Pooled comments of matched submissions, best first, as many as each submission has free
# places (comments_per_post minus those attached by earlier imports).
_ATTACH_SQL = """
WITH attached AS (
    SELECT h.doc_id, d.thread_id
    FROM hits h JOIN documents d USING (doc_id)
    WHERE h.plan_id = $plan AND h.source = $source AND h.via = 'thread'
    GROUP BY ALL
), taken AS (
    SELECT thread_id, count(*) AS n FROM attached GROUP BY thread_id
), ranked AS (
    SELECT p.*, row_number() OVER (PARTITION BY p.thread_id
                                   ORDER BY p.score DESC NULLS LAST, p.created_at NULLS LAST, p.doc_id) AS place
    FROM archive_comment_pool p
    WHERE p.plan_id = $plan AND p.doc_id NOT IN (SELECT doc_id FROM attached)
      AND p.thread_id IN (SELECT doc_id FROM archive_threads WHERE plan_id = $plan AND matched)
)
SELECT r.* EXCLUDE (place) FROM ranked r LEFT JOIN taken USING (thread_id)
WHERE r.place <= $n - coalesce(taken.n, 0)
ORDER BY r.thread_id, r.place
"""


# -- runs: what the CLI and the Prefect flow call ----------------------------------------------
def _require_reddit(plan: Plan) -> None:
    if plan.reddit is None:
        raise MinerError(f"{plan.path}: the plan has no [reddit] table, so nothing applies to Reddit dumps")


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a folder stands for the dump files in it, by name. Raises a
    :class:`~miner.collect.dumps.DumpError` for anything that is not a readable dump."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                raise DumpError(f"{path}: no .zst, .ndjson or .jsonl files in this folder")
            out += found
        else:
            open_dump(path)  # fails early, with the path, if it is missing or not a dump
            out.append(path)
    return out


def start_import(warehouse: str | Path, plan: Plan, *, flow_run_id: str | None = None) -> str:
    """Record a run (endpoint ``archive``) and the plan's archive queries; returns the run id."""
    _require_reddit(plan)
    with Warehouse.open(warehouse) as wh:
        run_id = start_run(wh, plan, endpoint="archive", flow_run_id=flow_run_id)
        register_plan(wh, plan, expand_archive(plan) + expand_sweeps(plan, ARCHIVE_SOURCE))
    return run_id


def import_file_at(warehouse: str | Path, plan: Plan, run_id: str, path: str | Path, *, keep_all: bool = False,
                   progress: ProgressFn | None = None, batch_lines: int = BATCH_LINES,
                   workers: int | None = None) -> FileOutcome:
    """Open the warehouse, import one file, close (plain arguments: a Prefect task calls it)."""
    with Warehouse.open(warehouse) as wh:
        importer = ArchiveImporter(wh, plan, run_id, Pseudonymizer(installation_secret(Path(warehouse))),
                                   keep_all=keep_all, progress=progress, batch_lines=batch_lines, workers=workers)
        return importer.import_file(path)


def finish_import(warehouse: str | Path, plan: Plan, run_id: str, outcomes: list[FileOutcome],
                  started: float) -> ImportSummary:
    """Attach comments, close the run (ok / partial / failed by file), and summarise."""
    with Warehouse.open(warehouse) as wh:
        importer = ArchiveImporter(wh, plan, run_id, Pseudonymizer(installation_secret(Path(warehouse))))
        attached = importer.attach_comments()
        waiting = importer.comments_waiting()
        orphans = importer.orphan_comments()
        status = finish_run(wh, run_id, outcomes)
    return ImportSummary(run_id, plan.plan_id, status, str(warehouse), outcomes, attached, waiting,
                         time.monotonic() - started, orphans)


def backfill(warehouse: str | Path, plan: Plan, paths: Iterable[str | Path], *, keep_all: bool = False,
             progress: ProgressFn | None = None, flow_run_id: str | None = None,
             batch_lines: int = BATCH_LINES, workers: int | None = None) -> ImportSummary:
    """Import dump files into the warehouse as one run of ``plan`` (the CLI's whole job)."""
    started = time.monotonic()
    files = expand_paths(paths)
    with harvest_lock(warehouse):  # a run open in another process must not be taken for a dead one
        run_id = start_import(warehouse, plan, flow_run_id=flow_run_id)
        outcomes = [import_file_at(warehouse, plan, run_id, f, keep_all=keep_all, progress=progress,
                                   batch_lines=batch_lines, workers=workers) for f in files]
        return finish_import(warehouse, plan, run_id, outcomes, started)
