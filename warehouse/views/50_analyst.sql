-- Analysts' views (issue 9). Columns are documented in README.md, section "Analysts".
-- They read the harvest tables, plus two placeholders that stand for later stages until those
-- stages exist in a warehouse: _doc_triage (replaced by 51_query_yield_triage.sql) and
-- _doc_incidents (replaced by 52_incidents_by_month.sql). So every view here always exists,
-- and its candidate/incident columns are 0 until the stages producing them have run.

-- Per document: its story (canonical document), whether triage counts it as a candidate, and
-- the decision on that story (incident | not | unsure | NULL).
CREATE OR REPLACE VIEW _doc_triage AS
SELECT NULL::VARCHAR AS doc_id, NULL::VARCHAR AS canonical_id, NULL::BOOLEAN AS is_candidate,
       NULL::VARCHAR AS decision WHERE false;

-- Which incidents each document belongs to.
CREATE OR REPLACE VIEW _doc_incidents AS
SELECT NULL::VARCHAR AS doc_id, NULL::VARCHAR AS incident_id WHERE false;

-- Incidents per month of the first document telling them, by product, context and refusal form
-- (an incident with two forms counts under each), and the same without form (each incident once).
CREATE OR REPLACE VIEW v_incidents_by_month AS
SELECT NULL::DATE AS month, NULL::VARCHAR AS product, NULL::VARCHAR AS context,
       NULL::VARCHAR AS form, NULL::BIGINT AS incidents WHERE false;
CREATE OR REPLACE VIEW v_incidents_monthly AS
SELECT NULL::DATE AS month, NULL::VARCHAR AS product, NULL::VARCHAR AS context,
       NULL::BIGINT AS incidents, NULL::BIGINT AS documents WHERE false;

-- What each query's documents became: one row per (query, story) from triage and per
-- (query, incident); v_query_yield and v_yield_by_product_template count these.
CREATE OR REPLACE VIEW _query_outcomes AS
SELECT DISTINCT h.query_id, t.canonical_id, t.is_candidate, t.decision, NULL::VARCHAR AS incident_id
FROM hits h JOIN _doc_triage t USING (doc_id)
UNION ALL
SELECT DISTINCT h.query_id, NULL, NULL, NULL, i.incident_id
FROM hits h JOIN _doc_incidents i USING (doc_id);

-- v_query_yield: one row per query (product x template x scope, per source): what it found and
-- what came of it. precision = incident_documents / annotated (stories judged, share incidents).
-- hits holds one row per (plan, query, document), so a query used by one plan has as many
-- unique documents as hits; only queries shared by several plans (or plan versions) need the
-- costly distinct count (5M hits: 0.2 s instead of 2 s).
CREATE OR REPLACE VIEW v_query_yield AS
WITH h0 AS (
    SELECT query_id, count(*) AS hits,
           count(*) FILTER (WHERE via = 'search') AS search_hits,
           min(plan_id) <> max(plan_id) AS several_plans,
           min(fetched_at) AS first_hit_at, max(last_seen_at) AS last_seen_at
    FROM hits GROUP BY query_id
), shared AS (
    SELECT query_id, count(DISTINCT doc_id) AS unique_documents
    FROM hits WHERE query_id IN (SELECT query_id FROM h0 WHERE several_plans) GROUP BY query_id
), h AS (
    SELECT h0.*, CASE WHEN several_plans THEN shared.unique_documents ELSE hits END AS unique_documents
    FROM h0 LEFT JOIN shared USING (query_id)
), o AS (
    SELECT query_id,
           count(DISTINCT canonical_id) FILTER (WHERE is_candidate) AS candidates,
           count(DISTINCT canonical_id) FILTER (WHERE is_candidate AND decision IS NOT NULL) AS annotated,
           count(DISTINCT canonical_id) FILTER (WHERE is_candidate AND decision = 'incident') AS incident_documents,
           count(DISTINCT incident_id) AS incidents
    FROM _query_outcomes GROUP BY query_id
)
SELECT q.query_id, q.source, q.product, q.template, q.scope, q.rendered,
       coalesce(h.hits, 0)               AS hits,
       coalesce(h.search_hits, 0)        AS search_hits,
       coalesce(h.unique_documents, 0)   AS unique_documents,
       coalesce(o.candidates, 0)         AS candidates,
       coalesce(o.annotated, 0)          AS annotated,
       coalesce(o.incident_documents, 0) AS incident_documents,
       coalesce(o.incidents, 0)          AS incidents,
       CASE WHEN o.annotated > 0 THEN o.incident_documents / o.annotated END AS precision,
       h.first_hit_at, h.last_seen_at
FROM queries q LEFT JOIN h USING (query_id) LEFT JOIN o USING (query_id)
ORDER BY q.source, q.product, q.template, q.scope;

-- v_yield_by_product_template: the same, one row per source x product x template (scopes
-- together; a document found by several of the queries counts once). Built on v_query_yield:
-- where only one query of a group found anything, its counts are the group's; only groups
-- where several queries found documents need a distinct count over their hits.
CREATE OR REPLACE VIEW v_yield_by_product_template AS
WITH y AS (
    SELECT source, product, template, count(*) AS queries, sum(hits) AS hits,
           sum(unique_documents) AS unique_documents, count(*) FILTER (WHERE hits > 0) AS finding
    FROM v_query_yield GROUP BY ALL
), overlap AS (
    SELECT q.source, q.product, q.template, count(DISTINCT h.doc_id) AS unique_documents
    FROM hits h JOIN queries q USING (query_id)
    JOIN (SELECT * FROM y WHERE finding > 1) g
      ON g.source = q.source AND g.product IS NOT DISTINCT FROM q.product AND g.template = q.template
    GROUP BY ALL
), o AS (
    SELECT q.source, q.product, q.template,
           count(DISTINCT o.canonical_id) FILTER (WHERE o.is_candidate) AS candidates,
           count(DISTINCT o.canonical_id) FILTER (WHERE o.is_candidate AND o.decision IS NOT NULL) AS annotated,
           count(DISTINCT o.canonical_id) FILTER (WHERE o.is_candidate AND o.decision = 'incident') AS incident_documents,
           count(DISTINCT o.incident_id) AS incidents
    FROM _query_outcomes o JOIN queries q USING (query_id) GROUP BY ALL
)
SELECT y.source, y.product, y.template, y.queries, y.hits::BIGINT AS hits,
       coalesce(overlap.unique_documents, y.unique_documents)::BIGINT AS unique_documents,
       coalesce(o.candidates, 0) AS candidates, coalesce(o.annotated, 0) AS annotated,
       coalesce(o.incident_documents, 0) AS incident_documents, coalesce(o.incidents, 0) AS incidents,
       CASE WHEN o.annotated > 0 THEN o.incident_documents / o.annotated END AS precision
FROM y
LEFT JOIN overlap ON overlap.source = y.source AND overlap.product IS NOT DISTINCT FROM y.product
                 AND overlap.template = y.template
LEFT JOIN o ON o.source = y.source AND o.product IS NOT DISTINCT FROM y.product AND o.template = y.template
ORDER BY y.source, y.product, y.template;

-- v_hits_by_month: per source and product, the documents the searches found by the month they
-- were written (trends in what people post, before any triage).
CREATE OR REPLACE VIEW v_hits_by_month AS
SELECT date_trunc('month', d.created_at)::DATE AS month, h.source, q.product,
       count(*) AS hits, count(DISTINCT h.doc_id) AS unique_documents
FROM hits h JOIN queries q USING (query_id) JOIN documents d USING (doc_id)
GROUP BY ALL
ORDER BY month, h.source, q.product;
