//! Handshake payloads, kept under a nonce's hash until redeemed once.

use crate::error::StoreResult;
use crate::Conn;

/// Stores the directives (a JSON array of `Set-Cookie` values) under `nonce_hash`.
pub async fn insert(
    conn: &mut Conn,
    nonce_hash: &str,
    directives: &str,
    expires_at: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO handshake_payloads (nonce_hash, directives, expires_at) VALUES ($1, $2, $3)",
    )
    .bind(nonce_hash.to_owned())
    .bind(directives.to_owned())
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes and returns the directives stored under `nonce_hash`, if they have not
/// expired at `now`. A nonce can be redeemed once: two concurrent redemptions
/// cannot both see the row, because the delete is the read.
pub async fn take(conn: &mut Conn, nonce_hash: &str, now: i64) -> StoreResult<Option<String>> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "DELETE FROM handshake_payloads WHERE nonce_hash = $1 RETURNING directives, expires_at",
    )
    .bind(nonce_hash.to_owned())
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(directives, expires_at)| (expires_at > now).then_some(directives)))
}

/// Removes payloads that expired before `now`.
pub async fn purge(conn: &mut Conn, now: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM handshake_payloads WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
