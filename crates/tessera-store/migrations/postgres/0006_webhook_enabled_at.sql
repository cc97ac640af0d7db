-- When an endpoint was last enabled (ms): its creation, or the moment an
-- operator enabled it again. The outbox fans a message out only to endpoints
-- enabled before the message was written, so a message written while an
-- endpoint was disabled never reaches it, however late the fan-out runs.
ALTER TABLE webhook_endpoints ADD COLUMN enabled_at BIGINT NOT NULL DEFAULT 0;
