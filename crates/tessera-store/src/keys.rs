//! Session-token signing keys.

use crate::error::StoreResult;
use crate::records::SigningKey;
use crate::rows::KeyRow;
use crate::Conn;

const COLUMNS: &str = "kid, algorithm, private_key_pem, public_key_pem, created_at, retired_at";

/// Every stored key, newest first.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<SigningKey>> {
    let rows: Vec<KeyRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM signing_keys ORDER BY created_at DESC, kid DESC"
    ))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(SigningKey::from).collect())
}

/// Adds a key.
pub async fn insert(conn: &mut Conn, key: &SigningKey) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO signing_keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(key.kid.as_str().to_owned())
    .bind(key.algorithm.clone())
    .bind(key.private_key_pem.clone())
    .bind(key.public_key_pem.clone())
    .bind(key.created_at)
    .bind(key.retired_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks every key that is still signing as retired at `now`.
pub async fn retire_active(conn: &mut Conn, now: i64) -> StoreResult<()> {
    sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL")
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes keys retired before `cutoff`.
pub async fn purge_retired_before(conn: &mut Conn, cutoff: i64) -> StoreResult<u64> {
    let done =
        sqlx::query("DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < $1")
            .bind(cutoff)
            .execute(conn)
            .await?;
    Ok(done.rows_affected())
}
