-- Funnel rows of the triage stage (steps 6-8), per hit source: the candidates the queue holds
-- (and, when a plan sweeps, how many each lane found)
-- (canonical documents with text, not tombstoned at the source), those the current scorer
-- rates as more likely an incident than not, and those an annotator has decided.
-- Base tables only: the triage views (31_triage.sql) are created after this file.
CREATE OR REPLACE VIEW _funnel_triage AS
WITH cand AS MATERIALIZED (
    -- stories (canonical documents) a sweep or a search found, with text, not tombstoned at the
    -- source, and which of the two lanes found them; distinct source/document pairs first
    -- (hits has a row per query)
    SELECT s.source, coalesce(m.canonical_id, s.doc_id) AS doc_id, bool_or(s.swept) AS swept,
           bool_or(s.matched) AS matched
    FROM (SELECT source, doc_id, bool_or(via = 'sweep') AS swept, bool_or(via <> 'sweep') AS matched
          FROM hits GROUP BY ALL) s
    LEFT JOIN dup_members m ON m.doc_id = s.doc_id
    SEMI JOIN clean_texts c ON c.doc_id = coalesce(m.canonical_id, s.doc_id) AND c.state = 'ok'
    SEMI JOIN documents d ON d.doc_id = coalesce(m.canonical_id, s.doc_id) AND d.state = 'ok'
    GROUP BY ALL
), cur AS (
    SELECT scorer_version FROM scorers ORDER BY created_at DESC, scorer_version LIMIT 1
), likely AS (
    SELECT s.doc_id FROM scores s JOIN cur USING (scorer_version) WHERE s.score >= 0.5
), annotated AS (
    SELECT DISTINCT doc_id FROM annotations
    WHERE batch_id IS NULL OR batch_id NOT IN (SELECT batch_id FROM annotation_undos)
)
SELECT source, 6 AS step, 'candidates' AS stage, count(*) AS n FROM cand GROUP BY source
-- the two lanes, where a source has swept candidates (a search-only plan shows no split)
UNION ALL SELECT source, 6, 'candidates: matched a query', count(*) FILTER (WHERE matched) FROM cand GROUP BY source
    HAVING bool_or(swept)
UNION ALL SELECT source, 6, 'candidates: swept', count(*) FILTER (WHERE swept) FROM cand GROUP BY source
    HAVING bool_or(swept)
UNION ALL SELECT source, 7, 'likely incidents (score >= 0.5)', count(*) FROM cand WHERE doc_id IN (SELECT doc_id FROM likely) GROUP BY source
UNION ALL SELECT source, 8, 'annotated', count(*) FROM cand WHERE doc_id IN (SELECT doc_id FROM annotated) GROUP BY source;
