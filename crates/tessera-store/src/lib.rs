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
pub mod domains;
mod error;
pub mod handshakes;
pub mod identifications;
pub mod instance;
pub mod keys;
pub mod mfa;
pub mod organizations;
pub mod passkeys;
pub mod rate_limits;
pub mod records;
pub mod roles;
mod rows;
pub mod sessions;
mod sql;
pub mod transfer;
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

/// How many connections a store may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSize(pub u32);

impl PoolSize {
    /// PostgreSQL's pool, and SQLite's readers (SQLite has one writer besides).
    pub const fn default_for(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self(8),
            Backend::Postgres => Self(16),
        }
    }
}

/// How long one attempt to reach the database may take at start-up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) with the default pool
    /// size, creating a SQLite file if missing.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, None).await
    }

    /// Which backend a URL names.
    pub fn backend_of(url: &str) -> StoreResult<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL scheme in {:?}; use sqlite:// or postgres://",
                redact_url(url)
            )))
        }
    }

    /// Connects with at most `pool` connections (PostgreSQL; SQLite readers),
    /// failing at once with a plain message when the database cannot be reached.
    pub async fn connect_with(url: &str, pool: Option<PoolSize>) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let backend = Self::backend_of(url)?;
        let pool = pool.unwrap_or(PoolSize::default_for(backend)).0.max(1);
        let url = match backend {
            Backend::Sqlite => sqlite::creating(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Config(format!("invalid database URL: {e}")))?
            .disable_statement_logging();
        match backend {
            Backend::Sqlite => {
                let pragmas = "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                               PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;";
                let pool_of = |max: u32| {
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
                let write = pool_of(1)
                    .connect_with(options.clone())
                    .await
                    .map_err(|e| sqlite::open_error(&url, e))?;
                let read = pool_of(pool).connect_with(options).await?;
                Ok(Self {
                    backend,
                    read,
                    write,
                    listen: None,
                })
            }
            Backend::Postgres => {
                let listen = changes::ListenOptions::parse(&url)?;
                // One plain attempt first: a pool would retry a refused
                // connection silently until its acquire timeout.
                postgres::reach(&url, &options).await?;
                let pool = AnyPoolOptions::new()
                    .max_connections(pool)
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

/// Start-up help for SQLite URLs.
mod sqlite {
    use super::StoreError;

    /// The file a `sqlite:` URL names, if it names one.
    pub(super) fn file_of(url: &str) -> Option<&str> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && !path.contains(":memory:")).then_some(path)
    }

    /// The URL with `mode=rwc` added when it names no mode, so that a missing
    /// file is created (sqlx's default mode refuses to create it); a missing
    /// folder is reported by name.
    pub(super) fn creating(url: &str) -> Result<String, StoreError> {
        let Some(file) = file_of(url) else {
            return Ok(url.to_owned());
        };
        let folder = std::path::Path::new(file)
            .parent()
            .filter(|p| !p.as_os_str().is_empty());
        if let Some(folder) = folder {
            if !folder.is_dir() {
                return Err(StoreError::Config(format!(
                    "cannot open the SQLite database {file}: the folder {} does not exist \
                     (create it first)",
                    folder.display()
                )));
            }
        }
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        if query.split('&').any(|pair| pair.starts_with("mode=")) {
            return Ok(url.to_owned());
        }
        let joiner = if url.contains('?') { '&' } else { '?' };
        Ok(format!("{url}{joiner}mode=rwc"))
    }

    /// Says which file could not be opened, and why it may be.
    pub(super) fn open_error(url: &str, err: sqlx::Error) -> StoreError {
        match (file_of(url), &err) {
            (Some(file), sqlx::Error::Database(db)) => StoreError::Config(format!(
                "cannot open the SQLite database {file}: {} (is its folder writable, \
                 and the file a SQLite database?)",
                db.message()
            )),
            _ => err.into(),
        }
    }
}

/// Start-up help for PostgreSQL URLs.
mod postgres {
    use std::str::FromStr;

    use sqlx::any::AnyConnectOptions;
    use sqlx::postgres::PgConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    use super::{StoreError, CONNECT_TIMEOUT};

    /// Opens and closes one connection, turning the usual failures into one
    /// line naming the server.
    pub(super) async fn reach(url: &str, options: &AnyConnectOptions) -> Result<(), StoreError> {
        let at = PgConnectOptions::from_str(url)
            .map(|o| format!("{}:{}", o.get_host(), o.get_port()))
            .unwrap_or_else(|_| "the configured server".to_owned());
        let attempt = tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await;
        let err = match attempt {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                return Ok(());
            }
            Ok(Err(err)) => err,
            Err(_) => {
                return Err(StoreError::Config(format!(
                    "cannot connect to PostgreSQL at {at}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )))
            }
        };
        let why = match &err {
            sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                "connection refused (is PostgreSQL running and listening there?)".to_owned()
            }
            sqlx::Error::Io(io) => io.to_string(),
            sqlx::Error::Database(db) => db.message().to_owned(),
            sqlx::Error::Tls(tls) => format!("TLS: {tls}"),
            other => other.to_string(),
        };
        Err(StoreError::Config(format!(
            "cannot connect to PostgreSQL at {at}: {why}"
        )))
    }
}

/// The file a `sqlite:` URL names (`None` for other URLs and in-memory databases).
pub fn sqlite_file(url: &str) -> Option<&str> {
    sqlite::file_of(url)
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
