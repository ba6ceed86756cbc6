-- v_incidents: anonymized incidents with their codes (docs/design.md §3). No source ids,
-- URLs or usernames: provenance is counts and months. `checks` is the latest privacy check
-- (passed | failed | unchecked), `check_current` whether it checked today's narrative.
CREATE OR REPLACE VIEW v_incidents AS
WITH docs AS (
    SELECT x.incident_id,
           count(*) AS n_documents,
           count(*) FILTER (WHERE d.kind = 'submission') AS n_posts,
           count(*) FILTER (WHERE d.kind = 'comment') AS n_comments,
           count(*) FILTER (WHERE d.kind = 'article') AS n_articles,
           string_agg(DISTINCT d.source, ',' ORDER BY d.source) AS sources,
           strftime(min(d.created_at), '%Y-%m') AS first_month,
           strftime(max(d.created_at), '%Y-%m') AS last_month
    FROM incident_documents x JOIN documents d USING (doc_id)
    GROUP BY x.incident_id
), latest AS (
    SELECT owner_id, passed, narrative_sha1, checked_at,
           row_number() OVER (PARTITION BY owner_id ORDER BY checked_at DESC) AS r
    FROM privacy_checks
), scen AS (
    SELECT incident_id, string_agg(scenario_id, ',' ORDER BY scenario_id) AS scenarios
    FROM scenario_incidents GROUP BY incident_id
)
SELECT i.incident_id, i.narrative, i.product, i.support_context, i.refusal_form, i.refusal_type,
       i.failure_modes, i.phases, i.outcome, i.first_hand, i.sensitive,
       coalesce(docs.n_documents, 0) AS n_documents, docs.n_posts, docs.n_comments, docs.n_articles,
       docs.sources, docs.first_month, docs.last_month, scen.scenarios,
       CASE WHEN l.passed IS NULL THEN 'unchecked' WHEN l.passed THEN 'passed' ELSE 'failed' END AS checks,
       (l.narrative_sha1 IS NOT DISTINCT FROM sha1(coalesce(i.narrative, ''))) AS check_current,
       i.created_at, i.updated_at
FROM incidents i
LEFT JOIN docs USING (incident_id)
LEFT JOIN latest l ON l.owner_id = i.incident_id AND l.r = 1
LEFT JOIN scen USING (incident_id)
WHERE i.status = 'open'
ORDER BY i.incident_id;
