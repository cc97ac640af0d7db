//! Clients: one per browser or device.

use std::sync::LazyLock;

use sqlx::{FromRow, Row};
use tessera_domain::ids::ClientId;

use crate::error::{StoreError, StoreResult};
use crate::records::{Client, Session};
use crate::rows::{ClientRow, SessionRow};
use crate::sql::SqlBuf;
use crate::Conn;

const COLUMNS: &str =
    "id, token_hash, last_active_session_id, sign_up_id, sign_in_id, expire_at, created_at, updated_at";

/// Loads one client.
pub async fn get(conn: &mut Conn, id: &ClientId) -> StoreResult<Client> {
    let row: Option<ClientRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM clients WHERE id = $1"))
            .bind(id.as_str().to_owned())
            .fetch_optional(conn)
            .await?;
    row.map(Client::from).ok_or(StoreError::NotFound)
}

/// Finds the client whose token hashes to `token_hash`.
pub async fn find_by_token_hash(conn: &mut Conn, token_hash: &str) -> StoreResult<Option<Client>> {
    let row: Option<ClientRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM clients WHERE token_hash = $1"
    ))
    .bind(token_hash.to_owned())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Client::from))
}

/// The `SELECT` of a client by token hash joined with its sessions, oldest first:
/// client columns are prefixed `c_`, session columns keep their names, and
/// each session comes with its active organization's slug and role.
static WITH_SESSIONS_BY_TOKEN_HASH: LazyLock<String> = LazyLock::new(|| {
    let client: Vec<String> = COLUMNS
        .split(',')
        .map(|c| format!("c.{0} AS c_{0}", c.trim()))
        .collect();
    format!(
        "SELECT {}, {} FROM clients c LEFT JOIN sessions s ON s.client_id = c.id{} \
         WHERE c.token_hash = $1 ORDER BY s.created_at, s.id",
        client.join(", "),
        *crate::sessions::JOINED_COLUMNS,
        crate::sessions::ACTIVE_ORGANIZATION_JOIN
    )
});

/// Finds the client whose token hashes to `token_hash` together with its
/// sessions (oldest first), in one query.
pub async fn find_with_sessions_by_token_hash(
    conn: &mut Conn,
    token_hash: &str,
) -> StoreResult<Option<(Client, Vec<Session>)>> {
    let rows = sqlx::query(&WITH_SESSIONS_BY_TOKEN_HASH)
        .bind(token_hash.to_owned())
        .fetch_all(conn)
        .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let client = Client::from(ClientRow::from_prefixed(first)?);
    let mut sessions = Vec::with_capacity(rows.len());
    for row in &rows {
        // A client without sessions comes back as one row of NULL session columns.
        if row.try_get::<Option<String>, _>("id")?.is_some() {
            sessions.push(Session::try_from(SessionRow::from_row(row)?)?);
        }
    }
    Ok(Some((client, sessions)))
}

/// Inserts a client.
pub async fn insert(conn: &mut Conn, client: &Client) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO clients ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(client.id.as_str().to_owned())
    .bind(client.token_hash.clone())
    .bind(
        client
            .last_active_session_id
            .as_ref()
            .map(|s| s.as_str().to_owned()),
    )
    .bind(client.sign_up_id.as_ref().map(|s| s.as_str().to_owned()))
    .bind(client.sign_in_id.as_ref().map(|s| s.as_str().to_owned()))
    .bind(client.expire_at)
    .bind(client.created_at)
    .bind(client.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves the mutable fields of a client.
pub async fn update(conn: &mut Conn, client: &Client) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE clients SET token_hash = $1, last_active_session_id = $2, sign_up_id = $3, \
         sign_in_id = $4, expire_at = $5, updated_at = $6 WHERE id = $7",
    )
    .bind(client.token_hash.clone())
    .bind(
        client
            .last_active_session_id
            .as_ref()
            .map(|s| s.as_str().to_owned()),
    )
    .bind(client.sign_up_id.as_ref().map(|s| s.as_str().to_owned()))
    .bind(client.sign_in_id.as_ref().map(|s| s.as_str().to_owned()))
    .bind(client.expire_at)
    .bind(client.updated_at)
    .bind(client.id.as_str().to_owned())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Lists clients, newest first, one page at a time.
pub async fn list(conn: &mut Conn, limit: i64, offset: i64) -> StoreResult<Vec<Client>> {
    let mut buf = SqlBuf::new(&format!(
        "SELECT {COLUMNS} FROM clients ORDER BY created_at DESC, id DESC LIMIT "
    ));
    buf.bind(limit).push(" OFFSET ").bind(offset);
    let rows: Vec<ClientRow> = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(Client::from).collect())
}

/// Counts clients.
pub async fn count(conn: &mut Conn) -> StoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM clients")
        .fetch_one(conn)
        .await?;
    Ok(n)
}
