-- Funnel rows of the incidents stage (steps 9-10): incidents and scenarios, per source of
-- their documents (an incident told on Reddit and in the news counts in both).
CREATE OR REPLACE VIEW _funnel_incidents AS
WITH inc AS (
    SELECT d.source, i.incident_id
    FROM incidents i JOIN incident_documents x USING (incident_id) JOIN documents d USING (doc_id)
    WHERE i.status = 'open'
)
SELECT source, 9 AS step, 'incidents' AS stage, count(DISTINCT incident_id) AS n FROM inc GROUP BY source
UNION ALL
SELECT inc.source, 10, 'scenarios', count(DISTINCT s.scenario_id)
FROM scenario_incidents s JOIN inc USING (incident_id) GROUP BY inc.source;
