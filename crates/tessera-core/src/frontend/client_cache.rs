//! Clients by token, kept in memory between writes.
//!
//! Every Frontend API request reads the caller's client and its sessions, and a
//! token refresh (`/tokens`) does nothing else before signing; on SQLite that
//! read is a round trip to the driver's worker thread. The cache serves the
//! same rows without it, and is exactly as fresh as the database:
//!
//! - every transaction that changes clients, sessions or users commits through
//!   [`crate::work::Work::commit`] (the only commit services have), which
//!   moves the cache's epoch on after the commit;
//! - an entry is stored under the epoch observed *before* its database read and
//!   served only while that epoch is current, so a write committing while a
//!   read is in flight leaves the read's entry stale, and a revoked or ended
//!   session is never served after its transaction commits;
//! - time-based state (client expiry, session expiry and abandonment) is
//!   computed from the cached rows at every use, never cached.
//!
//! On SQLite, one server owns the file, so its own commits are all there is:
//! the cache is always on. On PostgreSQL, other processes (replicas, commands)
//! write the same rows, and the database announces each committed change to
//! clients and sessions (`tessera_store::changes`). Each server follows those
//! announcements ([`crate::Core::follow_client_changes`]) on a connection of
//! its own and moves the epoch on for each one. The cache serves entries only
//! while that connection is known to be alive: a beacon the server sends
//! itself through the database every [`BEACON_EVERY`] must come back on it,
//! and each one that does lets the cache serve for [`LEASE`] more. A lost
//! connection switches the cache off at once; once listening again, the epoch
//! moves on (what was committed meanwhile was not heard) before the cache
//! serves again. A change committed by another process is therefore seen here
//! as soon as its notification arrives, a few milliseconds after its commit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tessera_store::changes::Change;
use tessera_store::records::{Client, Session};
use tokio::sync::watch;

use crate::Core;

/// How often a server sends itself a beacon through the database.
pub const BEACON_EVERY: Duration = Duration::from_secs(1);
/// How long the cache serves after a beacon came back.
pub const LEASE: Duration = Duration::from_secs(3);
/// Without a beacon back for this long, the listening connection is replaced.
pub const SILENT_LIMIT: Duration = Duration::from_secs(5);
/// Wait before listening again after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Milliseconds on a monotonic clock (since first use).
fn mono_ms() -> i64 {
    static START: LazyLock<Instant> = LazyLock::new(Instant::now);
    START.elapsed().as_millis() as i64
}

/// Clients the cache holds at most; when full, stale entries go first, then all.
const CAPACITY: usize = 10_000;

#[derive(Debug)]
struct Entry {
    epoch: u64,
    client: Client,
    sessions: Vec<Session>,
}

/// Clients and their sessions by the SHA-256 of their token.
#[derive(Debug)]
pub struct ClientCache {
    /// Serves while [`mono_ms`] is below this: `i64::MAX` for always, 0 for off.
    serve_until: AtomicI64,
    epoch: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
}

