-- 006: incidents (many documents <-> many incidents), scenarios, pseudonym maps (kept apart,
-- never exported), privacy check results and quasi-identifier reviews.

CREATE SEQUENCE incident_seq;
CREATE TABLE incidents (
    incident_id     VARCHAR PRIMARY KEY,      -- inc-0001 (ours; never a source id)
    status          VARCHAR NOT NULL,         -- open | merged
    merged_into     VARCHAR,                  -- the incident that absorbed this one
    draft           VARCHAR,                  -- anonymized source text: the annotator's starting point, never exported
    narrative       VARCHAR,                  -- anonymized narrative rewritten by the annotator (what exports carry)
    product         VARCHAR,                  -- codebook (docs/design.md §5)
    support_context VARCHAR,                  -- psychotherapy | companionship | coaching | interpersonal_advice | crisis
    refusal_form    VARCHAR[],                -- hard_refusal | soft_redirect | resource_referral | content_flag | persona_change | stopped_responding
    refusal_type    VARCHAR,                  -- policy | capability | scope | over_refusal
    failure_modes   VARCHAR[],                -- leakage | inconsistency | sycophantic_capitulation
    phases          VARCHAR[],                -- expectation_formation | triggering | message_framing | resource_referral | post_refusal_outcome
    outcome         VARCHAR,                  -- acceptance | switching | abandonment | distress
    first_hand      BOOLEAN,
    sensitive       VARCHAR[],                -- suicide | self_harm | abuse | eating_disorder
    notes           VARCHAR,                  -- annotator's notes (internal, never exported)
    created_by      VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE incident_documents (
    incident_id     VARCHAR NOT NULL,
    doc_id          VARCHAR NOT NULL,
    added_by        VARCHAR,
    added_at        TIMESTAMP NOT NULL,
    source_gone_at  TIMESTAMP,                -- deleted/removed at the source: its text left the draft and the map
    PRIMARY KEY (incident_id, doc_id)
);

CREATE SEQUENCE scenario_seq;
CREATE TABLE scenarios (
    scenario_id     VARCHAR PRIMARY KEY,      -- scn-01
    title           VARCHAR NOT NULL,
    narrative       VARCHAR,                  -- condensed, anonymized, written by the team
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE scenario_incidents (
    scenario_id     VARCHAR NOT NULL,
    incident_id     VARCHAR NOT NULL,
    PRIMARY KEY (scenario_id, incident_id)
);

-- Who hides behind each placeholder. Kept apart from everything exported: no export or
-- public view reads this table.
CREATE TABLE pseudonym_maps (
    owner_id        VARCHAR NOT NULL,         -- incident_id or scenario_id
    entity_type     VARCHAR NOT NULL,         -- PERSON | PLACE | EMPLOYER | ...
    original        VARCHAR NOT NULL,
    placeholder     VARCHAR NOT NULL,
    PRIMARY KEY (owner_id, entity_type, original)
);

-- Each run of the privacy checks on an incident's or scenario's narrative.
CREATE TABLE privacy_checks (
    owner_id        VARCHAR NOT NULL,
    checked_at      TIMESTAMP NOT NULL,
    narrative_sha1  VARCHAR,                  -- which text was checked
    max_shared_words INTEGER NOT NULL,        -- N: longest run allowed in common with any document
    passed          BOOLEAN NOT NULL,
    problems        JSON NOT NULL,            -- [{"check", "detail", "span", "documents"}]: why it fails
    flags           JSON NOT NULL             -- quasi-identifier flags: [{"kind", "text", "why", "reviewed"}]
);

-- An annotator looked at a quasi-identifier flag and kept (or rewrote) it.
CREATE TABLE quasi_identifier_reviews (
    owner_id        VARCHAR NOT NULL,
    flag_key        VARCHAR NOT NULL,         -- kind:text
    reviewed_by     VARCHAR,
    reviewed_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (owner_id, flag_key)
);

-- The searchability check's index: every run of 7 words (N=6 plus one) of every document,
-- hashed (md5, lower 64 bits), with its position. Derived data, rebuilt for documents whose
-- text changed or was purged at the start of each check.
CREATE TABLE shingle_docs (
    doc_id          VARCHAR PRIMARY KEY,
    text_md5        VARCHAR NOT NULL          -- the text version indexed
);
CREATE TABLE doc_shingles (
    doc_id          VARCHAR NOT NULL,
    pos             INTEGER NOT NULL,         -- 1-based word position of the run's first word
    h               UBIGINT NOT NULL
);
