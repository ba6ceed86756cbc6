-- How are refusals framed? Incidents by refusal form (hard refusal, soft redirect, resource
-- referral, content flag, persona change, stopped responding) and support context, with each
-- form's share of incidents within its context.
SELECT coalesce(context, '(no context)') AS context,
       coalesce(form, '(no form coded)') AS form,
       sum(incidents) AS incidents,
       round(100.0 * sum(incidents) / nullif(sum(sum(incidents)) OVER (PARTITION BY context), 0), 1)
           AS pct_within_context
FROM v_incidents_by_month
GROUP BY ALL
ORDER BY context, incidents DESC, form;
