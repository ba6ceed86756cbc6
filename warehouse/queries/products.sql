-- Which products do the searches and the incidents concern?
-- Per product (all sources): hits, documents, incidents, each product's share of all incidents.
-- Counts add up over the product's queries (a document two templates found counts twice).
WITH p AS (
    SELECT coalesce(product, '(no product)') AS product, sum(hits) AS hits,
           sum(unique_documents) AS unique_documents, sum(annotated) AS annotated,
           sum(incident_documents) AS incident_documents, sum(incidents) AS incidents
    FROM v_query_yield GROUP BY ALL
)
SELECT product, hits, unique_documents, incident_documents, incidents,
       round(100.0 * incidents / nullif(sum(incidents) OVER (), 0), 1) AS pct_of_incidents,
       round(incident_documents / nullif(annotated, 0), 3)             AS precision
FROM p
ORDER BY incidents DESC, hits DESC, product;
