//! Sessions of users on clients.

use std::sync::LazyLock;

use tessera_domain::ids::{ClientId, SessionId, UserId};
use tessera_domain::kinds::SessionStatus;
use tessera_domain::tasks::SessionTask;

use crate::error::{StoreError, StoreResult};
use crate::records::Session;
use crate::rows::SessionRow;
use crate::sql::SqlBuf;
use crate::Conn;

pub(crate) const COLUMNS: &str =
    "id, client_id, user_id, status, actor, last_active_organization_id, \
    last_active_at, expire_at, abandon_at, first_factor_at, second_factor_at, ip_address, \
    user_agent, city, country, created_at, updated_at, pending_tasks, reverification, \
    reverification_version";

/// The session columns (of `sessions s`) and the active organization's slug
/// and the user's role in it, for reads that mint tokens.
pub(crate) static JOINED_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let columns: Vec<String> = COLUMNS
        .split(',')
        .map(|c| format!("s.{}", c.trim()))
        .collect();
    format!(
        "{}, ao.slug AS active_org_slug, am.role AS active_org_role",
        columns.join(", ")
    )
});

/// Joins `sessions s` with the membership of its active organization.
pub(crate) const ACTIVE_ORGANIZATION_JOIN: &str = " LEFT JOIN organization_memberships am \
    ON am.organization_id = s.last_active_organization_id AND am.user_id = s.user_id \
    LEFT JOIN organizations ao ON ao.id = am.organization_id";

/// Loads one session (with its active organization).
pub async fn get(conn: &mut Conn, id: &SessionId) -> StoreResult<Session> {
    let row: Option<SessionRow> = sqlx::query_as(&format!(
        "SELECT {} FROM sessions s{ACTIVE_ORGANIZATION_JOIN} WHERE s.id = $1",
        *JOINED_COLUMNS
    ))
    .bind(id.as_str().to_owned())
    .fetch_optional(conn)
    .await?;
    row.map(Session::try_from)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

fn reverification_json(s: &Session) -> StoreResult<Option<String>> {
    s.reverification
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("reverification: {e}")))
}

/// Inserts a session.
pub async fn insert(conn: &mut Conn, s: &Session) -> StoreResult<()> {
    let placeholders: Vec<String> = (1..=20).map(|i| format!("${i}")).collect();
    sqlx::query(&format!(
        "INSERT INTO sessions ({COLUMNS}) VALUES ({})",
        placeholders.join(", ")
    ))
    .bind(s.id.as_str().to_owned())
    .bind(s.client_id.as_str().to_owned())
    .bind(s.user_id.as_str().to_owned())
    .bind(s.status.as_str())
    .bind(s.actor.as_ref().map(ToString::to_string))
    .bind(s.last_active_organization_id.clone())
    .bind(s.last_active_at)
    .bind(s.expire_at)
    .bind(s.abandon_at)
    .bind(s.first_factor_at)
    .bind(s.second_factor_at)
    .bind(s.ip_address.clone())
    .bind(s.user_agent.clone())
    .bind(s.city.clone())
    .bind(s.country.clone())
    .bind(s.created_at)
    .bind(s.updated_at)
    .bind(SessionTask::join(&s.pending_tasks))
    .bind(reverification_json(s)?)
    .bind(s.reverification_version)
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves the mutable fields of a session but its tasks and its
/// reverification (with the factor times it stamps): those change only
/// through [`finish_task`] and [`save_reverification`], so that a
/// concurrent touch of the session cannot bring back what they changed.
pub async fn update(conn: &mut Conn, s: &Session) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE sessions SET status = $1, actor = $2, last_active_organization_id = $3, \
         last_active_at = $4, expire_at = $5, abandon_at = $6, ip_address = $7, \
         user_agent = $8, city = $9, country = $10, updated_at = $11 WHERE id = $12",
    )
    .bind(s.status.as_str())
    .bind(s.actor.as_ref().map(ToString::to_string))
    .bind(s.last_active_organization_id.clone())
    .bind(s.last_active_at)
    .bind(s.expire_at)
    .bind(s.abandon_at)
    .bind(s.ip_address.clone())
    .bind(s.user_agent.clone())
    .bind(s.city.clone())
    .bind(s.country.clone())
    .bind(s.updated_at)
    .bind(s.id.as_str().to_owned())
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Saves the session's reverification and factor times over the version
/// they were read at (`reverification_version`, counted up here): `Stale`
/// when another request saved them meanwhile, and nothing is written.
pub async fn save_reverification(conn: &mut Conn, s: &mut Session) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE sessions SET reverification = $1, first_factor_at = $2, second_factor_at = $3, \
         updated_at = $4, reverification_version = $5 \
         WHERE id = $6 AND reverification_version = $7",
    )
    .bind(reverification_json(s)?)
    .bind(s.first_factor_at)
    .bind(s.second_factor_at)
    .bind(s.updated_at)
    .bind(s.reverification_version + 1)
    .bind(s.id.as_str().to_owned())
    .bind(s.reverification_version)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Stale);
    }
    s.reverification_version += 1;
    Ok(())
}

