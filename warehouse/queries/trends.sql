-- How do posts and incidents evolve over time?
-- Per month and product: documents the searches found (by the month they were written) and
-- incidents first told that month.
WITH found AS (
    SELECT month, product, sum(unique_documents) AS documents_found
    FROM v_hits_by_month WHERE month IS NOT NULL GROUP BY ALL
), inc AS (
    SELECT month, product, sum(incidents) AS incidents FROM v_incidents_monthly GROUP BY ALL
)
SELECT month, coalesce(product, '(no product)') AS product,
       coalesce(f.documents_found, 0) AS documents_found,
       coalesce(i.incidents, 0)       AS incidents
FROM found f FULL JOIN inc i USING (month, product)
ORDER BY month, product;
