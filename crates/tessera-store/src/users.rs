//! Users: whole-record reads and writes, and the filtered list behind BAPI `GET /v1/users`.

use tessera_domain::ids::UserId;

use crate::error::{StoreError, StoreResult};
use crate::records::User;
use crate::rows::{flag, json_text, UserRow};
use crate::sql::{like_escape, SqlBuf};
use crate::Conn;

const COLUMNS: &str = "id, external_id, username, first_name, last_name, password_hash, \
    password_hasher, public_metadata, private_metadata, unsafe_metadata, \
    primary_email_address_id, primary_phone_number_id, has_image, image_version, banned, \
    locked_at, locked_until, failed_attempts, totp_enabled, backup_code_enabled, \
    delete_self_enabled, create_organization_enabled, create_organizations_limit, \
    legal_accepted_at, last_sign_in_at, last_active_at, password_updated_at, created_at, updated_at, \
    password_compromised_at";

/// Loads one user.
pub async fn get(conn: &mut Conn, id: &UserId) -> StoreResult<User> {
    find(conn, id).await?.ok_or(StoreError::NotFound)
}

/// Loads one user if it exists.
pub async fn find(conn: &mut Conn, id: &UserId) -> StoreResult<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id.as_str().to_owned())
            .fetch_optional(conn)
            .await?;
    row.map(User::try_from).transpose()
}

/// Finds the user holding a username (already lowercased).
pub async fn find_by_username(conn: &mut Conn, username: &str) -> StoreResult<Option<User>> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
            .bind(username.to_owned())
            .fetch_optional(conn)
            .await?;
    row.map(User::try_from).transpose()
}

/// Finds the user holding an external id.
pub async fn find_by_external_id(conn: &mut Conn, external_id: &str) -> StoreResult<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE external_id = $1"
    ))
    .bind(external_id.to_owned())
    .fetch_optional(conn)
    .await?;
    row.map(User::try_from).transpose()
}

/// Inserts a new user.
pub async fn insert(conn: &mut Conn, user: &User) -> StoreResult<()> {
    let placeholders: Vec<String> = (1..=30).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO users ({COLUMNS}) VALUES ({})",
        placeholders.join(", ")
    );
    sqlx::query(&sql)
        .bind(user.id.as_str().to_owned())
        .bind(user.external_id.clone())
        .bind(user.username.clone())
        .bind(user.first_name.clone())
        .bind(user.last_name.clone())
        .bind(user.password_hash.clone())
        .bind(user.password_hasher.clone())
        .bind(json_text(&user.public_metadata))
        .bind(json_text(&user.private_metadata))
        .bind(json_text(&user.unsafe_metadata))
        .bind(
            user.primary_email_address_id
                .as_ref()
                .map(|i| i.as_str().to_owned()),
        )
        .bind(
            user.primary_phone_number_id
                .as_ref()
                .map(|i| i.as_str().to_owned()),
        )
        .bind(flag(user.has_image))
        .bind(user.image_version)
        .bind(flag(user.banned))
        .bind(user.locked_at)
        .bind(user.locked_until)
        .bind(user.failed_attempts)
        .bind(flag(user.totp_enabled))
        .bind(flag(user.backup_code_enabled))
        .bind(flag(user.delete_self_enabled))
        .bind(flag(user.create_organization_enabled))
        .bind(user.create_organizations_limit)
        .bind(user.legal_accepted_at)
        .bind(user.last_sign_in_at)
        .bind(user.last_active_at)
        .bind(user.password_updated_at)
        .bind(user.created_at)
        .bind(user.updated_at)
        .bind(user.password_compromised_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Saves every mutable column of a user.
pub async fn update(conn: &mut Conn, user: &User) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE users SET external_id = $1, username = $2, first_name = $3, last_name = $4, \
         password_hash = $5, password_hasher = $6, public_metadata = $7, private_metadata = $8, \
         unsafe_metadata = $9, primary_email_address_id = $10, primary_phone_number_id = $11, \
         has_image = $12, image_version = $13, banned = $14, locked_at = $15, locked_until = $16, \
         failed_attempts = $17, totp_enabled = $18, backup_code_enabled = $19, \
         delete_self_enabled = $20, create_organization_enabled = $21, \
         create_organizations_limit = $22, legal_accepted_at = $23, last_sign_in_at = $24, \
         last_active_at = $25, password_updated_at = $26, created_at = $27, updated_at = $28, \
         password_compromised_at = $29 WHERE id = $30",
    )
    .bind(user.external_id.clone())
    .bind(user.username.clone())
    .bind(user.first_name.clone())
    .bind(user.last_name.clone())
    .bind(user.password_hash.clone())
    .bind(user.password_hasher.clone())
    .bind(json_text(&user.public_metadata))
    .bind(json_text(&user.private_metadata))
    .bind(json_text(&user.unsafe_metadata))
    .bind(
        user.primary_email_address_id
            .as_ref()
            .map(|i| i.as_str().to_owned()),
    )
    .bind(
        user.primary_phone_number_id
            .as_ref()
            .map(|i| i.as_str().to_owned()),
    )
    .bind(flag(user.has_image))
    .bind(user.image_version)
    .bind(flag(user.banned))
    .bind(user.locked_at)
    .bind(user.locked_until)
    .bind(user.failed_attempts)
    .bind(flag(user.totp_enabled))
    .bind(flag(user.backup_code_enabled))
    .bind(flag(user.delete_self_enabled))
    .bind(flag(user.create_organization_enabled))
    .bind(user.create_organizations_limit)
    .bind(user.legal_accepted_at)
    .bind(user.last_sign_in_at)
    .bind(user.last_active_at)
    .bind(user.password_updated_at)
    .bind(user.created_at)
    .bind(user.updated_at)
    .bind(user.password_compromised_at)
    .bind(user.id.as_str().to_owned())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes a user; identifications, images and sessions go with it.
