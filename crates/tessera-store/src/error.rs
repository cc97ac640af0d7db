//! The store's error type: not-found and conflicts are variants, everything else is the driver's.

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row asked for does not exist.
    #[error("not found")]
    NotFound,
    /// A unique or foreign-key constraint refused the write.
    #[error("conflict on {constraint}")]
    Conflict {
        /// The constraint or column the database named.
        constraint: String,
    },
    /// A save from a read that another request's save has overtaken (the
    /// record changed meanwhile); nothing was written.
    #[error("changed meanwhile by another request")]
    Stale,
    /// Text the database cannot store (PostgreSQL refuses NUL characters and
    /// invalid byte sequences). The HTTP layer refuses such input first; this
    /// keeps anything that slips through a 4xx rather than a 500.
    #[error("text the database cannot store: {0}")]
    InvalidText(String),
    /// A stored value could not be read back (corrupt JSON, unknown enum).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database URL or options are unusable.
    #[error("{0}")]
    Config(String),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

/// Result alias for the store.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db)
                if db.is_unique_violation() || db.is_foreign_key_violation() =>
            {
                // PostgreSQL names the constraint; SQLite names the columns in the message.
                let constraint = db
                    .constraint()
                    .map_or_else(|| db.message().to_owned(), str::to_owned);
                Self::Conflict { constraint }
            }
            // 22021: invalid byte sequence (NUL); 22P05: untranslatable character.
            sqlx::Error::Database(db)
                if matches!(db.code().as_deref(), Some("22021" | "22P05")) =>
            {
                Self::InvalidText(db.message().to_owned())
            }
            other => Self::Db(other),
        }
    }
}