impl ClientCache {
    /// A cache that serves entries always when `enabled`, or otherwise only
    /// within the leases given by [`Self::lease`] (storing nothing outside them).
    pub fn new(enabled: bool) -> Self {
        Self {
            serve_until: AtomicI64::new(if enabled { i64::MAX } else { 0 }),
            epoch: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Whether entries are served now.
    pub fn serving(&self) -> bool {
        // Always on (SQLite) and off need no clock.
        match self.serve_until.load(Ordering::SeqCst) {
            i64::MAX => true,
            0 => false,
            until => mono_ms() < until,
        }
    }

    /// Serves for `length` from now (or longer, if already allowed).
    pub fn lease(&self, length: Duration) {
        let until = mono_ms().saturating_add(length.as_millis() as i64);
        self.serve_until.fetch_max(until, Ordering::SeqCst);
    }

    /// Stops serving until the next [`Self::lease`], and makes every entry stale.
    pub fn suspend(&self) {
        self.serve_until.store(0, Ordering::SeqCst);
        self.invalidate();
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The client and sessions stored for `token_hash`, if still current.
    pub fn get(&self, token_hash: &str) -> Option<(Client, Vec<Session>)> {
        self.read(token_hash, |client, sessions| {
            (client.clone(), sessions.to_vec())
        })
    }

    /// Runs `read` on the rows stored for `token_hash`, if still current, without
    /// copying them (under the cache's lock: keep `read` short).
    pub fn read<R>(
        &self,
        token_hash: &str,
        read: impl FnOnce(&Client, &[Session]) -> R,
    ) -> Option<R> {
        if !self.serving() {
            return None;
        }
        let epoch = self.epoch.load(Ordering::SeqCst);
        let entries = self.entries();
        let entry = entries.get(token_hash).filter(|e| e.epoch == epoch)?;
        Some(read(&entry.client, &entry.sessions))
    }

    /// The epoch to pass to [`Self::put`]; take it before the database read.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Stores rows read from the database under `epoch` (taken before the read);
    /// nothing is stored if a write has committed since.
    pub fn put(&self, token_hash: String, epoch: u64, client: &Client, sessions: &[Session]) {
        if !self.serving() {
            return;
        }
        let mut entries = self.entries();
        let current = self.epoch.load(Ordering::SeqCst);
        if current != epoch {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.epoch == current);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            token_hash,
            Entry {
                epoch,
                client: client.clone(),
                sessions: sessions.to_vec(),
            },
        );
    }

    /// Makes every entry stale: called after each committed write.
    pub fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

impl Core {
    /// Keeps this server's client cache as fresh as a PostgreSQL database that
    /// other processes write too, until `stop` (see the module documentation).
    /// Returns at once on SQLite, where the cache is always on.
    pub async fn follow_client_changes(&self, mut stop: watch::Receiver<bool>) {
        if self.store.backend() != tessera_store::Backend::Postgres {
            return;
        }
        let beacon = format!("beacon {:032x}", rand::thread_rng().gen::<u128>());
        let store = self.store.clone();
        let sender_beacon = beacon.clone();
        // Stops with this function, however it ends.
        let _sender = AbortOnDrop(tokio::spawn(async move {
            let mut every = tokio::time::interval(BEACON_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(e) = store.send_beacon(&sender_beacon).await {
                    tracing::debug!("sending the client cache's beacon failed: {e}");
                }
            }
        }));
        let mut failures = 0_u32;
        while !*stop.borrow() {
            let listening = tokio::select! {
                listening = self.store.client_changes() => listening,
                _ = stop.changed() => break,
            };
            let mut changes = match listening {
                Ok(changes) => changes,
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_multiple_of(60) {
                        tracing::warn!(
                            "listening for client changes failed ({failures} times): {e}; \
                             the client cache stays off"
                        );
                    }
                    tokio::select! {
                        () = tokio::time::sleep(RETRY_AFTER) => continue,
                        _ = stop.changed() => break,
                    }
                }
            };
            if failures > 0 {
                tracing::info!("listening for client changes again");
                failures = 0;
            }
            // Changes committed while nobody listened were not heard.
            self.clients.invalidate();
            if let Err(e) = self.store.send_beacon(&beacon).await {
                tracing::debug!("sending the client cache's beacon failed: {e}");
            }
            let mut silent_until = tokio::time::Instant::now() + SILENT_LIMIT;
            loop {
                tokio::select! {
                    change = changes.next() => match change {
                        Ok(Change::Rows) => self.clients.invalidate(),
                        Ok(Change::Beacon(b)) if b == beacon => {
                            self.clients.lease(LEASE);
                            silent_until = tokio::time::Instant::now() + SILENT_LIMIT;
                        }
                        Ok(Change::Beacon(_)) => {}
                        Err(e) => {
                            tracing::warn!("{e}; the client cache is off until listening again");
                            break;
                        }
                    },
                    () = tokio::time::sleep_until(silent_until) => {
                        tracing::warn!(
                            "no beacon came back on the connection listening for client changes \
                             in {SILENT_LIMIT:?}; the client cache is off until listening again"
                        );
                        break;
                    }
                    _ = stop.changed() => break,
                }
            }
            self.clients.suspend();
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        crate::sessions::clients::new_client(0).0
    }

    #[test]
    fn serves_only_entries_read_under_the_current_epoch() {
        let cache = ClientCache::new(true);
        let before = cache.epoch();
        cache.put("a".into(), before, &client(), &[]);
        assert!(cache.get("a").is_some());
        assert_eq!(cache.read("a", |_, sessions| sessions.len()), Some(0));
        cache.invalidate();
        assert!(cache.get("a").is_none(), "a write makes it stale");
        assert!(cache.read("a", |_, _| ()).is_none());

        // A read that started before a write commits is not stored.
        let during = cache.epoch();
        cache.invalidate();
        cache.put("b".into(), during, &client(), &[]);
        assert!(cache.get("b").is_none());
    }

    #[test]
    fn a_disabled_cache_serves_nothing() {
        let cache = ClientCache::new(false);
        assert!(!cache.serving());
        cache.put("a".into(), cache.epoch(), &client(), &[]);
        assert!(cache.get("a").is_none());
        assert!(cache.read("a", |_, _| ()).is_none());
    }

    #[test]
    fn serves_within_a_lease_and_stops_when_suspended() {
        let cache = ClientCache::new(false);
        cache.lease(Duration::from_secs(60));
        assert!(cache.serving());
        cache.put("a".into(), cache.epoch(), &client(), &[]);
        assert!(cache.get("a").is_some());
        // A shorter lease does not cut a longer one short.
        cache.lease(Duration::ZERO);
        assert!(cache.get("a").is_some());
        cache.suspend();
        assert!(!cache.serving());
        assert!(cache.get("a").is_none());
        // Entries from before the suspension stay stale under a new lease.
        cache.lease(Duration::from_secs(60));
        assert!(cache.get("a").is_none());

        let lapsing = ClientCache::new(false);
        lapsing.lease(Duration::from_millis(20));
        lapsing.put("a".into(), lapsing.epoch(), &client(), &[]);
        assert!(lapsing.get("a").is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(!lapsing.serving(), "a lease lapses");
        assert!(lapsing.get("a").is_none());
    }
}