pub async fn delete(conn: &mut Conn, id: &UserId) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id.as_str().to_owned())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Counts one wrong password, atomically (concurrent attempts on any replica
/// each count once); a lock that has run out is cleared first, so counting
/// starts again. Locks the user when `max_attempts` (> 0) is reached, until
/// `locked_until` (`None`: until unlocked). Returns the count.
pub async fn count_failed_password(
    conn: &mut Conn,
    id: &UserId,
    now: i64,
    max_attempts: i64,
    locked_until: Option<i64>,
) -> StoreResult<i64> {
    let count: Option<i64> = sqlx::query_scalar(
        "UPDATE users SET \
           failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 \
             THEN 1 ELSE failed_attempts + 1 END, \
           locked_at = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 \
             THEN NULL ELSE locked_at END, \
           locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 \
             THEN NULL ELSE locked_until END \
         WHERE id = $1 RETURNING failed_attempts",
    )
    .bind(id.as_str().to_owned())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let count = count.ok_or(StoreError::NotFound)?;
    if max_attempts > 0 && count >= max_attempts {
        sqlx::query(
            "UPDATE users SET locked_at = $2, locked_until = $3 \
             WHERE id = $1 AND locked_at IS NULL",
        )
        .bind(id.as_str().to_owned())
        .bind(now)
        .bind(locked_until)
        .execute(conn)
        .await?;
    }
    Ok(count)
}

/// After a right password: clears the count of wrong ones, unless the user is
/// locked (a lock that has run out is cleared too). Returns `false` when the
/// user is locked, atomically with the counting of [`count_failed_password`].
pub async fn clear_failed_passwords(conn: &mut Conn, id: &UserId, now: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE users SET failed_attempts = 0, locked_at = NULL, locked_until = NULL \
         WHERE id = $1 AND (locked_at IS NULL \
           OR (locked_until IS NOT NULL AND locked_until <= $2))",
    )
    .bind(id.as_str().to_owned())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the user is not locked at `now` (a lock past its end counts as
/// none), leaving the failed-attempt count as it is.
pub async fn not_locked(conn: &mut Conn, id: &UserId, now: i64) -> StoreResult<bool> {
    let (locked_at, locked_until): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT locked_at, locked_until FROM users WHERE id = $1")
            .bind(id.as_str().to_owned())
            .fetch_optional(conn)
            .await?
            .ok_or(StoreError::NotFound)?;
    Ok(locked_at.is_none() || locked_until.is_some_and(|t| t <= now))
}

/// Columns `GET /v1/users` can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserOrderField {
    /// Creation time (the default).
    #[default]
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Primary email address.
    EmailAddress,
    /// Primary phone number.
    PhoneNumber,
    /// Username.
    Username,
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// Last activity.
    LastActiveAt,
    /// Last sign-in.
    LastSignInAt,
}

impl UserOrderField {
    /// Whether the sort column can be NULL (those sort last).
    fn nullable(self) -> bool {
        !matches!(self, Self::CreatedAt | Self::UpdatedAt)
    }

    /// The join that brings the sort column in, for primary email and phone.
    fn join(self) -> &'static str {
        match self {
            Self::EmailAddress => {
                " LEFT JOIN identifications ord ON ord.id = users.primary_email_address_id"
            }
            Self::PhoneNumber => {
                " LEFT JOIN identifications ord ON ord.id = users.primary_phone_number_id"
            }
            _ => "",
        }
    }

    fn expr(self) -> &'static str {
        match self {
            Self::CreatedAt => "users.created_at",
            Self::UpdatedAt => "users.updated_at",
            Self::EmailAddress | Self::PhoneNumber => "ord.identifier",
            Self::Username => "users.username",
            Self::FirstName => "users.first_name",
            Self::LastName => "users.last_name",
            Self::LastActiveAt => "users.last_active_at",
            Self::LastSignInAt => "users.last_sign_in_at",
        }
    }
}

