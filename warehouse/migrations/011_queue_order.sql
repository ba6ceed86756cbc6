-- 011: the queue's reading order, materialized when scoring runs (the only time it changes).
-- v_queue computes the same order over every table and takes seconds at a million documents;
-- handing out the next item reads this table by position and skips, at read time, what was
-- decided or is held by someone else; a document deleted at the source leaves it in the same
-- transaction as its tombstone (miner.triage.forget), and a candidate is checked by key.
-- Refreshed by the score stage (miner.triage.order.refresh_queue_order), which drops the index
-- while it rewrites the table (deleting a million rows one by one from an index is slow).
CREATE TABLE queue_order (
    doc_id         VARCHAR NOT NULL,          -- a canonical document with text
    priority       INTEGER NOT NULL,          -- reading order (scores.priority of the current scorer)
    score          DOUBLE NOT NULL,           -- scores.score and lane, so an item page reads them by key
    lane           VARCHAR NOT NULL,
    found_by       VARCHAR,                   -- swept / matched a query / both (v_queue); NULL: no hit, v_queue_all only
    care           VARCHAR[] NOT NULL,        -- care categories of its text (annotators' opt-outs skip them)
    scorer_version VARCHAR NOT NULL
);
CREATE INDEX queue_order_doc ON queue_order (doc_id);
