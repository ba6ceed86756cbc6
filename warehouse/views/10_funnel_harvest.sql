-- Funnel rows of the harvest stage (steps 1-3). v_funnel unions every _funnel_* view.
-- "queries run": live queries with a successful request, plus archive queries applied by an
-- archive import (an import applies every Reddit query of its plan to every line).
CREATE OR REPLACE VIEW _funnel_harvest AS
WITH qr AS (
    SELECT source, count(DISTINCT query_id) AS n FROM (
        SELECT source, query_id FROM requests WHERE query_id IS NOT NULL AND status = 200
        UNION ALL
        SELECT q.source, q.query_id
        FROM harvest_runs r JOIN plan_queries pq USING (plan_id) JOIN queries q USING (query_id)
        WHERE r.endpoint = 'archive' AND q.source = 'reddit-archive'
    ) GROUP BY source
), h AS (
    SELECT source, count(*) AS n FROM hits GROUP BY source
), d AS (
    SELECT source, count(DISTINCT doc_id) AS n FROM hits GROUP BY source
)
SELECT source, 1 AS step, 'queries run' AS stage, n FROM qr
UNION ALL SELECT source, 2, 'hits', n FROM h
UNION ALL SELECT source, 3, 'unique documents', n FROM d;
