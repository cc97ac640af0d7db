//! Passkeys: WebAuthn credentials a user registered, and those whose
//! registration is under way.

use sqlx::FromRow;
use tessera_domain::ids::{IdentificationId, UserId};
use tessera_domain::verification::Verification;

use crate::attempts::{verification_from, verification_text};
use crate::error::{StoreError, StoreResult};
use crate::Conn;

/// A passkey, registered or being registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// `idn_…`
    pub id: IdentificationId,
    /// Its user.
    pub user_id: UserId,
    /// What the user calls it.
    pub name: String,
    /// The credential id (base64url), once registered.
    pub credential_id: Option<String>,
    /// The credential (public key, signature counter) as JSON, once registered.
    pub credential: Option<String>,
    /// The registration: its challenge while under way, then verified.
    pub verification: Option<Verification>,
    /// Sign-ins and verifications made with it (an optimistic lock).
    pub uses: i64,
    /// When it last signed something (ms).
    pub last_used_at: Option<i64>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

impl Passkey {
    /// Whether registration finished (it can sign in).
    pub fn is_registered(&self) -> bool {
        self.credential.is_some()
    }
}

#[derive(FromRow)]
struct PasskeyRow {
    id: String,
    user_id: String,
    name: String,
    credential_id: Option<String>,
    credential: Option<String>,
    verification: Option<String>,
    uses: i64,
    last_used_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<PasskeyRow> for Passkey {
    type Error = StoreError;
    fn try_from(r: PasskeyRow) -> StoreResult<Self> {
        Ok(Self {
            id: IdentificationId::from_trusted(r.id),
            user_id: UserId::from_trusted(r.user_id),
            name: r.name,
            credential_id: r.credential_id,
            credential: r.credential,
            verification: verification_from(r.verification)?,
            uses: r.uses,
            last_used_at: r.last_used_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str = "id, user_id, name, credential_id, credential, verification, uses, \
    last_used_at, created_at, updated_at";

fn rows(rows: Vec<PasskeyRow>) -> StoreResult<Vec<Passkey>> {
    rows.into_iter().map(Passkey::try_from).collect()
}

/// Stores a new passkey.
pub async fn insert(conn: &mut Conn, p: &Passkey) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO passkeys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(p.id.as_str().to_owned())
    .bind(p.user_id.as_str().to_owned())
    .bind(p.name.clone())
    .bind(p.credential_id.clone())
    .bind(p.credential.clone())
    .bind(verification_text(p.verification.as_ref())?)
    .bind(p.uses)
    .bind(p.last_used_at)
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a use: the credential's new counter and the time. `expected_uses`
/// is the use count it was read with: when another request used it
/// meanwhile, nothing is written and the answer is `NotFound`.
pub async fn record_use(conn: &mut Conn, p: &Passkey, expected_uses: i64) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE passkeys SET credential = $1, uses = $2, last_used_at = $3, updated_at = $4 \
         WHERE id = $5 AND uses = $6",
    )
    .bind(p.credential.clone())
    .bind(p.uses)
    .bind(p.last_used_at)
    .bind(p.updated_at)
    .bind(p.id.as_str().to_owned())
    .bind(expected_uses)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Records a finished registration: the credential and the verified
/// verification, provided the registration is still unfinished (`NotFound`
/// when another request finished or removed it meanwhile).
pub async fn register(conn: &mut Conn, p: &Passkey) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE passkeys SET credential_id = $1, credential = $2, verification = $3, \
         updated_at = $4 WHERE id = $5 AND credential IS NULL",
    )
    .bind(p.credential_id.clone())
    .bind(p.credential.clone())
    .bind(verification_text(p.verification.as_ref())?)
    .bind(p.updated_at)
    .bind(p.id.as_str().to_owned())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Renames one of the user's passkeys.
pub async fn rename(
    conn: &mut Conn,
    user: &UserId,
    id: &IdentificationId,
    name: &str,
    now: i64,
) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE passkeys SET name = $1, updated_at = $2 WHERE id = $3 AND user_id = $4",
    )
    .bind(name.to_owned())
    .bind(now)
    .bind(id.as_str().to_owned())
    .bind(user.as_str().to_owned())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// One of the user's passkeys.
pub async fn get(conn: &mut Conn, user: &UserId, id: &IdentificationId) -> StoreResult<Passkey> {
    let row: Option<PasskeyRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM passkeys WHERE id = $1 AND user_id = $2"
    ))
    .bind(id.as_str().to_owned())
    .bind(user.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    row.ok_or(StoreError::NotFound)?.try_into()
}

/// The registered passkey with this credential id, whoever holds it.
pub async fn find_by_credential(
    conn: &mut Conn,
    credential_id: &str,
) -> StoreResult<Option<Passkey>> {
    let row: Option<PasskeyRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
    ))
    .bind(credential_id.to_owned())
    .fetch_optional(conn)
    .await?;
    row.map(Passkey::try_from).transpose()
}

/// The user's registered passkeys, oldest first.
pub async fn list_for_user(conn: &mut Conn, user: &UserId) -> StoreResult<Vec<Passkey>> {
    let found: Vec<PasskeyRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 AND credential IS NOT NULL \
         ORDER BY created_at, id"
    ))
    .bind(user.as_str().to_owned())
    .fetch_all(conn)
    .await?;
    rows(found)
}

/// The registered passkeys of these users, oldest first.
pub async fn list_for_users(conn: &mut Conn, users: &[UserId]) -> StoreResult<Vec<Passkey>> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=users.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM passkeys WHERE user_id IN ({}) AND credential IS NOT NULL \
         ORDER BY created_at, id",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, PasskeyRow>(&sql);
    for id in users {
        query = query.bind(id.as_str().to_owned());
    }
    rows(query.fetch_all(conn).await?)
}

/// Removes one of the user's passkeys; whether it was there.
pub async fn delete(conn: &mut Conn, user: &UserId, id: &IdentificationId) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
        .bind(id.as_str().to_owned())
        .bind(user.as_str().to_owned())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes the user's registrations that never finished.
pub async fn delete_unregistered(conn: &mut Conn, user: &UserId) -> StoreResult<()> {
    sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND credential IS NULL")
        .bind(user.as_str().to_owned())
        .execute(conn)
        .await?;
    Ok(())
}
