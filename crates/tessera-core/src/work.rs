//! The unit of work: the one way a service writes.
//!
//! A [`Work`] wraps a store transaction. Services pass it to store functions
//! (`&mut work` is a connection) and to [`Core::emit`](crate::Core::emit),
//! which writes webhook events into the same transaction (the outbox), and
//! end it with [`Work::commit`]. Committing makes the client cache stale and
//! wakes this server's webhook dispatcher, so a write cannot forget either.
//! Dropping a `Work` without committing rolls it back.
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
        })
    }
}

impl Work {
    /// Commits, then makes the client cache stale and wakes the dispatcher so
    /// the events written go out at once. The cache is made stale after a
    /// failed commit too: its outcome is unknown to this process.
    pub async fn commit(self) -> CoreResult<()> {
        #[allow(clippy::disallowed_methods)] // the one place services' transactions commit
        let committed = self.tx.commit().await.map_err(StoreError::from);
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
