//! Email addresses and phone numbers ("identifications").

use tessera_domain::ids::{IdentificationId, UserId};
use tessera_domain::kinds::IdentificationKind;

use crate::error::{StoreError, StoreResult};
use crate::records::Identification;
use crate::rows::{flag, IdentificationRow};
use crate::Conn;

const COLUMNS: &str = "id, user_id, kind, identifier, verification_status, verification_strategy, \
    verified_at, reserved, reserved_for_second_factor, default_second_factor, verification, \
    created_at, updated_at";

/// Loads one identification.
pub async fn get(conn: &mut Conn, id: &IdentificationId) -> StoreResult<Identification> {
    let row: Option<IdentificationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM identifications WHERE id = $1"
    ))
    .bind(id.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    row.map(Identification::try_from)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

/// Finds the identification holding a normalised value.
pub async fn find(
    conn: &mut Conn,
    kind: IdentificationKind,
    identifier: &str,
) -> StoreResult<Option<Identification>> {
    let row: Option<IdentificationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM identifications WHERE kind = $1 AND identifier = $2"
    ))
    .bind(kind.as_str())
    .bind(identifier.to_owned())
    .fetch_optional(conn)
    .await?;
    row.map(Identification::try_from).transpose()
}

/// All identifications of a user, oldest first.
pub async fn list_for_user(conn: &mut Conn, user_id: &UserId) -> StoreResult<Vec<Identification>> {
    let rows: Vec<IdentificationRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM identifications WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id.as_str().to_owned())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Identification::try_from).collect()
}

/// All identifications of several users (for rendering a page of users in one query).
pub async fn list_for_users(
    conn: &mut Conn,
    user_ids: &[UserId],
) -> StoreResult<Vec<Identification>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=user_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM identifications WHERE user_id IN ({}) ORDER BY created_at, id",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, IdentificationRow>(&sql);
    for id in user_ids {
        query = query.bind(id.as_str().to_owned());
    }
    let rows = query.fetch_all(conn).await?;
    rows.into_iter().map(Identification::try_from).collect()
}

/// Inserts an identification.
pub async fn insert(conn: &mut Conn, idn: &Identification) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO identifications ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(idn.id.as_str().to_owned())
    .bind(idn.user_id.as_str().to_owned())
    .bind(idn.kind.as_str())
    .bind(idn.identifier.clone())
    .bind(idn.verification_status.as_str())
    .bind(idn.verification_strategy.map(|s| s.as_str()))
    .bind(idn.verified_at)
    .bind(flag(idn.reserved))
    .bind(flag(idn.reserved_for_second_factor))
    .bind(flag(idn.default_second_factor))
    .bind(crate::attempts::verification_text(idn.verification.as_ref())?)
    .bind(idn.created_at)
    .bind(idn.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves the mutable fields of an identification.
pub async fn update(conn: &mut Conn, idn: &Identification) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE identifications SET verification_status = $1, verification_strategy = $2, \
         verified_at = $3, reserved = $4, reserved_for_second_factor = $5, \
         default_second_factor = $6, verification = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(idn.verification_status.as_str())
    .bind(idn.verification_strategy.map(|s| s.as_str()))
    .bind(idn.verified_at)
    .bind(flag(idn.reserved))
    .bind(flag(idn.reserved_for_second_factor))
    .bind(flag(idn.default_second_factor))
    .bind(crate::attempts::verification_text(
        idn.verification.as_ref(),
    )?)
    .bind(idn.updated_at)
    .bind(idn.id.as_str().to_owned())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes an identification.
pub async fn delete(conn: &mut Conn, id: &IdentificationId) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM identifications WHERE id = $1")
        .bind(id.as_str().to_owned())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A verification the Backend API started for an identification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendVerification {
    /// `ver_…`
    pub id: String,
    /// The email address or phone number it verifies.
    pub identification_id: IdentificationId,
    /// Its state.
    pub state: tessera_domain::verification::Verification,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

fn verification_json(v: &tessera_domain::verification::Verification) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("verification: {e}")))
}

/// Stores a new Backend API verification.
pub async fn insert_verification(conn: &mut Conn, v: &BackendVerification) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO identification_verifications \
         (id, identification_id, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(v.id.clone())
    .bind(v.identification_id.as_str().to_owned())
    .bind(verification_json(&v.state)?)
    .bind(v.created_at)
    .bind(v.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A Backend API verification of `identification`.
pub async fn get_verification(
    conn: &mut Conn,
    identification: &IdentificationId,
    id: &str,
) -> StoreResult<BackendVerification> {
    let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, identification_id, state, created_at, updated_at \
         FROM identification_verifications WHERE id = $1 AND identification_id = $2",
    )
    .bind(id.to_owned())
    .bind(identification.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    let (id, identification_id, state, created_at, updated_at) = row.ok_or(StoreError::NotFound)?;
    Ok(BackendVerification {
        id,
        identification_id: IdentificationId::from_trusted(identification_id),
        state: serde_json::from_str(&state)
            .map_err(|e| StoreError::Corrupt(format!("verification: {e}")))?,
        created_at,
        updated_at,
    })
}

/// Saves a Backend API verification's new state.
pub async fn update_verification(conn: &mut Conn, v: &BackendVerification) -> StoreResult<()> {
    sqlx::query(
        "UPDATE identification_verifications SET state = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(verification_json(&v.state)?)
    .bind(v.updated_at)
    .bind(v.id.clone())
    .execute(conn)
    .await?;
    Ok(())
}
