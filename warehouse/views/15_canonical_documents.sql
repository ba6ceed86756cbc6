-- Duplicate groups and canonical documents (the process stage). Later stages read v_canonical_documents:
-- one row per story, with the cleaned text, the group's other members and the hits of all of them.

-- Every document with its group: canonical_id = doc_id for documents without duplicates.
CREATE OR REPLACE VIEW v_document_groups AS
SELECT d.doc_id,
       coalesce(m.canonical_id, d.doc_id) AS canonical_id,
       coalesce(m.is_canonical, true)     AS is_canonical,
       m.method                           AS dup_method,      -- crosspost | same_text | near_text | semantic
       m.similarity                       AS dup_similarity,
       coalesce(m.group_size, 1)          AS group_size
FROM documents d LEFT JOIN dup_members m USING (doc_id);

-- One row per story. state = 'ok' means it has text (deleted/removed/empty otherwise, NULL until
-- cleaned). Documents deleted or removed at the source keep no cleaned text, group or vector.
CREATE OR REPLACE VIEW v_canonical_documents AS
WITH grp AS (
    SELECT canonical_id, list(doc_id ORDER BY doc_id) AS duplicate_ids
    FROM v_document_groups WHERE NOT is_canonical GROUP BY canonical_id
), h AS (
    SELECT g.canonical_id, count(*) AS n_hits, count(DISTINCT h.query_id) AS n_queries
    FROM hits h JOIN v_document_groups g USING (doc_id) GROUP BY g.canonical_id
)
SELECT d.doc_id, d.source, d.kind, d.community, d.thread_id, d.parent_id, d.author_hash, d.created_at,
       d.url, d.permalink, CASE WHEN d.state <> 'ok' THEN d.state ELSE c.state END AS state,
       c.title, c.body, c.text, c.text_hash, c.n_words,
       g.group_size, coalesce(grp.duplicate_ids, []::VARCHAR[]) AS duplicate_ids,
       coalesce(h.n_hits, 0) AS n_hits, coalesce(h.n_queries, 0) AS n_queries
FROM v_document_groups g
JOIN documents d USING (doc_id)
LEFT JOIN clean_texts c USING (doc_id)
LEFT JOIN grp ON grp.canonical_id = g.doc_id
LEFT JOIN h ON h.canonical_id = g.doc_id
WHERE g.is_canonical;

-- Vectors by document (documents with the same cleaned text share one vector). Filter on
-- model_id when more than one model has been used.
CREATE OR REPLACE VIEW v_document_vectors AS
SELECT c.doc_id, e.model_id, e.vector, e.n_chunks
FROM clean_texts c JOIN embeddings e USING (text_hash);
