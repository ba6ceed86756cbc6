-- Funnel rows of the triage stage (steps 6-8) (candidates, annotated: issue 6). Placeholder until that stage exists.
CREATE OR REPLACE VIEW _funnel_triage AS
SELECT NULL::VARCHAR AS source, NULL::INTEGER AS step, NULL::VARCHAR AS stage, NULL::BIGINT AS n WHERE false;
