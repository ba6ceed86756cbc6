-- Triage views: annotations as they count now, final decisions, agreement, evidence,
-- clusters and the queue. Tables are in migrations/005_triage.sql.

-- The annotation that counts per (document, annotator, role): the latest one whose batch was not undone.
CREATE OR REPLACE VIEW v_annotations_current AS
SELECT * EXCLUDE (rn) FROM (
    SELECT a.*, row_number() OVER (PARTITION BY a.doc_id, a.annotator, a.role
                                   ORDER BY a.created_at DESC, a.annotation_id DESC) AS rn
    FROM annotations a
    WHERE a.batch_id IS NULL OR a.batch_id NOT IN (SELECT batch_id FROM annotation_undos)
) WHERE rn = 1;

-- One row per annotated document. status: adjudicated (an adjudicator decided), agreed (every
-- annotator gave the same decision), disputed (they differ: decision is NULL until adjudicated).
CREATE OR REPLACE VIEW v_decisions AS
WITH ann AS (
    SELECT doc_id, count(*) AS n_annotators, count(DISTINCT decision) AS n_decisions,
           any_value(decision) AS decision, list(annotator ORDER BY annotator) AS annotators,
           max(created_at) AS last_at
    FROM v_annotations_current WHERE role = 'annotator' GROUP BY doc_id
), adj AS (
    SELECT doc_id, arg_max(decision, created_at) AS decision, arg_max(reason, created_at) AS reason,
           max(created_at) AS last_at
    FROM v_annotations_current WHERE role = 'adjudicator' GROUP BY doc_id
), reasons AS (
    SELECT doc_id, arg_max(reason, created_at) AS reason FROM v_annotations_current
    WHERE role = 'annotator' AND reason IS NOT NULL GROUP BY doc_id
)
SELECT coalesce(adj.doc_id, ann.doc_id) AS doc_id,
       CASE WHEN adj.doc_id IS NOT NULL THEN adj.decision
            WHEN ann.n_decisions = 1 THEN ann.decision END AS decision,
       coalesce(adj.reason, reasons.reason) AS reason,
       CASE WHEN adj.doc_id IS NOT NULL THEN 'adjudicated'
            WHEN ann.n_decisions = 1 THEN 'agreed' ELSE 'disputed' END AS status,
       coalesce(ann.n_annotators, 0) AS n_annotators, ann.annotators,
       greatest(adj.last_at, ann.last_at) AS decided_at
FROM ann FULL JOIN adj USING (doc_id) LEFT JOIN reasons ON reasons.doc_id = coalesce(adj.doc_id, ann.doc_id);

-- Agreement on the decision (incident / not / unsure). One row per annotator pair (Cohen's kappa
-- over the documents both labelled) and one row for everyone (Krippendorff's alpha, nominal,
-- over documents with two or more annotators). value is NULL when it is undefined (no variation).
CREATE OR REPLACE VIEW v_agreement AS
WITH cur AS (
    SELECT doc_id, annotator, decision FROM v_annotations_current WHERE role = 'annotator'
), pairs AS (
    SELECT a.annotator AS annotator_a, b.annotator AS annotator_b, a.doc_id, a.decision AS da, b.decision AS db
    FROM cur a JOIN cur b ON a.doc_id = b.doc_id AND a.annotator < b.annotator
), n AS (
    SELECT annotator_a, annotator_b, count(*) AS n, avg(CASE WHEN da = db THEN 1.0 ELSE 0.0 END) AS p_o
    FROM pairs GROUP BY ALL
), marg AS (
    SELECT annotator_a, annotator_b, cat, sum(ca) AS ca, sum(cb) AS cb FROM (
        SELECT annotator_a, annotator_b, da AS cat, 1 AS ca, 0 AS cb FROM pairs
        UNION ALL SELECT annotator_a, annotator_b, db, 0, 1 FROM pairs) GROUP BY ALL
), pe AS (
    SELECT m.annotator_a, m.annotator_b, sum(m.ca * m.cb / (n.n * n.n)::DOUBLE) AS p_e
    FROM marg m JOIN n USING (annotator_a, annotator_b) GROUP BY ALL
), kappa AS (
    SELECT 'cohen_kappa' AS measure, n.annotator_a, n.annotator_b, n.n AS n_items, n.p_o AS observed,
           CASE WHEN pe.p_e < 1 THEN (n.p_o - pe.p_e) / (1 - pe.p_e) END AS value
    FROM n JOIN pe USING (annotator_a, annotator_b)
), units AS (  -- Krippendorff: documents with >= 2 values
    SELECT doc_id, count(*) AS m FROM cur GROUP BY doc_id HAVING count(*) >= 2
), cells AS (
    SELECT c.doc_id, c.decision, count(*) AS cnt, any_value(u.m) AS m FROM cur c JOIN units u USING (doc_id) GROUP BY ALL
), dis AS (  -- observed disagreement: sum over units of (m^2 - sum cnt^2) / (m - 1)
    SELECT sum((m * m - s2) / (m - 1)::DOUBLE) AS d_o FROM (
        SELECT doc_id, any_value(m) AS m, sum(cnt * cnt) AS s2 FROM cells GROUP BY doc_id)
), totals AS (
    SELECT decision, sum(cnt) AS n_c FROM cells GROUP BY decision
), alpha AS (
    SELECT 'krippendorff_alpha' AS measure, NULL::VARCHAR AS annotator_a, NULL::VARCHAR AS annotator_b,
           (SELECT count(*) FROM units) AS n_items,
           1 - (SELECT d_o FROM dis) / (SELECT sum(n_c) FROM totals) AS observed,
           CASE WHEN (SELECT sum(n_c) ^ 2 - sum(n_c * n_c) FROM totals) > 0 THEN
               1 - ((SELECT sum(n_c) FROM totals) - 1) * (SELECT d_o FROM dis)
                   / (SELECT sum(n_c) ^ 2 - sum(n_c * n_c) FROM totals) END AS value
    WHERE (SELECT count(*) FROM units) > 0
)
SELECT * FROM kappa UNION ALL SELECT * FROM alpha;

