-- requires: v_document_groups(doc_id, canonical_id, group_size), clean_texts(doc_id, state), v_decisions(doc_id, decision)
-- Triage for the yield views: replaces the _triage_ready and
-- _doc_triage_exceptions placeholders of 50_analyst.sql. A candidate is what the triage funnel
-- counts (30_funnel_triage.sql): a story whose canonical document has text after cleaning and was
-- not deleted at the source.
CREATE OR REPLACE VIEW _triage_ready AS SELECT true AS ready;

-- Every document: its story, whether the story has duplicates, candidate or not, the decision.
CREATE OR REPLACE VIEW _doc_triage AS
SELECT g.doc_id, g.canonical_id, g.group_size > 1 AS in_group,
       coalesce(c.state = 'ok' AND d.state = 'ok', false) AS is_candidate, dec.decision
FROM v_document_groups g
JOIN documents d ON d.doc_id = g.canonical_id
LEFT JOIN clean_texts c ON c.doc_id = g.canonical_id
LEFT JOIN v_decisions dec ON dec.doc_id = g.canonical_id;

-- The documents that are not simply a candidate story of their own, or that have a decision.
CREATE OR REPLACE VIEW _doc_triage_exceptions AS
SELECT * FROM _doc_triage WHERE NOT is_candidate OR in_group OR decision IS NOT NULL;