/// Filters of `GET /v1/users` and `GET /v1/users/count`; empty lists mean "no filter".
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Exact (normalised) email addresses.
    pub email_addresses: Vec<String>,
    /// Exact (normalised) phone numbers.
    pub phone_numbers: Vec<String>,
    /// Exact (lowercased) usernames.
    pub usernames: Vec<String>,
    /// Exact external ids.
    pub external_ids: Vec<String>,
    /// User ids to include.
    pub user_ids: Vec<String>,
    /// User ids to exclude (given with a leading `-`).
    pub exclude_user_ids: Vec<String>,
    /// Organization ids the users must belong to (no organizations yet: matches nothing).
    pub organization_ids: Vec<String>,
    /// Case-insensitive substring over ids, names, username, emails and phones.
    pub query: Option<String>,
    /// Substring of an email address.
    pub email_address_query: Option<String>,
    /// Substring of a phone number.
    pub phone_number_query: Option<String>,
    /// Substring of the username.
    pub username_query: Option<String>,
    /// Substring of the first or last name.
    pub name_query: Option<String>,
    /// Banned state.
    pub banned: Option<bool>,
    /// Last active strictly before (ms).
    pub last_active_at_before: Option<i64>,
    /// Last active strictly after (ms).
    pub last_active_at_after: Option<i64>,
    /// Created strictly before (ms).
    pub created_at_before: Option<i64>,
    /// Created strictly after (ms).
    pub created_at_after: Option<i64>,
    /// Last signed in strictly before (ms).
    pub last_sign_in_at_before: Option<i64>,
    /// Last signed in strictly after (ms).
    pub last_sign_in_at_after: Option<i64>,
    /// Cursor: `(created_at, id)` of the last user of the previous page
    /// (only with `created_at` ordering).
    pub after: Option<(i64, String)>,
}

fn push_values(buf: &mut SqlBuf, values: &[String]) {
    buf.push("(");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            buf.push(", ");
        }
        buf.bind(v.clone());
    }
    buf.push(")");
}

fn push_in(buf: &mut SqlBuf, column: &str, values: &[String]) {
    buf.push(" AND ").push(column).push(" IN ");
    push_values(buf, values);
}

fn push_identification_like(buf: &mut SqlBuf, kind: &str, pattern: &str) {
    // Uncorrelated subqueries are evaluated once, not once per user row.
    buf.push(" AND users.id IN (SELECT i.user_id FROM identifications i WHERE i.kind = ");
    buf.bind(kind.to_owned());
    buf.push(" AND i.identifier LIKE ");
    buf.bind(pattern.to_owned());
    buf.push(" ESCAPE '\\')");
}

