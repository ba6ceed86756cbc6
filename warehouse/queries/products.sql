-- Which products do the searches and the incidents concern? Per product (all sources): hits,
-- stories, incidents, and each product's share of all incidents.
SELECT coalesce(product, '(no product)') AS product,
       sum(hits)               AS hits,
       sum(unique_documents)   AS unique_documents,
       sum(incident_documents) AS incident_documents,
       sum(incidents)          AS incidents,
       round(100.0 * sum(incidents) / nullif(sum(sum(incidents)) OVER (), 0), 1) AS pct_of_incidents,
       round(sum(incident_documents) / nullif(sum(annotated), 0), 3)            AS precision
FROM v_yield_by_product_template
GROUP BY ALL
ORDER BY incidents DESC, hits DESC, product;
