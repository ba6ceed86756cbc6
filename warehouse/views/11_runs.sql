-- v_runs: one row per harvest run with what it did.
CREATE OR REPLACE VIEW v_runs AS
SELECT r.run_id, r.plan_id, r.started_at, r.finished_at, r.status, r.endpoint, r.note,
       count(q.query_id)                                    AS queries,
       count(q.query_id) FILTER (WHERE q.status = 'ok')     AS queries_ok,
       count(q.query_id) FILTER (WHERE q.status = 'failed') AS queries_failed,
       count(q.query_id) FILTER (WHERE q.status IN ('deferred', 'skipped')) AS queries_deferred,
       coalesce(sum(q.requests), 0)                         AS requests,
       coalesce(sum(q.new_documents), 0)                    AS new_documents
FROM harvest_runs r LEFT JOIN run_queries q USING (run_id)
GROUP BY ALL
ORDER BY r.started_at;

-- v_funnel_by_run: the harvest funnel of each run (what that run added).
-- Columns: run_id, source, step, stage, n.
CREATE OR REPLACE VIEW v_funnel_by_run AS
SELECT run_id, source, 1 AS step, 'queries run' AS stage, count(*) FILTER (WHERE status = 'ok') AS n
FROM run_queries GROUP BY ALL
UNION ALL
SELECT run_id, source, 2, 'requests', sum(requests) FROM run_queries GROUP BY ALL
UNION ALL
SELECT run_id, source, 3, 'new hits', count(*) FROM hits GROUP BY ALL
UNION ALL
SELECT d.first_run_id, h.source, 4, 'new documents', count(DISTINCT d.doc_id)
FROM documents d JOIN hits h ON h.doc_id = d.doc_id AND h.run_id = d.first_run_id GROUP BY ALL
ORDER BY run_id, source, step;
