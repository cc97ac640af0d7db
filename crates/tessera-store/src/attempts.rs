//! Sign-up and sign-in attempts of the Frontend API.

use serde_json::{Map, Value};
use sqlx::FromRow;
use tessera_domain::ids::{ClientId, SessionId, SignInId, SignUpId, UserId};
use tessera_domain::kinds::{SignInStatus, SignUpStatus};
use tessera_domain::verification::Verification;

use crate::error::{StoreError, StoreResult};
use crate::rows::{json_map, json_text};
use crate::Conn;

/// A sign-up attempt.
#[derive(Debug, Clone)]
pub struct SignUp {
    /// `sua_…`
    pub id: SignUpId,
    /// The client it belongs to.
    pub client_id: ClientId,
    /// `missing_requirements`, `complete` or `abandoned`.
    pub status: SignUpStatus,
    /// Normalised email address.
    pub email_address: Option<String>,
    /// Normalised phone number.
    pub phone_number: Option<String>,
    /// Lowercased username.
    pub username: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// argon2id hash of the chosen password.
    pub password_hash: Option<String>,
    /// Metadata the frontend sets.
    pub unsafe_metadata: Map<String, Value>,
    /// When legal terms were accepted (ms).
    pub legal_accepted_at: Option<i64>,
    /// The email address's verification, once prepared.
    pub email_verification: Option<Verification>,
    /// The phone number's verification, once prepared.
    pub phone_verification: Option<Verification>,
    /// The user created on completion.
    pub created_user_id: Option<UserId>,
    /// The session created on completion.
    pub created_session_id: Option<SessionId>,
    /// When the attempt is abandoned (ms).
    pub abandon_at: i64,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Saves so far (0: never saved); a save from an older read is refused.
    pub version: i64,
}

/// A sign-in attempt.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// `sia_…`
    pub id: SignInId,
    /// The client it belongs to.
    pub client_id: ClientId,
    /// `needs_identifier`, `needs_first_factor`, `needs_second_factor`, `needs_new_password`, `complete`.
    pub status: SignInStatus,
    /// The identifier as given.
    pub identifier: Option<String>,
    /// The user it identified.
    pub user_id: Option<UserId>,
    /// The first factor's verification, once prepared or attempted.
    pub first_factor: Option<Verification>,
    /// The second factor's verification, once prepared.
    pub second_factor: Option<Verification>,
    /// The session created on completion.
    pub created_session_id: Option<SessionId>,
    /// When the attempt is abandoned (ms).
    pub abandon_at: i64,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
    /// Saves so far (0: never saved); a save from an older read is refused.
    pub version: i64,
}

/// A stored verification document; one this version cannot read is corrupt.
pub(crate) fn verification_from(raw: Option<String>) -> StoreResult<Option<Verification>> {
    raw.map(|r| {
        serde_json::from_str(&r).map_err(|e| StoreError::Corrupt(format!("verification: {e}")))
    })
    .transpose()
}

/// The stored form of a verification.
pub(crate) fn verification_text(v: Option<&Verification>) -> StoreResult<Option<String>> {
    v.map(|v| {
        serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("verification: {e}")))
    })
    .transpose()
}

#[derive(FromRow)]
struct SignUpRow {
    id: String,
    client_id: String,
    status: String,
    email_address: Option<String>,
    phone_number: Option<String>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    password_hash: Option<String>,
    unsafe_metadata: String,
    legal_accepted_at: Option<i64>,
    email_verification: Option<String>,
    phone_verification: Option<String>,
    created_user_id: Option<String>,
    created_session_id: Option<String>,
    abandon_at: i64,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl TryFrom<SignUpRow> for SignUp {
    type Error = StoreError;
    fn try_from(r: SignUpRow) -> StoreResult<Self> {
        Ok(Self {
            id: SignUpId::from_trusted(r.id),
            client_id: ClientId::from_trusted(r.client_id),
            status: SignUpStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("sign-up status {:?}", r.status)))?,
            email_address: r.email_address,
            phone_number: r.phone_number,
            username: r.username,
            first_name: r.first_name,
            last_name: r.last_name,
            password_hash: r.password_hash,
            unsafe_metadata: json_map(&r.unsafe_metadata)?,
            legal_accepted_at: r.legal_accepted_at,
            email_verification: verification_from(r.email_verification)?,
            phone_verification: verification_from(r.phone_verification)?,
            created_user_id: r.created_user_id.map(UserId::from_trusted),
            created_session_id: r.created_session_id.map(SessionId::from_trusted),
            abandon_at: r.abandon_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        })
    }
}

const SIGN_UP_COLUMNS: &str = "id, client_id, status, email_address, phone_number, username, \
    first_name, last_name, password_hash, unsafe_metadata, legal_accepted_at, email_verification, \
    phone_verification, created_user_id, created_session_id, abandon_at, created_at, updated_at, \
    version";

