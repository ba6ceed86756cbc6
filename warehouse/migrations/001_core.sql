-- 001: plans, queries, runs, requests, raw payloads, documents, hits.
-- All timestamps are UTC. Ids follow docs/design.md §3.

CREATE TABLE plans (
    plan_id     VARCHAR PRIMARY KEY,          -- name@sha256[:12] of the file's text
    name        VARCHAR NOT NULL,
    path        VARCHAR,
    sha256      VARCHAR NOT NULL,
    body        VARCHAR NOT NULL,             -- the plan as it was when it ran
    first_used_at TIMESTAMP NOT NULL
);

CREATE TABLE queries (
    query_id    VARCHAR PRIMARY KEY,          -- q_ + sha1(source|scope|rendered)[:12]
    source      VARCHAR NOT NULL,             -- reddit | news
    scope       VARCHAR NOT NULL,             -- r/a+b+c for Reddit, language and window for news
    text        VARCHAR NOT NULL,             -- plan language, product filled in
    rendered    VARCHAR NOT NULL,             -- exactly what the API receives
    product     VARCHAR,
    template    VARCHAR NOT NULL
);

CREATE TABLE plan_queries (
    plan_id     VARCHAR NOT NULL,
    query_id    VARCHAR NOT NULL,
    priority    INTEGER NOT NULL,
    max_items   INTEGER NOT NULL,
    PRIMARY KEY (plan_id, query_id)
);

CREATE TABLE harvest_runs (
    run_id      VARCHAR PRIMARY KEY,
    plan_id     VARCHAR NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      VARCHAR NOT NULL,             -- running | ok | partial | failed
    endpoint    VARCHAR NOT NULL,             -- live | replay
    flow_run_id VARCHAR
);

CREATE SEQUENCE request_seq;
CREATE TABLE requests (
    request_id  BIGINT PRIMARY KEY DEFAULT nextval('request_seq'),
    run_id      VARCHAR NOT NULL,
    query_id    VARCHAR,
    source      VARCHAR NOT NULL,
    endpoint    VARCHAR NOT NULL,             -- path without host, e.g. /r/a+b/search
    params      JSON,
    status      INTEGER,                      -- HTTP status; NULL when no response came
    error       VARCHAR,
    items       INTEGER,
    payload_id  VARCHAR,
    started_at  TIMESTAMP NOT NULL,
    elapsed_ms  DOUBLE
);

-- Response bodies as fetched, content-addressed, with usernames pseudonymized before storage.
CREATE TABLE raw_payloads (
    payload_id  VARCHAR PRIMARY KEY,          -- sha1 of the stored body
    source      VARCHAR NOT NULL,
    endpoint    VARCHAR NOT NULL,
    fetched_at  TIMESTAMP NOT NULL,
    body        JSON NOT NULL
);

CREATE TABLE documents (
    doc_id          VARCHAR PRIMARY KEY,      -- reddit:t3_x | reddit:t1_x | news:sha1(url)
    source          VARCHAR NOT NULL,         -- reddit | news
    kind            VARCHAR NOT NULL,         -- submission | comment | article
    native_id       VARCHAR NOT NULL,
    thread_id       VARCHAR,                  -- the submission's doc_id, for comments
    parent_id       VARCHAR,                  -- parent comment or submission doc_id
    community       VARCHAR,                  -- subreddit, or the outlet for news
    author_hash     VARCHAR,                  -- HMAC of the username; NULL when deleted
    title           VARCHAR,
    body            VARCHAR,                  -- NULL when deleted or removed
    url             VARCHAR,
    permalink       VARCHAR,
    created_at      TIMESTAMP,
    score           INTEGER,
    num_comments    INTEGER,
    over_18         BOOLEAN,
    state           VARCHAR NOT NULL,         -- ok | deleted | removed
    crosspost_parent VARCHAR,                 -- doc_id of the original, for crossposts
    language        VARCHAR,
    content_hash    VARCHAR NOT NULL,         -- sha1 of title + body as harvested
    payload_id      VARCHAR,                  -- the raw payload this version came from
    first_seen_at   TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    first_run_id    VARCHAR NOT NULL,
    last_run_id     VARCHAR NOT NULL,
    comments_fetched_at TIMESTAMP             -- submissions: when its comments were last fetched
);

-- One row per (plan, query, document): which search found which item, first and last.
CREATE TABLE hits (
    plan_id     VARCHAR NOT NULL,
    query_id    VARCHAR NOT NULL,
    doc_id      VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,             -- reddit | news | reddit-archive
    via         VARCHAR NOT NULL,             -- search: the query matched it; thread: a comment of a matched post
    run_id      VARCHAR NOT NULL,             -- the run that first found it
    rank        INTEGER,                      -- position in the result listing (1-based)
    fetched_at  TIMESTAMP NOT NULL,
    payload_id  VARCHAR,
    last_run_id VARCHAR NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (plan_id, query_id, doc_id)
);

-- Per query: where the last complete pass stopped (high-water mark) and an unfinished
-- pass's cursor, so an interrupted run resumes instead of starting over.
CREATE TABLE query_state (
    query_id        VARCHAR PRIMARY KEY,
    high_water      TIMESTAMP,                -- newest created_at seen by a complete pass
    cursor          VARCHAR,                  -- 'after' token or page number of an unfinished pass
    pass_rank       INTEGER,                  -- items already ranked in the unfinished pass
    pass_newest     TIMESTAMP,                -- newest created_at seen in the unfinished pass
    pass_run_id     VARCHAR,
    last_run_id     VARCHAR,
    last_status     VARCHAR,                  -- ok | failed
    last_error      VARCHAR,
    failures        INTEGER NOT NULL DEFAULT 0,
    updated_at      TIMESTAMP NOT NULL
);
