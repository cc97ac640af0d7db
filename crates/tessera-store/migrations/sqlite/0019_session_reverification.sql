-- A session's reverification (step-up) in progress or just completed, as
-- JSON: level, status, the factors' verifications (codes' keyed hashes).
ALTER TABLE sessions ADD COLUMN reverification TEXT;
