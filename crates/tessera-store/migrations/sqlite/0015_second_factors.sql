-- Authenticator apps (TOTP) and backup codes. A user has at most one TOTP
-- secret: unverified while being enrolled, verified once a code proved it.
-- The secret is kept as base32 (it must be read to check codes); each step
-- is accepted once (last_used_step). Backup codes are kept hashed and go
-- when used.
CREATE TABLE totps (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    verified BIGINT NOT NULL DEFAULT 0,
    last_used_step BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE backup_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    set_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
