-- Handshake payloads: the cookie directives a Frontend API handshake computed,
-- kept under the SHA-256 of a single-use nonce until the app's backend
-- redeems them (`GET /v1/clients/handshake_payload`) or they expire.
CREATE TABLE handshake_payloads (
    nonce_hash TEXT PRIMARY KEY NOT NULL,
    directives TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX handshake_payloads_expires_at ON handshake_payloads (expires_at);
