-- Passkeys (WebAuthn credentials) a user registered. A row is made when
-- registration starts (its verification holds the challenge); the credential
-- (public key, signature counter, as JSON) and its id (base64url) are kept once
-- the authenticator's answer is verified. `uses` counts sign-ins with it, so
-- that one assertion cannot be spent twice by concurrent requests.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    credential_id TEXT,
    credential TEXT,
    verification TEXT,
    uses BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX passkeys_credential_id ON passkeys (credential_id);
CREATE INDEX passkeys_user ON passkeys (user_id);
