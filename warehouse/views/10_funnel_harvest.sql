-- Funnel rows of the harvest stage (steps 1-3). v_funnel unions every _funnel_* view.
CREATE OR REPLACE VIEW _funnel_harvest AS
WITH qr AS (
    SELECT source, count(DISTINCT query_id) AS n
    FROM requests WHERE query_id IS NOT NULL AND status = 200 GROUP BY source
), h AS (
    SELECT source, count(*) AS n FROM hits GROUP BY source
), d AS (
    SELECT source, count(DISTINCT doc_id) AS n FROM hits GROUP BY source
)
SELECT source, 1 AS step, 'queries run' AS stage, n FROM qr
UNION ALL SELECT source, 2, 'hits', n FROM h
UNION ALL SELECT source, 3, 'unique documents', n FROM d;