-- Evidence spans with their text, by document (offsets are into clean_texts.text).
CREATE OR REPLACE VIEW v_evidence AS
SELECT e.doc_id, e.kind, e.label, e.start, e."end", e.weight, substr(c.text, e.start + 1, e."end" - e.start) AS text
FROM evidence e JOIN clean_texts c USING (doc_id);

-- The scorer of the latest scoring run, and its scores.
CREATE OR REPLACE VIEW v_current_scorer AS
SELECT scorer_version, kind, n_labels, n_positive, explore_share, created_at
FROM scorers ORDER BY created_at DESC, scorer_version LIMIT 1;

-- Clusters with what annotators decided about their members so far.
CREATE OR REPLACE VIEW v_clusters AS
WITH latest AS (SELECT max(started_at) AS t, arg_max(run_id, started_at) AS run_id FROM cluster_runs)
SELECT k.cluster_id, k.size, k.keywords, k.exemplars, k.created_run = latest.run_id AS is_new,
       count(d.doc_id) AS n_decided,
       count(*) FILTER (WHERE d.decision = 'incident') AS n_incident,
       count(*) FILTER (WHERE d.decision = 'not') AS n_not,
       k.created_at, k.updated_at
FROM clusters k CROSS JOIN latest
LEFT JOIN cluster_members m ON m.cluster_id = k.cluster_id
LEFT JOIN v_decisions d ON d.doc_id = m.doc_id
WHERE k.size > 0
GROUP BY ALL;

-- How a document reached the queue, from its duplicate group's hits: "swept" (a community
-- sweep read it), "matched a query" (a search found it, or it is a comment of a post one found),
-- or both. The two lanes annotators, the report and the funnel tell apart.
CREATE OR REPLACE MACRO found_by(n_swept, n_matched) AS
    CASE WHEN n_swept > 0 AND n_matched > 0 THEN 'swept, matched a query'
         WHEN n_swept > 0 THEN 'swept' WHEN n_matched > 0 THEN 'matched a query' END;

-- Every undecided canonical document the current scorer ranked, in reading order. Documents
-- tombstoned at the source (documents.state <> 'ok') never appear. v_queue (below) keeps only
-- those a sweep or a search found (at least one hit); this one is the --all-documents queue.
CREATE OR REPLACE VIEW v_queue_all AS
WITH cur AS MATERIALIZED (
    SELECT s.* FROM scores s JOIN v_current_scorer cs USING (scorer_version)
    WHERE s.doc_id NOT IN (SELECT doc_id FROM v_annotations_current)
), ev AS (
    SELECT doc_id, list({'kind': kind, 'label': label, 'start': start, 'end': "end", 'text': text}
                        ORDER BY start, kind) AS evidence
    FROM v_evidence WHERE doc_id IN (SELECT doc_id FROM cur) GROUP BY doc_id
), hh AS (
    -- hits of every member of the item's duplicate group (what v_canonical_documents.n_hits counts),
    -- for the queued items only: hits has a row per query, millions on a big warehouse
    SELECT coalesce(m.canonical_id, h.doc_id) AS doc_id, count(*) AS n_hits,
           found_by(count(*) FILTER (WHERE h.via = 'sweep'), count(*) FILTER (WHERE h.via <> 'sweep')) AS found_by
    FROM hits h LEFT JOIN dup_members m USING (doc_id)
    WHERE coalesce(m.canonical_id, h.doc_id) IN (SELECT doc_id FROM cur)
    GROUP BY ALL
)
SELECT row_number() OVER (ORDER BY s.priority, s.doc_id) AS position, s.doc_id, s.score, s.lane,
       m.cluster_id, k.created_run = (SELECT arg_max(run_id, started_at) FROM cluster_runs) AS cluster_is_new,
       coalesce(ev.evidence, []) AS evidence, c.title, d.source, d.kind, d.community,
       coalesce(hh.n_hits, 0) AS n_hits, hh.found_by, s.uncertainty, s.scorer_version
FROM cur s
JOIN documents d USING (doc_id)
JOIN clean_texts c USING (doc_id)
LEFT JOIN dup_members g USING (doc_id)
LEFT JOIN cluster_members m USING (doc_id)
LEFT JOIN clusters k ON k.cluster_id = m.cluster_id
LEFT JOIN ev USING (doc_id)
LEFT JOIN hh USING (doc_id)
WHERE d.state = 'ok' AND c.state = 'ok' AND coalesce(g.is_canonical, true)
ORDER BY position;

CREATE OR REPLACE VIEW v_queue AS
SELECT row_number() OVER (ORDER BY position) AS position, * EXCLUDE (position)
FROM v_queue_all WHERE n_hits > 0
ORDER BY position;
