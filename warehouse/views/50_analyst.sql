-- Analysts' views. Columns are documented in README.md, section "Analysts".
-- They read the harvest tables, plus placeholders that stand for later stages until those
-- stages exist in a warehouse: _triage_ready and _doc_triage_exceptions (replaced by
-- 51_query_yield_triage.sql), _doc_incidents, v_incidents_monthly and v_incidents_by_month
-- (replaced by 52_incidents_by_month.sql). So every view here always exists,
-- and its candidate/incident columns are 0 until the stages producing them have run.

-- Triage, as the yield views need it: whether the triage stage exists here, and the documents
-- that are not simply a candidate story of their own (no text, deleted, in a duplicate group)
-- or that have a decision. A candidate is a story (canonical document) with text, not deleted.
-- Counting from these exceptions avoids a DISTINCT over every (query, story) pair: at 5M hits
-- that costs seconds, and almost every document is its own story.
CREATE OR REPLACE VIEW _triage_ready AS SELECT false AS ready;
CREATE OR REPLACE VIEW _doc_triage_exceptions AS
SELECT NULL::VARCHAR AS doc_id, NULL::VARCHAR AS canonical_id, NULL::BOOLEAN AS in_group,
       NULL::BOOLEAN AS is_candidate, NULL::VARCHAR AS decision WHERE false;

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

-- Per query: its hits, and whether several plans (or plan versions) share it.
CREATE OR REPLACE VIEW _query_hits AS
SELECT query_id, count(*) AS hits, count(*) FILTER (WHERE via = 'search') AS search_hits,
       min(plan_id) <> max(plan_id) AS several_plans,
       min(fetched_at) AS first_hit_at, max(last_seen_at) AS last_seen_at
FROM hits GROUP BY query_id;

-- Distinct (query, document) pairs. hits holds one row per (plan, query, document), so for a
-- query one plan uses its rows already are; only queries several plans share need DISTINCT
-- (the costly step at millions of hits).
CREATE OR REPLACE VIEW _query_documents AS
SELECT query_id, doc_id FROM hits
WHERE query_id IN (SELECT query_id FROM _query_hits WHERE NOT several_plans)
UNION ALL
SELECT DISTINCT query_id, doc_id FROM hits
WHERE query_id IN (SELECT query_id FROM _query_hits WHERE several_plans);

-- Distinct (source x product x template, document) pairs: where one query of a group found
-- anything its pairs are the group's; groups where several queries (scopes) found documents
-- need DISTINCT over their hits.
CREATE OR REPLACE VIEW _group_documents AS
WITH g AS (
    SELECT q.query_id, q.source, q.product, q.template,
           count(qh.query_id) OVER (PARTITION BY q.source, q.product, q.template) AS finding
    FROM queries q LEFT JOIN _query_hits qh USING (query_id)
)
SELECT g.source, g.product, g.template, qd.doc_id
FROM _query_documents qd JOIN g USING (query_id) WHERE g.finding = 1
UNION ALL
SELECT DISTINCT g.source, g.product, g.template, h.doc_id
FROM hits h JOIN g USING (query_id) WHERE g.finding > 1;

-- v_query_yield: one row per query (product x template x scope, per source): what it found and
-- what came of it. precision = incident_documents / annotated (stories judged, share incidents).
CREATE OR REPLACE VIEW v_query_yield AS
WITH qd AS (
    SELECT * FROM _query_documents
), x AS MATERIALIZED (
    SELECT * FROM _doc_triage_exceptions
), d AS (
    SELECT query_id, count(*) AS unique_documents FROM qd GROUP BY query_id
), e AS (
    SELECT qd.query_id,
           count(*) FILTER (WHERE NOT x.is_candidate OR x.in_group) AS not_own_story,
           count(DISTINCT x.canonical_id) FILTER (WHERE x.is_candidate AND x.in_group) AS grouped_stories,
           count(DISTINCT x.canonical_id) FILTER (WHERE x.is_candidate AND x.decision IS NOT NULL) AS annotated,
           count(DISTINCT x.canonical_id) FILTER (WHERE x.is_candidate AND x.decision = 'incident') AS incident_documents
    FROM qd JOIN x USING (doc_id) GROUP BY qd.query_id
), i AS (
    SELECT qd.query_id, count(DISTINCT i.incident_id) AS incidents
    FROM qd JOIN _doc_incidents i USING (doc_id) GROUP BY qd.query_id
)
SELECT q.query_id, q.source, q.product, q.template, q.scope, q.rendered,
       coalesce(h.hits, 0)               AS hits,
       coalesce(h.search_hits, 0)        AS search_hits,
       coalesce(d.unique_documents, 0)   AS unique_documents,
       CASE WHEN (SELECT ready FROM _triage_ready)
            THEN coalesce(d.unique_documents, 0) - coalesce(e.not_own_story, 0) + coalesce(e.grouped_stories, 0)
            ELSE 0 END                   AS candidates,
       coalesce(e.annotated, 0)          AS annotated,
       coalesce(e.incident_documents, 0) AS incident_documents,
       coalesce(i.incidents, 0)          AS incidents,
       CASE WHEN e.annotated > 0 THEN e.incident_documents / e.annotated END AS precision,
       h.first_hit_at, h.last_seen_at
