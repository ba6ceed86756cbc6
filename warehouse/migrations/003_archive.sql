-- 003: archive backfill: Reddit dump files applied to a plan locally.
-- An import is a run in harvest_runs (endpoint 'archive'); its hits have source
-- 'reddit-archive' and point at the same documents as live hits.

-- Archive queries have no item cap (the 1,000-item cap is a live-listing limit): NULL.
ALTER TABLE plan_queries ALTER COLUMN max_items DROP NOT NULL;

-- One row per (file, plan, mode): the checkpoint of an import and what it found so far.
-- A batch of lines and this row's new offset are committed in one transaction, so a killed
-- import resumes at the first uncommitted line, and a finished one is not read again.
CREATE TABLE archive_imports (
    file_id         VARCHAR NOT NULL,         -- f_ + sha256(size, first MiB, last MiB)[:16]
    plan_id         VARCHAR NOT NULL,
    keep_all        BOOLEAN NOT NULL,         -- --all: every in-scope item kept, matched or not
    name            VARCHAR NOT NULL,         -- file name when last read
    path            VARCHAR NOT NULL,
    size_bytes      BIGINT NOT NULL,
    status          VARCHAR NOT NULL,         -- running | done
    line_no         BIGINT NOT NULL,          -- lines committed
    byte_offset     BIGINT NOT NULL,          -- decompressed offset after the last committed line
    first_run_id    VARCHAR NOT NULL,
    last_run_id     VARCHAR NOT NULL,
    started_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP,
    lines           BIGINT NOT NULL DEFAULT 0,  -- non-empty lines read
    out_of_scope    BIGINT NOT NULL DEFAULT 0,  -- lines of subreddits outside the plan
    submissions     BIGINT NOT NULL DEFAULT 0,  -- in-scope submissions
    comments        BIGINT NOT NULL DEFAULT 0,  -- in-scope comments
    matched         BIGINT NOT NULL DEFAULT 0,  -- items at least one query matched
    hits            BIGINT NOT NULL DEFAULT 0,  -- search hits (item x query)
    kept            BIGINT NOT NULL DEFAULT 0,  -- items kept by --all without a match
    documents_new   BIGINT NOT NULL DEFAULT 0,
    quarantined     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (file_id, plan_id, keep_all)
);

-- Lines that could not be read as a Reddit item, with where they are and why. The text is a
-- prefix of the line with author fields hashed and u/handles masked: never a raw username.
CREATE TABLE archive_quarantine (
    file_id     VARCHAR NOT NULL,
    line_no     BIGINT NOT NULL,              -- 1-based line number in the decompressed file
    byte_offset BIGINT NOT NULL,              -- where the line starts (decompressed)
    name        VARCHAR NOT NULL,
    reason      VARCHAR NOT NULL,
    excerpt     VARCHAR NOT NULL,
    run_id      VARCHAR NOT NULL,
    PRIMARY KEY (file_id, line_no)
);

-- In-scope submissions an import has seen, per plan, and whether a query matched them:
-- decides what happens to a comment whose submission is in another file or import.
-- Append-only and without a key (a key costs more to maintain than the rare duplicate,
-- from a post in two files, costs to read): a thread matched if any of its rows did.
CREATE TABLE archive_threads (
    plan_id     VARCHAR NOT NULL,
    doc_id      VARCHAR NOT NULL,             -- reddit:t3_<id>
    matched     BOOLEAN NOT NULL
);

-- Comments waiting for their submission (not seen yet) or for the end of the import (their
-- submission matched: the best comments_per_post of them are attached then). Already
-- pseudonymized, like documents; rows leave once their submission has been seen.
CREATE TABLE archive_comment_pool (
    plan_id     VARCHAR NOT NULL,
    doc_id      VARCHAR NOT NULL,
    thread_id   VARCHAR NOT NULL,
    parent_id   VARCHAR,
    community   VARCHAR,
    author_hash VARCHAR,
    body        VARCHAR,
    permalink   VARCHAR,
    created_at  TIMESTAMP,
    score       INTEGER,
    state       VARCHAR NOT NULL,
    fetched_at  TIMESTAMP NOT NULL,
    payload_id  VARCHAR NOT NULL,
    payload_endpoint VARCHAR NOT NULL,        -- file:line
    payload     VARCHAR NOT NULL,             -- the line, scrubbed
    PRIMARY KEY (plan_id, doc_id)
);
