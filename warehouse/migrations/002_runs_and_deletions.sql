-- 002: what each run did per query; the planner's note; deletions honoured at the source.

CREATE TABLE run_queries (
    run_id          VARCHAR NOT NULL,
    query_id        VARCHAR NOT NULL,
    source          VARCHAR NOT NULL,
    status          VARCHAR NOT NULL,         -- ok | failed | deferred (budget) | skipped (over budget)
    requests        INTEGER NOT NULL,
    hits            INTEGER NOT NULL,         -- hits written or re-seen in this run
    new_documents   INTEGER NOT NULL,
    error           VARCHAR,
    started_at      TIMESTAMP,
    finished_at     TIMESTAMP,
    PRIMARY KEY (run_id, query_id)
);

ALTER TABLE harvest_runs ADD COLUMN note VARCHAR;           -- the budget planner's message, if any
ALTER TABLE documents ADD COLUMN purged_at TIMESTAMP;       -- deleted/removed text scrubbed everywhere

CREATE TABLE deletion_checks (
    checked_at      TIMESTAMP NOT NULL,
    run_id          VARCHAR,
    checked         INTEGER NOT NULL,         -- documents re-checked at the source
    tombstoned      INTEGER NOT NULL,         -- of which now deleted or removed
    requests        INTEGER NOT NULL
);
