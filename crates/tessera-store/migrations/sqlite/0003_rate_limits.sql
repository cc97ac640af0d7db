-- Fixed-window counters for rate limits, shared by every replica.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL
);
