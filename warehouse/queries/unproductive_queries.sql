-- Which queries cost requests but find nothing?
-- Per query: hits, documents, incidents and the requests spent on it across runs, least
-- productive first (candidates to drop from a plan).
WITH spent AS (
    SELECT query_id, sum(requests) AS requests, count(*) AS runs,
           count(*) FILTER (WHERE status = 'failed') AS failed_runs
    FROM run_queries GROUP BY query_id
)
SELECT y.source, y.product, y.template, y.scope, y.hits, y.unique_documents, y.incidents,
       coalesce(s.requests, 0) AS requests, coalesce(s.runs, 0) AS runs,
       coalesce(s.failed_runs, 0) AS failed_runs,
       round(y.unique_documents / nullif(s.requests, 0), 2) AS documents_per_request
FROM v_query_yield y LEFT JOIN spent s USING (query_id)
ORDER BY y.incidents, y.unique_documents, requests DESC, y.source, y.product, y.template;
