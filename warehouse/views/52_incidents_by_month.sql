-- requires: incidents(incident_id, status, product, support_context, refusal_form), incident_documents(incident_id, doc_id)
-- Incidents for the analysts' views: replaces the _doc_incidents,
-- v_incidents_by_month and v_incidents_monthly placeholders of 50_analyst.sql. form is a list (an incident may show several
-- refusal forms): an incident counts once under each of its forms, and under NULL when it has none.
-- Incidents merged into another are counted through the one that absorbed them.
CREATE OR REPLACE VIEW _open_incidents AS
SELECT incident_id, product, support_context AS context, refusal_form AS form
FROM incidents WHERE status <> 'merged';

CREATE OR REPLACE VIEW _doc_incidents AS
SELECT l.doc_id, l.incident_id FROM incident_documents l JOIN _open_incidents USING (incident_id);

-- When an incident was first told: its earliest document.
CREATE OR REPLACE VIEW _incident_first_told AS
SELECT l.incident_id, min(d.created_at) AS told_at, count(DISTINCT l.doc_id) AS documents
FROM _doc_incidents l JOIN documents d USING (doc_id) GROUP BY l.incident_id;

CREATE OR REPLACE VIEW v_incidents_monthly AS
SELECT date_trunc('month', f.told_at)::DATE AS month, i.product, i.context,
       count(DISTINCT i.incident_id) AS incidents, sum(f.documents)::BIGINT AS documents
FROM _open_incidents i JOIN _incident_first_told f USING (incident_id)
GROUP BY ALL
ORDER BY month, i.product, i.context;

CREATE OR REPLACE VIEW v_incidents_by_month AS
SELECT date_trunc('month', f.told_at)::DATE AS month, i.product, i.context, f2.form,
       count(DISTINCT i.incident_id) AS incidents
FROM _open_incidents i
JOIN _incident_first_told f USING (incident_id)
CROSS JOIN LATERAL (SELECT unnest(CASE WHEN len(coalesce(i.form, [])) = 0 THEN [NULL::VARCHAR]
                                       ELSE i.form END) AS form) f2
GROUP BY ALL
ORDER BY month, i.product, i.context, f2.form;
