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
            other => Self::Db(other),
        }
    }
}
