//! The cached JWKS and when to fetch it again.
//!
//! - The first verification loads it; concurrent first verifications wait for
//!   that one fetch.
//! - A token with an unknown `kid` refetches it (the server rotated its key),
//!   at most once per refetch interval, so tokens with made-up key ids cannot
//!   turn into a stream of requests to the server.
//! - Once older than the refresh interval, the next verification refreshes it
//!   inline; verifications running meanwhile keep using the cached keys.
//! - A failed refresh keeps the cached keys for up to `max_stale`, and is
//!   retried at most once per refetch interval.
//!
//! The lock around the cache is a plain `RwLock` that is never held across an
//! await; a separate async mutex makes fetches single-flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use jsonwebtoken::DecodingKey;

use crate::error::{VerifyError, VerifyResult};
use crate::jwks::{self, Keys, SecretKey};
use crate::verifier::Options;

/// A JWKS URL and what was last fetched from it.
pub(crate) struct RemoteKeys {
    pub(crate) url: String,
    secret_key: Option<SecretKey>,
    http: reqwest::Client,
    cache: RwLock<Cache>,
    fetch_lock: tokio::sync::Mutex<()>,
    fetches: AtomicU64,
}

#[derive(Default)]
struct Cache {
    keys: Keys,
    /// Last successful fetch (ms).
    fetched_at: Option<i64>,
    /// Last fetch, successful or not (ms).
    attempted_at: Option<i64>,
    /// Last fetch caused by an unknown key id (ms).
    kid_refetched_at: Option<i64>,
    last_error: Option<String>,
}

/// What the cache holds for one key id, read under the lock and then released.
struct View {
    key: Option<Arc<DecodingKey>>,
    fetched_at: Option<i64>,
    attempted_at: Option<i64>,
    kid_refetched_at: Option<i64>,
    last_error: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Trigger {
    FirstLoad,
    UnknownKid,
    Periodic,
    Forced,
}

/// Whether at least `interval` ms passed from `then` to `now`; a clock that
/// went backwards counts as passed, so it cannot freeze the schedule.
fn elapsed(now: i64, then: Option<i64>, interval: i64) -> bool {
    then.is_none_or(|then| now < then || now - then >= interval)
}

impl RemoteKeys {
    pub(crate) fn new(url: String, secret_key: Option<SecretKey>, http: reqwest::Client) -> Self {
        Self {
            url,
            secret_key,
            http,
            cache: RwLock::new(Cache::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
        }
    }

    /// How many times the JWKS was requested.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The key ids currently cached.
    pub(crate) fn key_ids(&self) -> Vec<String> {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        let mut kids: Vec<String> = cache.keys.keys().cloned().collect();
        kids.sort();
        kids
    }

    fn view(&self, kid: &str) -> View {
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        View {
            key: cache.keys.get(kid).cloned(),
            fetched_at: cache.fetched_at,
            attempted_at: cache.attempted_at,
            kid_refetched_at: cache.kid_refetched_at,
            last_error: cache.last_error.clone(),
        }
    }

    /// The key for `kid`, fetching the JWKS first when the schedule says so.
    pub(crate) async fn key(
        &self,
        kid: &str,
        now: i64,
        opts: &Options,
    ) -> VerifyResult<Arc<DecodingKey>> {
        let view = self.view(kid);
        let trigger = match (&view.key, view.fetched_at) {
            (_, None) => Some(Trigger::FirstLoad),
            (None, Some(_)) => Some(Trigger::UnknownKid),
            (Some(_), at) if elapsed(now, at, opts.refresh_interval_ms) => Some(Trigger::Periodic),
            (Some(_), Some(_)) => None,
        };
        // Checked before locking too, so rate-limited callers never wait on a fetch.
        if let Some(trigger) = trigger.filter(|t| should_fetch(*t, &view, now, opts)) {
            let guard = if trigger == Trigger::Periodic && !too_stale(&view, now, opts) {
                // Someone else is already refreshing: keep using the cached keys.
                self.fetch_lock.try_lock().ok()
            } else {
                Some(self.fetch_lock.lock().await)
            };
            if let Some(_guard) = guard {
                // Read again under the lock: a concurrent caller may have just fetched.
                let view = self.view(kid);
                if should_fetch(trigger, &view, now, opts) {
                    self.fetch(trigger, now).await;
                }
            }
        }
        let view = self.view(kid);
        if view.fetched_at.is_none() || too_stale(&view, now, opts) {
            return Err(VerifyError::JwksUnavailable(
                view.last_error
                    .unwrap_or_else(|| "the JWKS has not been fetched".to_owned()),
            ));
        }
        view.key.ok_or_else(|| VerifyError::UnknownKey {
            kid: kid.to_owned(),
        })
    }

    /// Fetches the JWKS now, whatever the schedule, and reports the outcome.
    pub(crate) async fn refresh(&self, now: i64) -> VerifyResult<()> {
        let _guard = self.fetch_lock.lock().await;
        self.fetch(Trigger::Forced, now).await;
        let cache = self.cache.read().unwrap_or_else(PoisonError::into_inner);
        match (&cache.last_error, cache.fetched_at) {
            (None, Some(_)) => Ok(()),
            (error, _) => {
                Err(VerifyError::JwksUnavailable(error.clone().unwrap_or_else(
                    || "the JWKS has not been fetched".to_owned(),
                )))
            }
        }
    }

    /// One request to the JWKS URL; call with the fetch lock held.
    async fn fetch(&self, trigger: Trigger, now: i64) {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let result = jwks::fetch(&self.http, &self.url, self.secret_key.as_ref()).await;
        let mut cache = self.cache.write().unwrap_or_else(PoisonError::into_inner);
        cache.attempted_at = Some(now);
        if trigger == Trigger::UnknownKid {
            cache.kid_refetched_at = Some(now);
        }
        match result {
            Ok(keys) => {
                cache.keys = keys;
                cache.fetched_at = Some(now);
                cache.last_error = None;
            }
            Err(e) => {
                tracing::warn!(url = %self.url, "fetching the JWKS failed: {e}");
                cache.last_error = Some(e.to_string());
            }
        }
    }
}

fn too_stale(view: &View, now: i64, opts: &Options) -> bool {
    view.fetched_at
        .is_some_and(|at| now > at && now - at > opts.max_stale_ms)
}

fn should_fetch(trigger: Trigger, view: &View, now: i64, opts: &Options) -> bool {
    let retry_allowed = elapsed(now, view.attempted_at, opts.refetch_interval_ms);
    match trigger {
        Trigger::FirstLoad => view.fetched_at.is_none() && retry_allowed,
        Trigger::UnknownKid => {
            view.key.is_none() && elapsed(now, view.kid_refetched_at, opts.refetch_interval_ms)
        }
        Trigger::Periodic => {
            elapsed(now, view.fetched_at, opts.refresh_interval_ms) && retry_allowed
        }
        Trigger::Forced => true,
    }
}
