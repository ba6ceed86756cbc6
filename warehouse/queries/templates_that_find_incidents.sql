-- Which search templates find incidents?
-- Per source and template: hits, documents, stories judged, incidents, precision, and how many
-- hits an analyst reads per incident (the paper read 155 per incident). Counts add up over
-- queries: a document found through two products' (or scopes') queries counts under each.
SELECT source, template,
       count(*)                AS queries,
       sum(hits)               AS hits,
       sum(unique_documents)   AS unique_documents,
       sum(annotated)          AS annotated,
       sum(incident_documents) AS incident_documents,
       sum(incidents)          AS incidents,
       round(sum(incident_documents) / nullif(sum(annotated), 0), 3) AS precision,
       round(sum(hits) / nullif(sum(incidents), 0), 1)               AS hits_per_incident
FROM v_query_yield
GROUP BY source, template
ORDER BY incidents DESC, incident_documents DESC, hits DESC, source, template;
