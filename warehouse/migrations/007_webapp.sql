-- 007: the annotators' web app. People and their settings, sign-in sessions, which
-- item each annotator holds right now, and every form the app accepted (so a double submit
-- writes nothing twice). Annotations themselves stay in `annotations` (005), append-only.

-- Named annotators. Only a SHA-256 of each token is kept: the token is printed once by
-- `miner annotator add` and cannot be read back from the warehouse.
CREATE TABLE annotators (
    name            VARCHAR PRIMARY KEY,
    token_hash      VARCHAR NOT NULL,
    token_expires_at TIMESTAMP,               -- NULL: the token does not expire
    revoked_at      TIMESTAMP,                -- set by `miner annotator revoke`
    blur            VARCHAR NOT NULL DEFAULT 'flagged',   -- flagged | all | off: blur text until revealed
    break_minutes   DOUBLE NOT NULL DEFAULT 50,           -- remind to take a break after this long (0: never)
    opt_out         VARCHAR[] NOT NULL DEFAULT [],        -- care categories never shown (miner.triage.care.CATEGORIES)
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

-- Signed-in browsers. The cookie holds a random session id; only its SHA-256 is stored.
CREATE TABLE web_sessions (
    session_hash  VARCHAR PRIMARY KEY,
    annotator     VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    active_since  TIMESTAMP NOT NULL,        -- start of the current stretch of work (break reminder)
    last_seen_at  TIMESTAMP NOT NULL,        -- last request: a long pause counts as a break
    ended_at      TIMESTAMP                  -- signed out
);

-- The queue item each annotator is reading now, so two people never get the same item at once.
-- A claim lapses after a while (a closed laptop must not hide an item for ever).
CREATE TABLE web_claims (
    doc_id      VARCHAR PRIMARY KEY,
    annotator   VARCHAR NOT NULL,
    claimed_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);

-- Every accepted form, by the key it was rendered with: a second submit of the same page is
-- recognised and answered without writing anything again.
CREATE TABLE web_submissions (
    form_key    VARCHAR PRIMARY KEY,
    annotator   VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,            -- label | cluster | undo | settings
    doc_id      VARCHAR,
    cluster_id  VARCHAR,
    batch_id    VARCHAR,                     -- the annotation batch it wrote (the unit of undo)
    created_at  TIMESTAMP NOT NULL
);

-- Content warnings: which care categories each cleaned text touches (miner.triage.care), per text hash
-- so a changed text is flagged again.
CREATE TABLE care_flags (
    doc_id      VARCHAR PRIMARY KEY,
    text_hash   VARCHAR NOT NULL,
    version     VARCHAR NOT NULL,            -- miner.triage.care.CARE_VERSION
    categories  VARCHAR[] NOT NULL,          -- suicide | self_harm | abuse | eating_disorder
    flagged_at  TIMESTAMP NOT NULL
);
