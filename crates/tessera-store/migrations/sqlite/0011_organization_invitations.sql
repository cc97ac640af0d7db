-- Invitations to organizations. The ticket of the emailed link is stored
-- hashed; a pending invitation past expires_at reads as expired.
CREATE TABLE organization_invitations (
    id TEXT PRIMARY KEY NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email_address TEXT NOT NULL,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    inviter_user_id TEXT,
    public_metadata TEXT NOT NULL DEFAULT '{}',
    private_metadata TEXT NOT NULL DEFAULT '{}',
    redirect_url TEXT,
    ticket_hash TEXT NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX organization_invitations_org ON organization_invitations (organization_id, created_at);
CREATE INDEX organization_invitations_email ON organization_invitations (email_address, status);

-- A sign-up started with an invitation's ticket: its user joins on completion.
CREATE TABLE sign_up_tickets (
    sign_up_id TEXT PRIMARY KEY NOT NULL REFERENCES sign_ups (id) ON DELETE CASCADE,
    invitation_id TEXT NOT NULL REFERENCES organization_invitations (id) ON DELETE CASCADE
);
