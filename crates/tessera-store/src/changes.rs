//! Committed changes to clients and sessions, as PostgreSQL announces them to
//! every process sharing the database.
//!
//! Migration 0007 (PostgreSQL) puts statement triggers on `clients` and
//! `sessions` that `pg_notify` [`CHANNEL`] with an empty payload inside the
//! writing transaction. PostgreSQL delivers the notification when, and only
//! if, that transaction commits, whichever process made the change (a server
//! replica, a command, an operator's `psql`), and sends one per transaction
//! however many statements it ran. A listener also hears the beacons that
//! processes send on the same channel to check that their listening connection
//! is alive; a beacon's payload is never empty.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::ConnectOptions;

use crate::{Backend, Store, StoreError, StoreResult};

/// The notification channel of client and session changes.
pub const CHANNEL: &str = "tessera_client_changes";

/// What a listener heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A transaction that wrote clients or sessions committed.
    Rows,
    /// A beacon (see [`Store::send_beacon`]) with this payload.
    Beacon(String),
}

/// PostgreSQL connection options for listening, kept without printing them
/// (they hold the database password).
#[derive(Clone)]
pub(crate) struct ListenOptions(PgConnectOptions);

impl std::fmt::Debug for ListenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenOptions { .. }")
    }
}

impl ListenOptions {
    /// Options for `url`, named so that operators see what the connection is.
    pub(crate) fn parse(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid database URL: {e}")))?
            .application_name(LISTENER_NAME)
            .disable_statement_logging();
        Ok(Self(options))
    }
}

/// `application_name` of the listening connection (in `pg_stat_activity`).
pub const LISTENER_NAME: &str = "tessera client changes";

/// A connection listening on [`CHANNEL`].
pub struct ClientChanges {
    listener: PgListener,
}

impl std::fmt::Debug for ClientChanges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientChanges { .. }")
    }
}

impl ClientChanges {
    /// Waits for the next notification. An error means the connection is lost
    /// (or broken): whatever was committed meanwhile will never be heard, and
    /// the caller should listen again on a new connection.
    pub async fn next(&mut self) -> StoreResult<Change> {
        match self.listener.try_recv().await? {
            Some(n) if n.payload().is_empty() => Ok(Change::Rows),
            Some(n) => Ok(Change::Beacon(n.payload().to_owned())),
            None => Err(StoreError::Config(
                "the connection listening for client changes was lost".to_owned(),
            )),
        }
    }
}

impl Store {
    /// Opens a connection of its own that listens for committed client and
    /// session changes; only on PostgreSQL. Once this returns, every later
    /// commit is heard.
    pub async fn client_changes(&self) -> StoreResult<ClientChanges> {
        let Some(ListenOptions(options)) = self.listen.clone() else {
            return Err(StoreError::Config(
                "client changes are announced only on PostgreSQL".to_owned(),
            ));
        };
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options);
        let mut listener = PgListener::connect_with(&pool).await?;
        // This method reconnects on its own; a lost connection is reported
        // instead, so the caller knows that notifications were missed.
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        Ok(ClientChanges { listener })
    }

    /// Sends `payload` (not empty) on [`CHANNEL`] through the store's own
    /// connections, for a listener to hear it come back; does nothing on SQLite.
    pub async fn send_beacon(&self, payload: &str) -> StoreResult<()> {
        if self.backend != Backend::Postgres || payload.is_empty() {
            return Ok(());
        }
        sqlx::query("SELECT 1 FROM pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload.to_owned())
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
