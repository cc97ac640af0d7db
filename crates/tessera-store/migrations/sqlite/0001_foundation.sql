-- Foundation schema. Integers are BIGINT-compatible; booleans are 0/1 integers so
-- that one SQL string serves SQLite and PostgreSQL; JSON documents are TEXT.
CREATE TABLE instance (
    id TEXT PRIMARY KEY NOT NULL,
    environment TEXT NOT NULL,
    publishable_key TEXT NOT NULL,
    secret_key_hash TEXT NOT NULL,
    secret_key_hint TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    algorithm TEXT NOT NULL,
    private_key_pem TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    external_id TEXT UNIQUE,
    username TEXT UNIQUE,
    first_name TEXT,
    last_name TEXT,
    password_hash TEXT,
    password_hasher TEXT,
    public_metadata TEXT NOT NULL DEFAULT '{}',
    private_metadata TEXT NOT NULL DEFAULT '{}',
    unsafe_metadata TEXT NOT NULL DEFAULT '{}',
    primary_email_address_id TEXT,
    primary_phone_number_id TEXT,
    has_image INTEGER NOT NULL DEFAULT 0,
    image_version INTEGER NOT NULL DEFAULT 0,
    banned INTEGER NOT NULL DEFAULT 0,
    locked_at INTEGER,
    locked_until INTEGER,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    totp_enabled INTEGER NOT NULL DEFAULT 0,
    backup_code_enabled INTEGER NOT NULL DEFAULT 0,
    delete_self_enabled INTEGER NOT NULL DEFAULT 1,
    create_organization_enabled INTEGER NOT NULL DEFAULT 1,
    create_organizations_limit INTEGER,
    legal_accepted_at INTEGER,
    last_sign_in_at INTEGER,
    last_active_at INTEGER,
    password_updated_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX users_created_at ON users (created_at, id);
CREATE INDEX users_updated_at ON users (updated_at, id);
CREATE INDEX users_last_active_at ON users (last_active_at);

CREATE TABLE identifications (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    identifier TEXT NOT NULL,
    verification_status TEXT NOT NULL,
    verification_strategy TEXT,
    verified_at INTEGER,
    reserved INTEGER NOT NULL DEFAULT 0,
    reserved_for_second_factor INTEGER NOT NULL DEFAULT 0,
    default_second_factor INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (kind, identifier)
);
CREATE INDEX identifications_user ON identifications (user_id);

CREATE TABLE profile_images (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT UNIQUE,
    last_active_session_id TEXT,
    expire_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    actor TEXT,
    last_active_organization_id TEXT,
    last_active_at INTEGER NOT NULL,
    expire_at INTEGER NOT NULL,
    abandon_at INTEGER NOT NULL,
    first_factor_at INTEGER,
    second_factor_at INTEGER,
    ip_address TEXT,
    user_agent TEXT,
    city TEXT,
    country TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_client ON sessions (client_id);