fn contains_pattern(raw: &str) -> String {
    format!("%{}%", like_escape(&raw.to_lowercase()))
}

fn push_filter(buf: &mut SqlBuf, f: &UserFilter) {
    buf.push(" WHERE 1 = 1");
    if !f.usernames.is_empty() {
        push_in(buf, "users.username", &f.usernames);
    }
    if !f.external_ids.is_empty() {
        push_in(buf, "users.external_id", &f.external_ids);
    }
    if !f.user_ids.is_empty() {
        push_in(buf, "users.id", &f.user_ids);
    }
    if !f.exclude_user_ids.is_empty() {
        buf.push(" AND users.id NOT IN ");
        push_values(buf, &f.exclude_user_ids);
    }
    if !f.organization_ids.is_empty() {
        // Organizations arrive later; until then no user belongs to one.
        buf.push(" AND 1 = 0");
    }
    if let Some(q) = f.query.as_deref().filter(|q| !q.trim().is_empty()) {
        let pattern = contains_pattern(q.trim());
        buf.push(" AND (LOWER(users.id) LIKE ");
        buf.bind(pattern.clone());
        buf.push(" ESCAPE '\\'");
        for column in [
            "users.external_id",
            "users.username",
            "users.first_name",
            "users.last_name",
        ] {
            buf.push(" OR LOWER(").push(column).push(") LIKE ");
            buf.bind(pattern.clone());
            buf.push(" ESCAPE '\\'");
        }
        buf.push(" OR LOWER(COALESCE(users.first_name, '') || ' ' || COALESCE(users.last_name, '')) LIKE ");
        buf.bind(pattern.clone());
        buf.push(" ESCAPE '\\'");
        buf.push(
            " OR users.id IN (SELECT i.user_id FROM identifications i WHERE i.identifier LIKE ",
        );
        buf.bind(pattern);
        buf.push(" ESCAPE '\\'))");
    }
    if let Some(q) = &f.email_address_query {
        push_identification_like(buf, "email_address", &contains_pattern(q));
    }
    if let Some(q) = &f.phone_number_query {
        push_identification_like(buf, "phone_number", &contains_pattern(q));
    }
    if let Some(q) = &f.username_query {
        buf.push(" AND users.username LIKE ");
        buf.bind(contains_pattern(q));
        buf.push(" ESCAPE '\\'");
    }
    if let Some(q) = &f.name_query {
        let pattern = contains_pattern(q);
        buf.push(" AND (LOWER(users.first_name) LIKE ");
        buf.bind(pattern.clone());
        buf.push(" ESCAPE '\\' OR LOWER(users.last_name) LIKE ");
        buf.bind(pattern.clone());
        buf.push(" ESCAPE '\\' OR LOWER(COALESCE(users.first_name, '') || ' ' || COALESCE(users.last_name, '')) LIKE ");
        buf.bind(pattern);
        buf.push(" ESCAPE '\\')");
    }
    if let Some(banned) = f.banned {
        buf.push(" AND users.banned = ");
        buf.bind(flag(banned));
    }
    let ranges = [
        ("users.last_active_at <", f.last_active_at_before),
        ("users.last_active_at >", f.last_active_at_after),
        ("users.created_at <", f.created_at_before),
        ("users.created_at >", f.created_at_after),
        ("users.last_sign_in_at <", f.last_sign_in_at_before),
        ("users.last_sign_in_at >", f.last_sign_in_at_after),
    ];
    for (cmp, value) in ranges {
        if let Some(v) = value {
            buf.push(" AND ").push(cmp).push(" ");
            buf.bind(v);
        }
    }
}

