-- Sign-up and sign-in attempts of the Frontend API. Verification state is a
-- JSON document (strategy, status, code hash, attempts, expiry).
CREATE TABLE sign_ups (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    email_address TEXT,
    phone_number TEXT,
    username TEXT,
    first_name TEXT,
    last_name TEXT,
    password_hash TEXT,
    unsafe_metadata TEXT NOT NULL DEFAULT '{}',
    legal_accepted_at BIGINT,
    email_verification TEXT,
    phone_verification TEXT,
    created_user_id TEXT,
    created_session_id TEXT,
    abandon_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sign_ups_client ON sign_ups (client_id);

CREATE TABLE sign_ins (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    identifier TEXT,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    first_factor TEXT,
    created_session_id TEXT,
    abandon_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sign_ins_client ON sign_ins (client_id);

ALTER TABLE clients ADD COLUMN sign_up_id TEXT;
ALTER TABLE clients ADD COLUMN sign_in_id TEXT;
ALTER TABLE identifications ADD COLUMN verification TEXT;
