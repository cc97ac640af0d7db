-- Organizations and their memberships. Members counts are counted, not stored.
CREATE TABLE organizations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    has_image BIGINT NOT NULL DEFAULT 0,
    image_version BIGINT NOT NULL DEFAULT 0,
    max_allowed_memberships BIGINT NOT NULL DEFAULT 0,
    admin_delete_enabled BIGINT NOT NULL DEFAULT 1,
    public_metadata TEXT NOT NULL DEFAULT '{}',
    private_metadata TEXT NOT NULL DEFAULT '{}',
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX organizations_created_at ON organizations (created_at, id);

CREATE TABLE organization_memberships (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    public_metadata TEXT NOT NULL DEFAULT '{}',
    private_metadata TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (organization_id, user_id)
);
CREATE INDEX organization_memberships_user ON organization_memberships (user_id, created_at);
CREATE INDEX organization_memberships_org ON organization_memberships (organization_id, created_at);

CREATE TABLE organization_logos (
    organization_id TEXT PRIMARY KEY NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    bytes BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Session tokens carry the active organization's slug and the member's role,
-- read with the client: a change to either drops the clients other servers
-- keep in memory, like a change to clients and sessions (0007).
CREATE TRIGGER organization_memberships_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON organization_memberships
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_announce_client_change();

CREATE TRIGGER organizations_changed
    AFTER UPDATE OR DELETE OR TRUNCATE ON organizations
    FOR EACH STATEMENT EXECUTE FUNCTION tessera_announce_client_change();
