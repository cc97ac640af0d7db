//! Second factors a user holds: their authenticator-app (TOTP) secret and
//! their backup codes (hashed).

use sqlx::FromRow;
use tessera_domain::ids::UserId;

use crate::error::{StoreError, StoreResult};
use crate::rows::flag;
use crate::Conn;

/// A user's TOTP secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totp {
    /// `totp_…`
    pub id: String,
    /// Its user.
    pub user_id: UserId,
    /// Base32, as authenticator apps take it.
    pub secret: String,
    /// A code proved it (it is a second factor only then).
    pub verified: bool,
    /// The last step a code was accepted for (each step counts once).
    pub last_used_step: Option<i64>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

#[derive(FromRow)]
struct TotpRow {
    id: String,
    user_id: String,
    secret: String,
    verified: i64,
    last_used_step: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl From<TotpRow> for Totp {
    fn from(r: TotpRow) -> Self {
        Self {
            id: r.id,
            user_id: UserId::from_trusted(r.user_id),
            secret: r.secret,
            verified: r.verified != 0,
            last_used_step: r.last_used_step,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const TOTP_COLUMNS: &str = "id, user_id, secret, verified, last_used_step, created_at, updated_at";

/// The user's TOTP secret, if any.
pub async fn find_totp(conn: &mut Conn, user: &UserId) -> StoreResult<Option<Totp>> {
    let row: Option<TotpRow> = sqlx::query_as(&format!(
        "SELECT {TOTP_COLUMNS} FROM totps WHERE user_id = $1"
    ))
    .bind(user.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Totp::from))
}

/// Stores the user's TOTP secret, replacing any they had.
pub async fn put_totp(conn: &mut Conn, t: &Totp) -> StoreResult<()> {
    delete_totp(conn, &t.user_id).await?;
    sqlx::query(&format!(
        "INSERT INTO totps ({TOTP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(t.id.clone())
    .bind(t.user_id.as_str().to_owned())
    .bind(t.secret.clone())
    .bind(flag(t.verified))
    .bind(t.last_used_step)
    .bind(t.created_at)
    .bind(t.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the secret verified and/or records the step a code was accepted
/// for. Fails with `NotFound` when the step was taken meanwhile (a code
/// replayed by a concurrent request).
pub async fn use_totp(conn: &mut Conn, t: &Totp, step: i64, now: i64) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE totps SET verified = 1, last_used_step = $1, updated_at = $2 \
         WHERE id = $3 AND (last_used_step IS NULL OR last_used_step < $1)",
    )
    .bind(step)
    .bind(now)
    .bind(t.id.clone())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Removes the user's TOTP secret; whether there was one.
pub async fn delete_totp(conn: &mut Conn, user: &UserId) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM totps WHERE user_id = $1")
        .bind(user.as_str().to_owned())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Replaces the user's backup codes with `hashes` (one set, `set_id`).
pub async fn replace_backup_codes(
    conn: &mut Conn,
    user: &UserId,
    set_id: &str,
    hashes: &[String],
    now: i64,
) -> StoreResult<()> {
    delete_backup_codes(conn, user).await?;
    for h in hashes {
        sqlx::query(
            "INSERT INTO backup_codes (user_id, code_hash, set_id, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(user.as_str().to_owned())
        .bind(h.clone())
        .bind(set_id.to_owned())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The stored hashes of the user's unused backup codes.
pub async fn backup_code_hashes(conn: &mut Conn, user: &UserId) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT code_hash FROM backup_codes WHERE user_id = $1 ORDER BY code_hash",
    )
    .bind(user.as_str().to_owned())
    .fetch_all(conn)
    .await?)
}

/// Spends one backup code; `false` when it was not (or no longer) there.
pub async fn use_backup_code(conn: &mut Conn, user: &UserId, hash: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM backup_codes WHERE user_id = $1 AND code_hash = $2")
        .bind(user.as_str().to_owned())
        .bind(hash.to_owned())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes all the user's backup codes; whether there were any.
pub async fn delete_backup_codes(conn: &mut Conn, user: &UserId) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM backup_codes WHERE user_id = $1")
        .bind(user.as_str().to_owned())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}
