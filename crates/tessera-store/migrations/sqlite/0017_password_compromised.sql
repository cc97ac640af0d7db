-- A password the Backend API marked compromised: signing in with it leads to
-- the reset-password session task; setting a new password clears it.
ALTER TABLE users ADD COLUMN password_compromised_at BIGINT;
