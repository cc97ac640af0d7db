-- The public URL of the instance (in the publishable key and the tokens' iss),
-- kept so that every replica and every restart agrees on it; 1 when an
-- operator configured it (else it was derived from the listen address).
ALTER TABLE instance ADD COLUMN frontend_url TEXT;
ALTER TABLE instance ADD COLUMN frontend_url_configured INTEGER NOT NULL DEFAULT 0;
