-- Session tasks a session keeps from its start until they are done
-- (reset-password, setup-mfa), comma-separated keys.
ALTER TABLE sessions ADD COLUMN pending_tasks TEXT NOT NULL DEFAULT '';
