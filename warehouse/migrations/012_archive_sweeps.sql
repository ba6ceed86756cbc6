-- 012: archive imports of plans that sweep subreddits keep every item there (hits via
-- 'sweep', lineage sweep:r/SUB); how many, per file, next to the other counters.
ALTER TABLE archive_imports ADD COLUMN swept BIGINT DEFAULT 0;
