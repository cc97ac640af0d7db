-- Each save of a sign-in or sign-up counts up its version; a save from an
-- older read (a concurrent request's) is refused instead of overwriting.
ALTER TABLE sign_ins ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE sign_ups ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
-- The same for a session's reverification (with the factor times it stamps).
ALTER TABLE sessions ADD COLUMN reverification_version BIGINT NOT NULL DEFAULT 0;