/// Filters of BAPI `GET /v1/sessions`.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Sessions of this user.
    pub user_id: Option<UserId>,
    /// Sessions on this client.
    pub client_id: Option<ClientId>,
    /// Sessions in this state.
    pub status: Option<SessionStatus>,
}

fn push_filter(buf: &mut SqlBuf, f: &SessionFilter) {
    buf.push(" WHERE 1 = 1");
    if let Some(user_id) = &f.user_id {
        buf.push(" AND user_id = ")
            .bind(user_id.as_str().to_owned());
    }
    if let Some(client_id) = &f.client_id {
        buf.push(" AND client_id = ")
            .bind(client_id.as_str().to_owned());
    }
    if let Some(status) = f.status {
        buf.push(" AND status = ").bind(status.as_str());
    }
}

/// Lists sessions, newest first.
pub async fn list(
    conn: &mut Conn,
    filter: &SessionFilter,
    limit: i64,
    offset: i64,
) -> StoreResult<Vec<Session>> {
    let mut buf = SqlBuf::new(&format!("SELECT {COLUMNS} FROM sessions"));
    push_filter(&mut buf, filter);
    buf.push(" ORDER BY created_at DESC, id DESC LIMIT ")
        .bind(limit);
    buf.push(" OFFSET ").bind(offset);
    let rows: Vec<SessionRow> = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(Session::try_from).collect()
}

/// Counts sessions matching `filter`.
pub async fn count(conn: &mut Conn, filter: &SessionFilter) -> StoreResult<i64> {
    let mut buf = SqlBuf::new("SELECT COUNT(*) FROM sessions");
    push_filter(&mut buf, filter);
    let (n,): (i64,) = sqlx::query_as_with(&buf.sql, buf.args)
        .fetch_one(conn)
        .await?;
    Ok(n)
}

/// Sessions on one client (with their active organizations), oldest first.
pub async fn list_for_client(conn: &mut Conn, client_id: &ClientId) -> StoreResult<Vec<Session>> {
    let rows: Vec<SessionRow> = sqlx::query_as(&format!(
        "SELECT {} FROM sessions s{ACTIVE_ORGANIZATION_JOIN} WHERE s.client_id = $1 \
         ORDER BY s.created_at, s.id",
        *JOINED_COLUMNS
    ))
    .bind(client_id.as_str().to_owned())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Session::try_from).collect()
}

/// Marks every signed-in session of a user with `status` (used when banning or deleting).
pub async fn end_all_for_user(
    conn: &mut Conn,
    user_id: &UserId,
    status: SessionStatus,
    now: i64,
) -> StoreResult<Vec<Session>> {
    let rows: Vec<SessionRow> = sqlx::query_as(&format!(
        "UPDATE sessions SET status = $1, updated_at = $2 \
         WHERE user_id = $3 AND status IN ('active', 'pending') RETURNING {COLUMNS}"
    ))
    .bind(status.as_str())
    .bind(now)
    .bind(user_id.as_str().to_owned())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Session::try_from).collect()
}

/// Drops `task` from every session of `user` that keeps it (the user did it).
pub async fn finish_task(
    conn: &mut Conn,
    user: &UserId,
    task: SessionTask,
    now: i64,
) -> StoreResult<()> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, pending_tasks FROM sessions WHERE user_id = $1 AND pending_tasks <> ''",
    )
    .bind(user.as_str().to_owned())
    .fetch_all(&mut *conn)
    .await?;
    for (id, mut stored) in rows {
        // Each write is conditional on the list it read: when another
        // request changed it meanwhile, read it again and retry.
        let mut tries = 0;
        loop {
            tries += 1;
            if tries > 5 {
                return Err(StoreError::Stale);
            }
            let kept = SessionTask::split(&stored);
            if !kept.contains(&task) {
                break;
            }
            let left: Vec<SessionTask> = kept.into_iter().filter(|t| *t != task).collect();
            let done = sqlx::query(
                "UPDATE sessions SET pending_tasks = $1, updated_at = $2 \
                 WHERE id = $3 AND pending_tasks = $4",
            )
            .bind(SessionTask::join(&left))
            .bind(now)
            .bind(id.clone())
            .bind(stored.clone())
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() > 0 {
                break;
            }
            let now_stored: Option<String> =
                sqlx::query_scalar("SELECT pending_tasks FROM sessions WHERE id = $1")
                    .bind(id.clone())
                    .fetch_optional(&mut *conn)
                    .await?;
            match now_stored {
                Some(again) => stored = again,
                None => break,
            }
        }
    }
    Ok(())
}
