-- requires: v_document_groups(doc_id, canonical_id), clean_texts(doc_id, state), v_decisions(doc_id, decision)
-- Real triage outcomes for v_query_yield (issue 9 over issues 5 and 6): replaces the _doc_triage
-- placeholder of 50_analyst.sql. A candidate is what the triage funnel counts (30_funnel_triage.sql):
-- a story whose canonical document has text after cleaning and was not deleted at the source.
CREATE OR REPLACE VIEW _doc_triage AS
SELECT g.doc_id, g.canonical_id, (c.state = 'ok' AND d.state = 'ok') AS is_candidate, dec.decision
FROM v_document_groups g
JOIN documents d ON d.doc_id = g.canonical_id
LEFT JOIN clean_texts c ON c.doc_id = g.canonical_id
LEFT JOIN v_decisions dec ON dec.doc_id = g.canonical_id;
