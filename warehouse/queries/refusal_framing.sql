-- How are refusals framed?
-- Incidents by refusal form (hard refusal, soft redirect, resource referral, content flag,
-- persona change, stopped responding) and support context, with each form's share within its
-- context (an incident showing two forms counts under both).
WITH f AS (
    SELECT coalesce(context, '(no context)') AS context, coalesce(form, '(no form coded)') AS form,
           sum(incidents) AS incidents
    FROM v_incidents_by_month GROUP BY ALL
)
SELECT context, form, incidents,
       round(100.0 * incidents / nullif(sum(incidents) OVER (PARTITION BY context), 0), 1) AS pct_within_context
FROM f
ORDER BY context, incidents DESC, form;
