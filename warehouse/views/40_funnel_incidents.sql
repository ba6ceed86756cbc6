-- Funnel rows of the incidents stage (steps 9-10) (incidents, scenarios: issue 8). Placeholder until that stage exists.
CREATE OR REPLACE VIEW _funnel_incidents AS
SELECT NULL::VARCHAR AS source, NULL::INTEGER AS step, NULL::VARCHAR AS stage, NULL::BIGINT AS n WHERE false;
