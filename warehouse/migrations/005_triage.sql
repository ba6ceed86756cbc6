-- 005: triage. Evidence spans, scores (with the scorer that made them), clusters, annotations.
-- Evidence, scores and clusters are derived (rebuilt from cleaned text and vectors); annotations
-- are the only human input and are append-only: nothing ever updates or deletes a row there.

-- What the extractor found in a document's cleaned text (clean_texts.text): one row per span.
CREATE TABLE evidence (
    doc_id      VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,     -- product | refusal | narration | context | human_refuser | off_support
    label       VARCHAR NOT NULL,     -- product name; refusal form; first_hand/second_hand/news/question/opinion; context; refuser
    start       INTEGER NOT NULL,     -- character offsets into clean_texts.text (Python str indices)
    "end"       INTEGER NOT NULL,
    weight      DOUBLE NOT NULL,      -- how strongly the span supports (or, negative kinds, opposes) an incident
    PRIMARY KEY (doc_id, kind, label, start)
);

-- Which cleaned text and extractor version each document's evidence came from (so a rerun only
-- redoes new or changed texts, or everything after an extractor change).
CREATE TABLE evidence_state (
    doc_id       VARCHAR PRIMARY KEY,
    text_hash    VARCHAR NOT NULL,
    extractor    VARCHAR NOT NULL,    -- miner.triage.evidence.EXTRACTOR_VERSION + hash of the product aliases
    n_spans      INTEGER NOT NULL,
    extracted_at TIMESTAMP NOT NULL
);

-- Every scorer that ever ranked the queue: the cold start or a model trained on labels.
CREATE TABLE scorers (
    scorer_version VARCHAR PRIMARY KEY,   -- cold-v1:<model_id hash> | lr-v1:<hash of training set>
    kind           VARCHAR NOT NULL,      -- cold | learned
    model_id       VARCHAR,               -- the embedding model whose vectors it read
    n_labels       INTEGER NOT NULL,      -- training labels (0 for the cold start)
    n_positive     INTEGER NOT NULL,
    explore_share  DOUBLE NOT NULL,       -- share of queue slots given to uncertain items
    params         JSON,
    created_at     TIMESTAMP NOT NULL
);

-- One score per (scorer, document). priority is the queue order the scorer chose (exploration
-- slots mixed in), lane says why an item sits where it does.
CREATE TABLE scores (
    scorer_version VARCHAR NOT NULL,
    doc_id         VARCHAR NOT NULL,
    score          DOUBLE NOT NULL,       -- 0..1, higher = more likely an incident
    uncertainty    DOUBLE NOT NULL,       -- 1 at p = 0.5, 0 at p = 0 or 1
    priority       INTEGER NOT NULL,      -- 1 = read first
    lane           VARCHAR NOT NULL,      -- score | explore
    scored_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (scorer_version, doc_id)
);

-- Clusters keep their id across nightly runs; new items join the nearest existing cluster.
CREATE TABLE clusters (
    cluster_id   VARCHAR PRIMARY KEY,     -- k0001, k0002, ... (never reused)
    model_id     VARCHAR NOT NULL,
    centroid     FLOAT[384] NOT NULL,     -- normalized mean of the members' vectors
    size         INTEGER NOT NULL,
    keywords     VARCHAR[] NOT NULL,      -- class-based TF-IDF, best first
    exemplars    VARCHAR[] NOT NULL,      -- doc_ids: close to the centroid and different from each other
    created_run  VARCHAR NOT NULL,        -- the clustering run that made it
    updated_run  VARCHAR NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

-- Current assignment of each candidate: a cluster, or the outlier lane (cluster_id NULL).
CREATE TABLE cluster_members (
    doc_id       VARCHAR PRIMARY KEY,
    cluster_id   VARCHAR,                 -- NULL: fits no cluster (the outlier lane)
    similarity   DOUBLE,                  -- cosine to the cluster centroid
    assigned_run VARCHAR NOT NULL,
    assigned_at  TIMESTAMP NOT NULL
);

CREATE TABLE cluster_runs (
    run_id       VARCHAR PRIMARY KEY,
    model_id     VARCHAR NOT NULL,
    n_items      INTEGER NOT NULL,
    n_assigned   INTEGER NOT NULL,        -- joined an existing cluster
    n_new_clusters INTEGER NOT NULL,
    n_outliers   INTEGER NOT NULL,
    params       JSON,
    started_at   TIMESTAMP NOT NULL
);

-- Annotations: append-only. The latest row per (document, annotator) counts, unless its batch
-- was undone. A cluster label is one row per member sharing a batch_id.
CREATE SEQUENCE annotation_seq;
CREATE TABLE annotations (
    annotation_id BIGINT PRIMARY KEY DEFAULT nextval('annotation_seq'),
    doc_id       VARCHAR NOT NULL,
    annotator    VARCHAR NOT NULL,
    role         VARCHAR NOT NULL DEFAULT 'annotator',  -- annotator | adjudicator (final decision)
    decision     VARCHAR NOT NULL,        -- incident | not | unsure
    reason       VARCHAR,                 -- for "not": human_refusal | ai_refusal_outside_support | no_refusal | not_first_hand | off_topic | duplicate
    product      VARCHAR,
    context      VARCHAR,                 -- psychotherapy | companionship | coaching | interpersonal_advice | crisis
    form         VARCHAR[],               -- hard_refusal | soft_redirect | resource_referral | content_flag | persona_change | stopped_responding
    refusal_type VARCHAR,                 -- policy | capability | scope | over_refusal
    phases       VARCHAR[],
    outcome      VARCHAR,
    first_hand   BOOLEAN,
    note         VARCHAR,
    batch_id     VARCHAR,                 -- set for cluster labels: the unit of undo
    cluster_id   VARCHAR,                 -- the cluster a batch label was given through
    scorer_version VARCHAR,               -- the scorer whose queue the item was read from
    created_at   TIMESTAMP NOT NULL
);

-- Undoing a cluster label appends here; its annotations stay, and stop counting.
CREATE TABLE annotation_undos (
    batch_id   VARCHAR PRIMARY KEY,
    undone_by  VARCHAR NOT NULL,
    undone_at  TIMESTAMP NOT NULL
);

-- Items sampled for overlap: k annotators should label each before it counts as settled.
CREATE TABLE overlap_items (
    doc_id     VARCHAR PRIMARY KEY,
    k          INTEGER NOT NULL,
    sampled_at TIMESTAMP NOT NULL
);
