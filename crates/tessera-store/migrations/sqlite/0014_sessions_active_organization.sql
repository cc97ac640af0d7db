-- Organization deletion clears the sessions that had it active.
CREATE INDEX sessions_active_organization ON sessions (last_active_organization_id);
