-- Funnel rows of the clean and dedup stages (steps 4-5), per hit source, over the documents the
-- harvest counted as "unique documents": those that still have text after cleaning (deleted,
-- removed and empty items drop out), then how many stories they are once duplicates are linked.
CREATE OR REPLACE VIEW _funnel_dedup AS
WITH hd AS (
    SELECT DISTINCT h.source, h.doc_id, g.canonical_id
    FROM hits h
    JOIN clean_texts c ON c.doc_id = h.doc_id AND c.state = 'ok'
    JOIN v_document_groups g ON g.doc_id = h.doc_id
)
SELECT source, 4 AS step, 'with text' AS stage, count(DISTINCT doc_id) AS n FROM hd GROUP BY source
UNION ALL
SELECT source, 5, 'after dedup', count(DISTINCT canonical_id) FROM hd GROUP BY source;
