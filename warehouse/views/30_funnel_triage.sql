-- Funnel rows of the triage stage (steps 6-8), per hit source: the candidates the queue holds
-- (canonical documents with text, not tombstoned at the source), those the current scorer
-- rates as more likely an incident than not, and those an annotator has decided.
-- Base tables only: the triage views (31_triage.sql) are created after this file.
CREATE OR REPLACE VIEW _funnel_triage AS
WITH cand AS (
    SELECT DISTINCT h.source, c.doc_id
    FROM hits h
    JOIN v_document_groups g ON g.doc_id = h.doc_id
    JOIN v_canonical_documents c ON c.doc_id = g.canonical_id
    JOIN documents d ON d.doc_id = c.doc_id
    WHERE c.state = 'ok' AND d.state = 'ok'
), cur AS (
    SELECT scorer_version FROM scorers ORDER BY created_at DESC, scorer_version LIMIT 1
), likely AS (
    SELECT s.doc_id FROM scores s JOIN cur USING (scorer_version) WHERE s.score >= 0.5
), annotated AS (
    SELECT DISTINCT doc_id FROM annotations
    WHERE batch_id IS NULL OR batch_id NOT IN (SELECT batch_id FROM annotation_undos)
)
SELECT source, 6 AS step, 'candidates' AS stage, count(*) AS n FROM cand GROUP BY source
UNION ALL SELECT source, 7, 'likely incidents (score >= 0.5)', count(*) FROM cand WHERE doc_id IN (SELECT doc_id FROM likely) GROUP BY source
UNION ALL SELECT source, 8, 'annotated', count(*) FROM cand WHERE doc_id IN (SELECT doc_id FROM annotated) GROUP BY source;
