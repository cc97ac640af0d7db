//! Tessera's persistence: plain SQL through sqlx over SQLite (the embedded
//! default) or PostgreSQL, chosen by the database URL.
//!
//! One SQL string serves both backends: queries use `$N` placeholders (which
//! SQLite accepts too), integers and 0/1 booleans are 64-bit, JSON is TEXT.
//! Each backend has its own migration folder. On SQLite all writes go through
//! a single-connection pool, so write transactions never race to upgrade a
//! read lock ("one writer"). This crate knows nothing of services or HTTP; it
//! depends only on the domain.

pub mod attempts;
pub mod changes;
pub mod clients;
mod error;
pub mod handshakes;
pub mod identifications;
pub mod instance;
pub mod keys;
pub mod rate_limits;
pub mod records;
mod rows;
pub mod sessions;
mod sql;
pub mod users;
pub mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, ConnectOptions, Executor};

pub use error::{StoreError, StoreResult};
pub use sqlx::AnyConnection as Conn;

/// A write transaction; pass `&mut *tx` to store functions, then `commit()`.
pub type Tx = sqlx::Transaction<'static, Any>;

/// Which database engine is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file (embedded default).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Handle to the database: a read pool and a write pool (the same pool on PostgreSQL).
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    read: AnyPool,
    write: AnyPool,
    /// How to open a listening connection (PostgreSQL).
    listen: Option<changes::ListenOptions>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`), creating a SQLite file if missing.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL scheme in {:?}; use sqlite:// or postgres://",
                redact_url(url)
            )));
        };
        let options = AnyConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("invalid database URL: {e}")))?
            .disable_statement_logging();
        match backend {
            Backend::Sqlite => {
                let pragmas = "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                               PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;";
                let pool = |max: u32| {
                    AnyPoolOptions::new()
                        .max_connections(max)
                        .acquire_timeout(Duration::from_secs(30))
                        .after_connect(move |conn, _| {
                            Box::pin(async move {
                                conn.execute(pragmas).await?;
                                Ok(())
                            })
                        })
                };
                let write = pool(1).connect_with(options.clone()).await?;
                let read = pool(8).connect_with(options).await?;
                Ok(Self {
                    backend,
                    read,
                    write,
                    listen: None,
                })
            }
            Backend::Postgres => {
                let listen = changes::ListenOptions::parse(url)?;
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                Ok(Self {
                    backend,
                    read: pool.clone(),
                    write: pool,
                    listen: Some(listen),
                })
            }
        }
    }

    /// Applies this backend's pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.write).await?;
        Ok(())
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for reads.
    pub async fn read(&self) -> StoreResult<PoolConnection<Any>> {
        Ok(self.read.acquire().await?)
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(self.write.begin().await?)
    }

    /// Closes both pools, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

/// Hides the password of a database URL for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact_url("postgres://u:secret@127.0.0.1/db"),
            "postgres://u:***@127.0.0.1/db"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