FROM queries q LEFT JOIN _query_hits h USING (query_id) LEFT JOIN d USING (query_id)
LEFT JOIN e USING (query_id) LEFT JOIN i USING (query_id)
ORDER BY q.source, q.product, q.template, q.scope;

-- v_yield_by_product_template: the same, one row per source x product x template (scopes
-- together; a document found by several of the queries counts once).
CREATE OR REPLACE VIEW v_yield_by_product_template AS
WITH k AS (
    SELECT q.source, q.product, q.template, count(*) AS queries, sum(h.hits)::BIGINT AS hits
    FROM queries q LEFT JOIN _query_hits h USING (query_id) GROUP BY ALL
), gd AS MATERIALIZED (
    SELECT * FROM _group_documents
), x AS MATERIALIZED (
    SELECT * FROM _doc_triage_exceptions
), d AS (
    SELECT source, product, template, count(*) AS unique_documents FROM gd GROUP BY ALL
), e AS (
    SELECT gd.source, gd.product, gd.template,
           count(*) FILTER (WHERE NOT x.is_candidate OR x.in_group) AS not_own_story,
           count(DISTINCT x.canonical_id) FILTER (WHERE x.is_candidate AND x.in_group) AS grouped_stories,
           count(DISTINCT x.canonical_id) FILTER (WHERE x.is_candidate AND x.decision IS NOT NULL) AS annotated,
           count(DISTINCT x.canonical_id) FILTER (WHERE x.is_candidate AND x.decision = 'incident') AS incident_documents
    FROM gd JOIN x USING (doc_id) GROUP BY ALL
), i AS (
    SELECT gd.source, gd.product, gd.template, count(DISTINCT i.incident_id) AS incidents
    FROM gd JOIN _doc_incidents i USING (doc_id) GROUP BY ALL
)
SELECT k.source, k.product, k.template, k.queries, coalesce(k.hits, 0) AS hits,
       coalesce(d.unique_documents, 0) AS unique_documents,
       CASE WHEN (SELECT ready FROM _triage_ready)
            THEN coalesce(d.unique_documents, 0) - coalesce(e.not_own_story, 0) + coalesce(e.grouped_stories, 0)
            ELSE 0 END AS candidates,
       coalesce(e.annotated, 0) AS annotated,
       coalesce(e.incident_documents, 0) AS incident_documents, coalesce(i.incidents, 0) AS incidents,
       CASE WHEN e.annotated > 0 THEN e.incident_documents / e.annotated END AS precision
FROM k
LEFT JOIN d ON d.source = k.source AND d.product IS NOT DISTINCT FROM k.product AND d.template = k.template
LEFT JOIN e ON e.source = k.source AND e.product IS NOT DISTINCT FROM k.product AND e.template = k.template
LEFT JOIN i ON i.source = k.source AND i.product IS NOT DISTINCT FROM k.product AND i.template = k.template
ORDER BY k.source, k.product, k.template;

-- v_hits_by_month: per source and product, the documents the searches found by the month they
-- were written (trends in what people post, before any triage).
CREATE OR REPLACE VIEW v_hits_by_month AS
SELECT date_trunc('month', d.created_at)::DATE AS month, h.source, q.product,
       count(*) AS hits, count(DISTINCT h.doc_id) AS unique_documents
FROM hits h JOIN queries q USING (query_id) JOIN documents d USING (doc_id)
GROUP BY ALL
ORDER BY month, h.source, q.product;
