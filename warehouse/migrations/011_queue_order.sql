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

-- A warehouse scored before this migration gets its order now (as refresh_queue_order writes
-- it at the time of this migration), so the queue is not empty until the next `miner process`.
-- Texts without care flags yet are flagged at read time before an opted-out annotator sees them.
INSERT INTO queue_order
WITH cur AS (SELECT scorer_version FROM scorers ORDER BY created_at DESC, scorer_version LIMIT 1),
lanes AS (
    SELECT coalesce(m.canonical_id, h.doc_id) AS doc_id,
           CASE WHEN bool_or(h.via = 'sweep') AND bool_or(h.via <> 'sweep') THEN 'swept, matched a query'
                WHEN bool_or(h.via = 'sweep') THEN 'swept' ELSE 'matched a query' END AS found_by
    FROM hits h LEFT JOIN dup_members m USING (doc_id) GROUP BY 1
)
SELECT s.doc_id, s.priority, s.score, s.lane, lanes.found_by, coalesce(f.categories, []), s.scorer_version
FROM scores s JOIN cur USING (scorer_version) JOIN documents d USING (doc_id)
LEFT JOIN dup_members g USING (doc_id) LEFT JOIN lanes USING (doc_id) LEFT JOIN care_flags f USING (doc_id)
WHERE coalesce(g.is_canonical, true) AND d.state = 'ok'
ORDER BY s.priority;
