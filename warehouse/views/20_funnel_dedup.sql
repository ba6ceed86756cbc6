-- Funnel rows of the clean and dedup stages (steps 4-5), per hit source, over the documents the
-- harvest counted as "unique documents": those that still have text after cleaning (deleted,
-- removed and empty items drop out), then how many stories they are once duplicates are linked.
-- (Distinct source/document pairs first: hits has a row per query, millions on a big warehouse.)
CREATE OR REPLACE VIEW _funnel_dedup AS
WITH hd AS MATERIALIZED (
    SELECT s.source, s.doc_id, coalesce(m.canonical_id, s.doc_id) AS canonical_id
    FROM (SELECT DISTINCT source, doc_id FROM hits) s
    JOIN clean_texts c ON c.doc_id = s.doc_id AND c.state = 'ok'
    LEFT JOIN dup_members m ON m.doc_id = s.doc_id
)
SELECT source, 4 AS step, 'with text' AS stage, count(*) AS n FROM hd GROUP BY source
UNION ALL
SELECT source, 5, 'after dedup', count(DISTINCT canonical_id) FROM hd GROUP BY source;
