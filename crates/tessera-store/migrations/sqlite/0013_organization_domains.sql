-- Verified domains of organizations, and what they offer users whose
-- verified email address is at one: invitations (organization_invitations
-- with the domain they came from), suggestions, and the membership requests
-- an accepted suggestion becomes.
CREATE TABLE organization_domains (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    enrollment_mode TEXT NOT NULL,
    affiliation_email_address TEXT,
    -- The affiliation verification (JSON), NULL until one is prepared.
    affiliation_verification TEXT,
    ownership_verified_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (organization_id, name)
);
CREATE INDEX organization_domains_name ON organization_domains (name);

ALTER TABLE organization_invitations ADD COLUMN domain_id TEXT;

CREATE TABLE organization_suggestions (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    domain_id TEXT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (organization_id, user_id)
);
CREATE INDEX organization_suggestions_user ON organization_suggestions (user_id, created_at);

CREATE TABLE organization_membership_requests (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    domain_id TEXT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (organization_id, user_id)
);
CREATE INDEX organization_membership_requests_org ON organization_membership_requests (organization_id, created_at);
