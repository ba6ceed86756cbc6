-- v_funnel: how many items each stage keeps, per source (docs/design.md §3).
-- Columns: source, step (the stage's order), stage, n. Each stage owns a _funnel_<stage> view.
CREATE OR REPLACE VIEW v_funnel AS
SELECT * FROM _funnel_harvest
UNION ALL SELECT * FROM _funnel_dedup
UNION ALL SELECT * FROM _funnel_triage
UNION ALL SELECT * FROM _funnel_incidents
ORDER BY source, step, stage;
