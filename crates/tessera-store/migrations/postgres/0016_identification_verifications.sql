-- Verifications the Backend API starts for an email address or a phone number
-- (prepare_verification), each with its own id for attempt_verification. The
-- state is the verification as JSON (the code's keyed hash, expiry, attempts).
CREATE TABLE identification_verifications (
    id TEXT PRIMARY KEY NOT NULL,
    identification_id TEXT NOT NULL REFERENCES identifications (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX identification_verifications_identification
    ON identification_verifications (identification_id);
