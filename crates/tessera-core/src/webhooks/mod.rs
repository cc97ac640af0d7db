//! Webhooks: events written to an outbox in the same transaction as the change
//! they announce, then delivered to subscribed endpoints with Svix-compatible
//! signatures, retried on Svix's schedule, and recorded attempt by attempt.
//! Emails and SMS wait in the same kind of durable queue (`jobs`).
//!
//! - [`events`]: the event envelope and `emit` (one line per new event type);
//! - [`signature`]: `svix-signature` values;
//! - [`dispatch`]: the background loop that fans messages out and sends them;
//! - [`endpoints`]: endpoint, secret, attempt and replay management.

pub mod dispatch;
pub mod endpoints;
pub mod events;
pub mod signature;

use std::time::Duration;

/// Operator settings of the dispatcher.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Delay before each attempt of a message; its length is the number of attempts.
    pub schedule: Vec<Duration>,
    /// An endpoint failing without a single success for this long is disabled.
    pub disable_after: Duration,
    /// Timeout of one delivery request.
    pub timeout: Duration,
    /// Requests in flight at once (per server).
    pub concurrency: usize,
    /// How often the queue is polled when nothing wakes the dispatcher.
    pub poll: Duration,
    /// How long messages and their attempts are kept.
    pub retention: Duration,
}

/// Svix's retry schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
pub fn svix_schedule() -> Vec<Duration> {
    [
        0,
        5,
        5 * 60,
        30 * 60,
        2 * 3600,
        5 * 3600,
        10 * 3600,
        10 * 3600,
    ]
    .into_iter()
    .map(Duration::from_secs)
    .collect()
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            schedule: svix_schedule(),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            timeout: Duration::from_secs(15),
            concurrency: 32,
            poll: Duration::from_secs(1),
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Parses a schedule such as `0s,5s,5m,30m,2h` (humantime durations).
pub fn parse_schedule(raw: &str) -> Result<Vec<Duration>, String> {
    let out: Result<Vec<Duration>, String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s == "0" {
                Ok(Duration::ZERO)
            } else {
                humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e}"))
            }
        })
        .collect();
    let out = out?;
    if out.is_empty() {
        return Err("the schedule needs at least one attempt".to_owned());
    }
    Ok(out)
}
