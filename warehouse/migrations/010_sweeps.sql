-- 010: sweeps. A sweep reads a community's listing back to its last pass; Reddit stops a
-- listing at about 1,000 items, so a gap longer than that leaves a window no request can
-- reach. It is recorded here (and shown by `miner plan show` and the run summary) so that a
-- dump backfill can fill it.
CREATE TABLE lost_windows (
    query_id    VARCHAR NOT NULL,             -- the sweep query (template sweep:r/SUB)
    community   VARCHAR NOT NULL,
    listing     VARCHAR NOT NULL,             -- submissions | comments
    run_id      VARCHAR NOT NULL,             -- the pass that found the gap
    window_from TIMESTAMP NOT NULL,           -- the previous pass's newest item
    window_to   TIMESTAMP NOT NULL,           -- the oldest item this pass still reached
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (query_id, run_id)
);
