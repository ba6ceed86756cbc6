-- Funnel rows of the dedup stage (steps 4-5) (clean, dedup: issue 5). Placeholder until that stage exists.
CREATE OR REPLACE VIEW _funnel_dedup AS
SELECT NULL::VARCHAR AS source, NULL::INTEGER AS step, NULL::VARCHAR AS stage, NULL::BIGINT AS n WHERE false;