/// Loads a sign-up.
pub async fn get_sign_up(conn: &mut Conn, id: &SignUpId) -> StoreResult<SignUp> {
    let row: Option<SignUpRow> = sqlx::query_as(&format!(
        "SELECT {SIGN_UP_COLUMNS} FROM sign_ups WHERE id = $1"
    ))
    .bind(id.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    row.map(SignUp::try_from)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

/// Replaces the stored row of `id` in `table` read at `version` (nothing
/// for a record never saved); `Stale` when another save came in between.
async fn replace_version(conn: &mut Conn, table: &str, id: &str, version: i64) -> StoreResult<()> {
    if version == 0 {
        return Ok(());
    }
    let done = sqlx::query(&format!(
        "DELETE FROM {table} WHERE id = $1 AND version = $2"
    ))
    .bind(id.to_owned())
    .bind(version)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// Inserts a sign-up, or replaces the row it was read from: refused as
/// `Stale` when another request saved it meanwhile. Counts the save.
pub async fn save_sign_up(conn: &mut Conn, s: &mut SignUp) -> StoreResult<()> {
    replace_version(conn, "sign_ups", s.id.as_str(), s.version).await?;
    let placeholders: Vec<String> = (1..=19).map(|i| format!("${i}")).collect();
    sqlx::query(&format!(
        "INSERT INTO sign_ups ({SIGN_UP_COLUMNS}) VALUES ({})",
        placeholders.join(", ")
    ))
    .bind(s.id.as_str().to_owned())
    .bind(s.client_id.as_str().to_owned())
    .bind(s.status.as_str())
    .bind(s.email_address.clone())
    .bind(s.phone_number.clone())
    .bind(s.username.clone())
    .bind(s.first_name.clone())
    .bind(s.last_name.clone())
    .bind(s.password_hash.clone())
    .bind(json_text(&s.unsafe_metadata))
    .bind(s.legal_accepted_at)
    .bind(verification_text(s.email_verification.as_ref())?)
    .bind(verification_text(s.phone_verification.as_ref())?)
    .bind(s.created_user_id.as_ref().map(|i| i.as_str().to_owned()))
    .bind(s.created_session_id.as_ref().map(|i| i.as_str().to_owned()))
    .bind(s.abandon_at)
    .bind(s.created_at)
    .bind(s.updated_at)
    .bind(s.version + 1)
    .execute(conn)
    .await?;
    s.version += 1;
    Ok(())
}

#[derive(FromRow)]
struct SignInRow {
    id: String,
    client_id: String,
    status: String,
    identifier: Option<String>,
    user_id: Option<String>,
    first_factor: Option<String>,
    second_factor: Option<String>,
    created_session_id: Option<String>,
    abandon_at: i64,
    created_at: i64,
    updated_at: i64,
    version: i64,
}

impl TryFrom<SignInRow> for SignIn {
    type Error = StoreError;
    fn try_from(r: SignInRow) -> StoreResult<Self> {
        Ok(Self {
            id: SignInId::from_trusted(r.id),
            client_id: ClientId::from_trusted(r.client_id),
            status: SignInStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("sign-in status {:?}", r.status)))?,
            identifier: r.identifier,
            user_id: r.user_id.map(UserId::from_trusted),
            first_factor: verification_from(r.first_factor)?,
            second_factor: verification_from(r.second_factor)?,
            created_session_id: r.created_session_id.map(SessionId::from_trusted),
            abandon_at: r.abandon_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        })
    }
}

const SIGN_IN_COLUMNS: &str =
    "id, client_id, status, identifier, user_id, first_factor, second_factor, \
     created_session_id, abandon_at, created_at, updated_at, version";

/// Loads a sign-in.
pub async fn get_sign_in(conn: &mut Conn, id: &SignInId) -> StoreResult<SignIn> {
    let row: Option<SignInRow> = sqlx::query_as(&format!(
        "SELECT {SIGN_IN_COLUMNS} FROM sign_ins WHERE id = $1"
    ))
    .bind(id.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    row.map(SignIn::try_from)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

/// Inserts a sign-in, or replaces the row it was read from: refused as
/// `Stale` when another request saved it meanwhile. Counts the save.
pub async fn save_sign_in(conn: &mut Conn, s: &mut SignIn) -> StoreResult<()> {
    replace_version(conn, "sign_ins", s.id.as_str(), s.version).await?;
    sqlx::query(&format!(
        "INSERT INTO sign_ins ({SIGN_IN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(s.id.as_str().to_owned())
    .bind(s.client_id.as_str().to_owned())
    .bind(s.status.as_str())
    .bind(s.identifier.clone())
    .bind(s.user_id.as_ref().map(|i| i.as_str().to_owned()))
    .bind(verification_text(s.first_factor.as_ref())?)
    .bind(verification_text(s.second_factor.as_ref())?)
    .bind(s.created_session_id.as_ref().map(|i| i.as_str().to_owned()))
    .bind(s.abandon_at)
    .bind(s.created_at)
    .bind(s.updated_at)
    .bind(s.version + 1)
    .execute(conn)
    .await?;
    s.version += 1;
    Ok(())
}
