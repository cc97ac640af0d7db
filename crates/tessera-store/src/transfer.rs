//! Whole-database operations: copying every table into another database (of
//! either backend) and SQLite's online backup.

use std::path::Path;

use futures::TryStreamExt;
use sqlx::{Executor, Row};

use crate::error::{StoreError, StoreResult};
use crate::{Backend, Conn, Store};

/// Every table, parents before children (foreign keys), in the order a copy
/// writes them. A table the migrations add must be added here: [`copy_all`]
/// refuses a schema with a table it does not know.
pub const TABLES: &[&str] = &[
    "instance",
    "signing_keys",
    "users",
    "identifications",
    "identification_verifications",
    "profile_images",
    "totps",
    "backup_codes",
    "passkeys",
    "organization_permissions",
    "organization_roles",
    "organization_role_permissions",
    "role_sets",
    "role_set_roles",
    "organizations",
    "organization_memberships",
    "organization_invitations",
    "organization_logos",
    "organization_domains",
    "organization_suggestions",
    "organization_membership_requests",
    "clients",
    "sessions",
    "sign_ups",
    "sign_up_tickets",
    "sign_ins",
    "rate_limits",
    "handshake_payloads",
    "webhook_endpoints",
    "webhook_secrets",
    "webhook_messages",
    "webhook_deliveries",
    "webhook_attempts",
    "jobs",
];

/// Tables whose rows the migrations seed (the system permissions, the
/// default roles and role set): a copy replaces the destination's seeds with
/// the source's rows, which hold the same seeds as they stand there.
const SEEDED: &[&str] = &[
    "organization_permissions",
    "organization_roles",
    "organization_role_permissions",
    "role_sets",
    "role_set_roles",
];

/// How a column's values travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Text,
    Bytes,
}

/// A column of a table, as the destination declares it.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

/// One value on its way.
enum Value {
    Integer(Option<i64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

/// What a copy wrote: `(table, rows)` in copy order.
pub type CopyReport = Vec<(&'static str, u64)>;

/// Copies every row of `from` into `to`, which must be migrated to the same
/// version and hold no rows. The source is read in one snapshot; the
/// destination is written in one transaction, so a failed copy leaves it empty.
#[expect(
    clippy::disallowed_methods,
    reason = "a copy is the store's own transaction, outside any service"
)]
pub async fn copy_all(from: &Store, to: &Store) -> StoreResult<CopyReport> {
    let mut dst = to.begin().await?;
    check_tables(&mut dst, to.backend()).await?;
    for table in TABLES.iter().filter(|t| !SEEDED.contains(t)) {
        let count: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *dst)
            .await?
            .try_get(0)?;
        if count > 0 {
            return Err(StoreError::Config(format!(
                "the destination database is not empty (table {table} has {count} rows): \
                 copy into a new database"
            )));
        }
    }
    for table in SEEDED.iter().rev() {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *dst)
            .await?;
    }
    let mut src = from.read().await?;
    snapshot(&mut src, from.backend()).await?;
    let copied = copy_tables(&mut src, from.backend(), &mut dst, to.backend()).await;
    // The snapshot only read; ending it cannot lose anything.
    let _ = src.execute("ROLLBACK").await;
    let report = copied?;
    dst.commit().await?;
    Ok(report)
}

async fn copy_tables(
    src: &mut Conn,
    from: Backend,
    dst: &mut Conn,
    to: Backend,
) -> StoreResult<CopyReport> {
    let mut report = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let columns = columns(dst, to, table).await?;
        let mut theirs = columns_of(src, from, table).await?;
        let mut ours = columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        theirs.sort();
        ours.sort();
        if theirs != ours {
            return Err(StoreError::Config(format!(
                "table {table} has columns {theirs:?} in the source but {ours:?} in the \
                 destination: are both at the same migration?"
            )));
        }
        let names = columns
            .iter()
            .map(|c| quoted(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let marks = (1..=columns.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!("INSERT INTO {table} ({names}) VALUES ({marks})");
        let select = format!("SELECT {names} FROM {table}");
        let mut rows = 0u64;
        let mut stream = sqlx::query(&select).fetch(&mut *src);
        let mut batch = Vec::new();
        while let Some(row) = stream.try_next().await? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, column) in columns.iter().enumerate() {
                values.push(match column.kind {
                    Kind::Integer => Value::Integer(row.try_get(i)?),
                    Kind::Text => Value::Text(row.try_get(i)?),
                    Kind::Bytes => Value::Bytes(row.try_get(i)?),
                });
            }
            batch.push(values);
            if batch.len() == 500 {
                rows += write(dst, &insert, std::mem::take(&mut batch)).await?;
            }
        }
        drop(stream);
        rows += write(dst, &insert, batch).await?;
        report.push((*table, rows));
    }
    if to == Backend::Postgres {
        // Explicit values do not move a serial column's sequence on PostgreSQL.
        dst.execute(
            "SELECT setval(pg_get_serial_sequence('webhook_messages', 'seq'), \
             COALESCE((SELECT MAX(seq) FROM webhook_messages), 0) + 1, false)",
        )
        .await?;
    }
    Ok(report)
}

