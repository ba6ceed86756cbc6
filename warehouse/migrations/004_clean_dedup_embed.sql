-- 004: cleaned text, duplicate groups and embeddings (the stages `miner process` runs after a harvest).
-- Derived tables only: everything here can be rebuilt from documents; nothing in documents changes.

-- Cleaned text: what later stages read. Raw text stays in documents and raw_payloads.
CREATE TABLE clean_texts (
    doc_id          VARCHAR PRIMARY KEY,
    content_hash    VARCHAR NOT NULL,         -- documents.content_hash this was made from
    cleaner_version VARCHAR NOT NULL,         -- miner.process.clean.CLEANER_VERSION (rules + ftfy + markdown-it)
    state           VARCHAR NOT NULL,         -- ok | deleted | removed | empty
    title           VARCHAR,
    body            VARCHAR,
    text            VARCHAR NOT NULL,         -- title, a blank line, body: evidence offsets point into this
    text_hash       VARCHAR NOT NULL,         -- sha1 of text: the key vectors are stored under
    n_words         INTEGER NOT NULL,
    fixes           VARCHAR[],                -- repairs that changed something: mojibake, entities, zero_width, markdown...
    cleaned_at      TIMESTAMP NOT NULL
);

-- Per document, what the dedup stage compares: kept so new documents are compared with the
-- warehouse without recomputing anything for the old ones.
CREATE TABLE dedup_signatures (
    doc_id          VARCHAR PRIMARY KEY,
    text_hash       VARCHAR NOT NULL,         -- the cleaned text these were computed from
    params          VARCHAR NOT NULL,         -- miner.process.dedup.PARAMS (recomputed when they change)
    norm_hash       VARCHAR,                  -- sha1 of the normalized words; NULL when too short to identify a story
    minhash         UINTEGER[128],            -- MinHash of the word 5-shingles; NULL when too short
    names           VARCHAR[],                -- news: proper names in the body (who/where the story is about)
    computed_at     TIMESTAMP NOT NULL,
    linked_at       TIMESTAMP,                -- when it was compared with the warehouse by text; NULL = pending
    semantic_key    VARCHAR                   -- model_id of the last comparison by embedding; NULL = pending
);

-- Evidence that two documents tell the same story: one row per pair and method (doc_a < doc_b).
CREATE TABLE dup_links (
    doc_a       VARCHAR NOT NULL,
    doc_b       VARCHAR NOT NULL,
    method      VARCHAR NOT NULL,             -- crosspost | same_text | near_text | semantic
    similarity  DOUBLE NOT NULL,              -- 1 for crosspost and same_text; Jaccard; cosine
    found_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (doc_a, doc_b, method)
);

-- Duplicate groups (connected components of dup_links), rebuilt when links change. Only
-- documents in a group of two or more have a row; v_document_groups covers every document.
CREATE TABLE dup_members (
    doc_id       VARCHAR PRIMARY KEY,
    canonical_id VARCHAR NOT NULL,            -- the member later stages read (the group's id)
    is_canonical BOOLEAN NOT NULL,
    method       VARCHAR,                     -- strongest link tying it into the group; NULL for the canonical
    similarity   DOUBLE,
    group_size   INTEGER NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

CREATE TABLE embedding_models (
    model_id        VARCHAR PRIMARY KEY,      -- name@package version+weights hash:long-text policy
    name            VARCHAR NOT NULL,
    package         VARCHAR NOT NULL,
    package_version VARCHAR NOT NULL,
    weights_sha256  VARCHAR NOT NULL,         -- of the weights, config and tokenizer files together
    dim             INTEGER NOT NULL,
    max_tokens      INTEGER NOT NULL,
    long_text       VARCHAR NOT NULL,         -- how texts longer than the window are handled
    first_used_at   TIMESTAMP NOT NULL
);

-- One vector per (model, cleaned text): documents with the same text share it, and a text
-- is never encoded twice by the same model.
CREATE TABLE embeddings (
    model_id    VARCHAR NOT NULL,
    text_hash   VARCHAR NOT NULL,
    vector      FLOAT[384] NOT NULL,          -- L2-normalized: dot product = cosine
    n_tokens    INTEGER NOT NULL,             -- word pieces in the text (before chunking)
    n_chunks    INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (model_id, text_hash)
);