/// Turns exact email and phone filters into user ids with one indexed lookup
/// each, so the main query filters by primary key; `None` = nothing can match.
async fn resolve_identifiers(
    conn: &mut Conn,
    filter: &UserFilter,
) -> StoreResult<Option<UserFilter>> {
    let mut resolved = filter.clone();
    for (kind, values) in [
        ("email_address", &filter.email_addresses),
        ("phone_number", &filter.phone_numbers),
    ] {
        if values.is_empty() {
            continue;
        }
        let mut buf = SqlBuf::new("SELECT DISTINCT user_id FROM identifications WHERE kind = ");
        buf.bind(kind.to_owned());
        push_in(&mut buf, "identifier", values);
        let rows: Vec<(String,)> = sqlx::query_as_with(&buf.sql, buf.args)
            .fetch_all(&mut *conn)
            .await?;
        let ids: Vec<String> = rows.into_iter().map(|(id,)| id).collect();
        resolved.user_ids = if resolved.user_ids.is_empty() {
            ids
        } else {
            resolved
                .user_ids
                .into_iter()
                .filter(|id| ids.contains(id))
                .collect()
        };
        if resolved.user_ids.is_empty() {
            return Ok(None);
        }
    }
    resolved.email_addresses.clear();
    resolved.phone_numbers.clear();
    Ok(Some(resolved))
}

/// Lists users matching `filter`, sorted, one page at a time.
pub async fn list(
    conn: &mut Conn,
    filter: &UserFilter,
    order: UserOrderField,
    descending: bool,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<User>> {
    let Some(filter) = resolve_identifiers(conn, filter).await? else {
        return Ok(Vec::new());
    };
    let qualified: Vec<String> = COLUMNS
        .split(", ")
        .map(|c| format!("users.{}", c.trim()))
        .collect();
    let mut buf = SqlBuf::new(&format!(
        "SELECT {} FROM users{}",
        qualified.join(", "),
        order.join()
    ));
    push_filter(&mut buf, &filter);
    let dir = if descending { "DESC" } else { "ASC" };
    if let Some((created_at, id)) = &filter.after {
        // Row-value comparison (SQLite and PostgreSQL): strictly past the cursor.
        buf.push(if descending {
            " AND (users.created_at, users.id) < ("
        } else {
            " AND (users.created_at, users.id) > ("
        });
        buf.bind(*created_at).push(", ").bind(id.clone()).push(")");
    }
    // NULLs last in both directions (SQLite >= 3.30 and PostgreSQL both take
    // NULLS LAST); the id breaks ties stably. Non-null columns sort plainly, so
    // their (column, id) index serves the order.
    let nulls = if order.nullable() { " NULLS LAST" } else { "" };
    buf.push(&format!(
        " ORDER BY {expr} {dir}{nulls}, users.id {dir} LIMIT ",
        expr = order.expr()
    ));
    buf.bind(limit);
    buf.push(" OFFSET ");
    buf.bind(offset);
    let rows: Vec<UserRow> = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(User::try_from).collect()
}

/// Counts users matching `filter`.
pub async fn count(conn: &mut Conn, filter: &UserFilter) -> StoreResult<i64> {
    let Some(filter) = resolve_identifiers(conn, filter).await? else {
        return Ok(0);
    };
    let mut buf = SqlBuf::new("SELECT COUNT(*) FROM users");
    push_filter(&mut buf, &filter);
    let (n,): (i64,) = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Stores or replaces a user's profile image.
pub async fn put_image(
    conn: &mut Conn,
    id: &UserId,
    content_type: &str,
    bytes: Vec<u8>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM profile_images WHERE user_id = $1")
        .bind(id.as_str().to_owned())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO profile_images (user_id, content_type, bytes, updated_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(id.as_str().to_owned())
    .bind(content_type.to_owned())
    .bind(bytes)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes a user's profile image.
pub async fn delete_image(conn: &mut Conn, id: &UserId) -> StoreResult<()> {
    sqlx::query("DELETE FROM profile_images WHERE user_id = $1")
        .bind(id.as_str().to_owned())
        .execute(conn)
        .await?;
    Ok(())
}

/// Reads a user's profile image as (content type, bytes).
pub async fn get_image(conn: &mut Conn, id: &UserId) -> StoreResult<Option<(String, Vec<u8>)>> {
    Ok(
        sqlx::query_as("SELECT content_type, bytes FROM profile_images WHERE user_id = $1")
            .bind(id.as_str().to_owned())
            .fetch_optional(conn)
            .await?,
    )
}
