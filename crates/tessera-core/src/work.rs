//! The unit of work: the one way a service writes.
//!
//! A [`Work`] wraps a store transaction. Services pass it to store functions
//! (`&mut work` is a connection) and to [`Core::emit`](crate::Core::emit),
//! which writes webhook events into the same transaction (the outbox), and
//! end it with [`Work::commit`]. Committing makes the client cache stale and
//! wakes this server's webhook dispatcher, so a write cannot forget either.
//! Dropping a `Work` without committing rolls it back.
//!
//! Bookkeeping — rate-limit counters, handshake nonces, the dispatcher's own
//! leases and delivery records — begins with [`Core::begin_bookkeeping`]: its
//! commit does neither, because no client read depends on those rows and the
//! dispatcher must not wake itself for its own writes.
//!
//! The store's own `begin` and the transaction's raw `commit` are refused by
//! clippy (`disallowed-methods` in `clippy.toml`) everywhere but here and at
//! start-up, before a [`Core`] exists.

use std::ops::{Deref, DerefMut};

use tessera_store::{Conn, StoreError, Tx};

use crate::{Core, CoreResult};

/// One transaction of a service, committed through [`Work::commit`].
#[must_use = "a unit of work is rolled back unless committed"]
pub struct Work {
    tx: Tx,
    core: Core,
    bookkeeping: bool,
}

impl std::fmt::Debug for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Work")
    }
}

impl Core {
    /// Starts a unit of work (a write transaction).
    pub async fn begin(&self) -> CoreResult<Work> {
        #[allow(clippy::disallowed_methods)] // the one place services' transactions start
        let tx = self.store.begin().await?;
        Ok(Work {
            tx,
            core: self.clone(),
            bookkeeping: false,
        })
    }

    /// Starts a unit of work for bookkeeping rows only (rate limits, handshake
    /// nonces, the dispatcher's leases and deliveries): its commit leaves the
    /// client cache and the dispatcher alone.
    pub async fn begin_bookkeeping(&self) -> CoreResult<Work> {
        let mut work = self.begin().await?;
        work.bookkeeping = true;
        Ok(work)
    }
}

impl Work {
    /// Commits, then makes the client cache stale and wakes the dispatcher so
    /// the events written go out at once. The cache is made stale after a
    /// failed commit too: its outcome is unknown to this process.
    pub async fn commit(self) -> CoreResult<()> {
        #[allow(clippy::disallowed_methods)] // the one place services' transactions commit
        let committed = self.tx.commit().await.map_err(StoreError::from);
        if self.bookkeeping {
            return committed.map_err(Into::into);
        }
        self.core.clients.invalidate();
        committed?;
        self.core.outbox.notify_one();
        Ok(())
    }
}

impl Deref for Work {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        &self.tx
    }
}

impl DerefMut for Work {
    fn deref_mut(&mut self) -> &mut Conn {
        &mut self.tx
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::Core;

    /// Whether the dispatcher would be woken now (consumes the wake-up).
    async fn woken(core: &Core) -> bool {
        tokio::time::timeout(Duration::from_millis(50), core.outbox.notified())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn work_wakes_the_dispatcher_and_bookkeeping_does_not() {
        let dir = std::env::temp_dir().join(format!("tessera-work-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let core = crate::instance::boot_for_test(&dir).await.unwrap();
        while woken(&core).await {}

        core.begin().await.unwrap().commit().await.unwrap();
        assert!(woken(&core).await, "a unit of work wakes the dispatcher");

        // The dispatcher's own writes must not wake it again (it would spin).
        core.begin_bookkeeping()
            .await
            .unwrap()
            .commit()
            .await
            .unwrap();
        assert!(
            !woken(&core).await,
            "bookkeeping leaves the dispatcher asleep"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