async fn write(dst: &mut Conn, insert: &str, batch: Vec<Vec<Value>>) -> StoreResult<u64> {
    let n = batch.len() as u64;
    for values in batch {
        let mut query = sqlx::query(insert);
        for value in values {
            query = match value {
                Value::Integer(v) => query.bind(v),
                Value::Text(v) => query.bind(v),
                Value::Bytes(v) => query.bind(v),
            };
        }
        query.execute(&mut *dst).await?;
    }
    Ok(n)
}

/// Starts a read-only snapshot on `conn`: every later read sees one moment.
async fn snapshot(conn: &mut Conn, backend: Backend) -> StoreResult<()> {
    match backend {
        Backend::Postgres => {
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
        }
        Backend::Sqlite => {
            conn.execute("BEGIN").await?;
            // A deferred transaction takes its snapshot at its first read.
            conn.execute("SELECT COUNT(*) FROM instance").await?;
        }
    }
    Ok(())
}

/// The tables of a database, without the migration bookkeeping.
async fn table_names(conn: &mut Conn, backend: Backend) -> StoreResult<Vec<String>> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%'"
        }
        Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name NOT LIKE '_sqlx_%'"
        }
    };
    let rows = sqlx::query(sql).fetch_all(conn).await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(StoreError::from))
        .collect()
}

/// Refuses a schema whose tables differ from [`TABLES`].
async fn check_tables(conn: &mut Conn, backend: Backend) -> StoreResult<()> {
    let mut found = table_names(conn, backend).await?;
    found.sort();
    let mut known = TABLES.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
    known.sort();
    if found != known {
        return Err(StoreError::Config(format!(
            "the schema's tables {found:?} differ from the tables a copy knows {known:?}"
        )));
    }
    Ok(())
}

/// An identifier quoted for SQL (both backends), whatever a catalogue says.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The column names of `table`.
async fn columns_of(conn: &mut Conn, backend: Backend, table: &str) -> StoreResult<Vec<String>> {
    Ok(catalogue(conn, backend, table)
        .await?
        .into_iter()
        .map(|(name, _)| name)
        .collect())
}

/// `(name, declared type)` of each column of `table`, in order.
async fn catalogue(
    conn: &mut Conn,
    backend: Backend,
    table: &str,
) -> StoreResult<Vec<(String, String)>> {
    let rows = match backend {
        Backend::Sqlite => {
            sqlx::query(&format!(
                "SELECT name, type FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .fetch_all(conn)
            .await?
        }
        Backend::Postgres => {
            sqlx::query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(conn)
            .await?
        }
    };
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// The columns of `table` in the destination, with how their values travel.
async fn columns(conn: &mut Conn, backend: Backend, table: &str) -> StoreResult<Vec<Column>> {
    catalogue(conn, backend, table)
        .await?
        .into_iter()
        .map(|(name, declared)| {
            let kind = match declared.to_ascii_lowercase().as_str() {
                "integer" | "bigint" | "smallint" => Kind::Integer,
                "text" | "character varying" => Kind::Text,
                "blob" | "bytea" => Kind::Bytes,
                other => {
                    return Err(StoreError::Config(format!(
                        "column {table}.{name} has type {other}, which a copy does not know"
                    )))
                }
            };
            Ok(Column { name, kind })
        })
        .collect()
}

/// Writes a consistent copy of a live SQLite database to `file` (SQLite's
/// `VACUUM INTO`); writers go on meanwhile. `file` must not exist.
pub async fn backup_sqlite(store: &Store, file: &Path) -> StoreResult<()> {
    if store.backend() != Backend::Sqlite {
        return Err(StoreError::Config(
            "`tessera backup` copies SQLite databases; back PostgreSQL up with pg_dump \
             (see docs/backup.md)"
                .to_owned(),
        ));
    }
    let path = file
        .to_str()
        .ok_or_else(|| StoreError::Config(format!("{} is not a UTF-8 path", file.display())))?;
    // The copy holds private signing keys and password hashes: made here, new
    // and readable by its owner only, before SQLite fills it (it accepts an
    // empty file).
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file).map_err(|e| {
        StoreError::Config(match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("{} exists already: choose a new file", file.display())
            }
            _ => format!("cannot create {}: {e}", file.display()),
        })
    })?;
    let mut conn = store.read().await?;
    let written = sqlx::query("VACUUM INTO $1")
        .bind(path)
        .execute(&mut *conn)
        .await;
    if let Err(e) = written {
        let _ = std::fs::remove_file(file);
        return Err(e.into());
    }
    // Durable before the command says it is done.
    std::fs::File::open(file)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::Config(format!("syncing {}: {e}", file.display())))?;
    Ok(())
}
