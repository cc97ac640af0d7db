//! Clients by token, kept in memory between writes.
//!
//! Every Frontend API request reads the caller's client and its sessions, and a
//! token refresh (`/tokens`) does nothing else before signing; on SQLite that
//! read is a round trip to the driver's worker thread. The cache serves the
//! same rows without it, and is exactly as fresh as the database:
//!
//! - every transaction that changes clients, sessions or users commits through
//!   [`crate::Core::commit`], which moves the cache's epoch on after the commit;
//! - an entry is stored under the epoch observed *before* its database read and
//!   served only while that epoch is current, so a write committing while a
//!   read is in flight leaves the read's entry stale, and a revoked or ended
//!   session is never served after its transaction commits;
//! - time-based state (client expiry, session expiry and abandonment) is
//!   computed from the cached rows at every use, never cached.
//!
//! This holds only when this process is the database's one writer: the cache
//! is on for SQLite (one server owns the file) and off for PostgreSQL, whose
//! replicas write the same rows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tessera_store::records::{Client, Session};

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
    enabled: bool,
    epoch: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
}

impl ClientCache {
    /// A cache that serves entries when `enabled` (and otherwise stores nothing).
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            epoch: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
        }
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
        if !self.enabled {
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
        if !self.enabled {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        crate::frontend::clients::new_client(0).0
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
        cache.put("a".into(), cache.epoch(), &client(), &[]);
        assert!(cache.get("a").is_none());
        assert!(cache.read("a", |_, _| ()).is_none());
    }
}
