//! Webhook endpoints, their secrets, the outbox of messages, deliveries,
//! attempts, and queued email/SMS jobs.
//!
//! Claiming work is one statement: due rows are leased (`locked_until`) and
//! returned. On PostgreSQL the candidate rows are picked `FOR UPDATE SKIP
//! LOCKED`, so replicas sharing a database never lease the same row; SQLite
//! has one writer, so the statement alone is enough.

use serde_json::Value;
use sqlx::FromRow;
use tessera_domain::kinds::{AttemptTrigger, DeliveryStatus, JobKind};

use crate::error::{StoreError, StoreResult};
use crate::{Backend, Conn};

/// The row-locking clause of a claim's inner SELECT: on PostgreSQL, rows
/// another server is claiming are skipped rather than waited for.
fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// Leases up to `limit` pending rows of `table` (deliveries or jobs) due at
/// `now` until `lease_until`, reading `columns` of each as a raw row `R`
/// and returning its record.
async fn lease_due<R, T>(
    conn: &mut Conn,
    backend: Backend,
    table: &str,
    columns: &str,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> StoreResult<Vec<T>>
where
    R: for<'r> FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    T: TryFrom<R, Error = StoreError>,
{
    let rows: Vec<R> = sqlx::query_as(&format!(
        "UPDATE {table} SET locked_until = $2, updated_at = $1 WHERE id IN \
         (SELECT id FROM {table} WHERE status = 'pending' AND next_attempt_at <= $1 \
          AND locked_until <= $1 ORDER BY next_attempt_at LIMIT $3{}) \
         RETURNING {columns}",
        skip_locked(backend)
    ))
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    // A row this version cannot read stays leased (and is retried when the
    // lease runs out) instead of stopping every other delivery.
    Ok(rows
        .into_iter()
        .filter_map(|row| match T::try_from(row) {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::error!("skipping an unreadable row of {table}: {e}");
                None
            }
        })
        .collect())
}

/// A webhook endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `ep_…`
    pub id: String,
    /// Where messages are POSTed.
    pub url: String,
    /// Free text.
    pub description: String,
    /// JSON array of event types, or `None` for every type.
    pub filter_types: Option<String>,
    /// Disabled (by hand or after failing too long): nothing is sent to it.
    pub disabled: bool,
    /// Why it was disabled.
    pub disabled_reason: Option<String>,
    /// Start of the current run of failures (ms), if failing.
    pub failing_since: Option<i64>,
    /// Last enabled (ms): created, or enabled again after being disabled.
    /// Messages written before this are not fanned out to it.
    pub enabled_at: i64,
    /// Created (ms).
    pub created_at: i64,
    /// Updated (ms).
    pub updated_at: i64,
}

#[derive(FromRow)]
struct EndpointRow {
    id: String,
    url: String,
    description: String,
    filter_types: Option<String>,
    disabled: i64,
    disabled_reason: Option<String>,
    failing_since: Option<i64>,
    enabled_at: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<EndpointRow> for Endpoint {
    fn from(r: EndpointRow) -> Self {
        Self {
            id: r.id,
            url: r.url,
            description: r.description,
            filter_types: r.filter_types,
            disabled: r.disabled != 0,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            enabled_at: r.enabled_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl Endpoint {
    /// The event types it subscribes to (`None` = all).
    pub fn filter(&self) -> Option<Vec<String>> {
        self.filter_types
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw).ok())
    }

    /// Whether a message of `event_type` is for this endpoint.
    pub fn wants(&self, event_type: &str) -> bool {
        self.filter()
            .is_none_or(|types| types.iter().any(|t| t == event_type))
    }
}

const ENDPOINT_COLUMNS: &str = "id, url, description, filter_types, disabled, disabled_reason, \
     failing_since, enabled_at, created_at, updated_at";

/// Inserts an endpoint.
pub async fn insert_endpoint(conn: &mut Conn, e: &Endpoint) -> StoreResult<()> {
    sqlx::query(&format!(
        "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(e.id.clone())
    .bind(e.url.clone())
    .bind(e.description.clone())
    .bind(e.filter_types.clone())
    .bind(crate::rows::flag(e.disabled))
    .bind(e.disabled_reason.clone())
    .bind(e.failing_since)
    .bind(e.enabled_at)
    .bind(e.created_at)
    .bind(e.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes every field of an endpoint back.
pub async fn update_endpoint(conn: &mut Conn, e: &Endpoint) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE webhook_endpoints SET url = $2, description = $3, filter_types = $4, \
         disabled = $5, disabled_reason = $6, failing_since = $7, enabled_at = $8, updated_at = $9 \
         WHERE id = $1",
    )
    .bind(e.id.clone())
    .bind(e.url.clone())
    .bind(e.description.clone())
    .bind(e.filter_types.clone())
    .bind(crate::rows::flag(e.disabled))
    .bind(e.disabled_reason.clone())
    .bind(e.failing_since)
    .bind(e.enabled_at)
    .bind(e.updated_at)
    .execute(conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// One endpoint.
pub async fn get_endpoint(conn: &mut Conn, id: &str) -> StoreResult<Endpoint> {
    sqlx::query_as::<_, EndpointRow>(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1"
    ))
    .bind(id.to_owned())
    .fetch_optional(conn)
    .await?
    .map(Endpoint::from)
    .ok_or(StoreError::NotFound)
}

/// Every endpoint, oldest first.
pub async fn list_endpoints(conn: &mut Conn) -> StoreResult<Vec<Endpoint>> {
    let rows: Vec<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"
    ))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Endpoint::from).collect())
}

/// Deletes an endpoint with its secrets, deliveries and attempts.
pub async fn delete_endpoint(conn: &mut Conn, id: &str) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
        .bind(id.to_owned())
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A signing secret.
#[derive(Debug, Clone)]
pub struct Secret {
    /// `whsk_…`
    pub id: String,
    /// Its endpoint.
    pub endpoint_id: String,
    /// `whsec_<base64>`.
    pub secret: String,
    /// Created (ms).
    pub created_at: i64,
    /// When it stops signing (ms); `None` for the current secret.
    pub expires_at: Option<i64>,
}

#[derive(FromRow)]
struct SecretRow {
    id: String,
    endpoint_id: String,
    secret: String,
    created_at: i64,
    expires_at: Option<i64>,
}

impl From<SecretRow> for Secret {
    fn from(r: SecretRow) -> Self {
        Self {
            id: r.id,
            endpoint_id: r.endpoint_id,
            secret: r.secret,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

/// Inserts a secret.
pub async fn insert_secret(conn: &mut Conn, s: &Secret) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_secrets (id, endpoint_id, secret, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(s.id.clone())
    .bind(s.endpoint_id.clone())
    .bind(s.secret.clone())
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The secrets that still sign at `now`, the current one first.
pub async fn signing_secrets(
    conn: &mut Conn,
    endpoint_id: &str,
    now: i64,
) -> StoreResult<Vec<Secret>> {
    let rows: Vec<SecretRow> = sqlx::query_as(
        "SELECT id, endpoint_id, secret, created_at, expires_at FROM webhook_secrets \
         WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $2) \
         ORDER BY created_at DESC, id DESC",
    )
    .bind(endpoint_id.to_owned())
    .bind(now)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Secret::from).collect())
}

/// Gives the current secret an expiry (rotation) and drops expired ones.
pub async fn retire_secrets(
    conn: &mut Conn,
    endpoint_id: &str,
    expires_at: i64,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM webhook_secrets WHERE endpoint_id = $1 AND expires_at IS NOT NULL AND expires_at <= $2",
    )
    .bind(endpoint_id.to_owned())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE webhook_secrets SET expires_at = $2 WHERE endpoint_id = $1 AND expires_at IS NULL",
    )
    .bind(endpoint_id.to_owned())
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A message: one event, as sent.
#[derive(Debug, Clone)]
pub struct Message {
    /// `msg_…`, the `svix-id`.
    pub id: String,
    /// e.g. `user.created`.
    pub event_type: String,
    /// The JSON body, as text: these exact bytes are the request body and
    /// what the `svix-signature` signs, so they are kept verbatim rather than
    /// parsed (serializing parsed JSON again need not give the same bytes).
    pub payload: String,
    /// Created (ms).
    pub created_at: i64,
}

#[derive(FromRow)]
struct MessageRow {
    id: String,
    event_type: String,
    payload: String,
    created_at: i64,
}

impl From<MessageRow> for Message {
    fn from(r: MessageRow) -> Self {
        Self {
            id: r.id,
            event_type: r.event_type,
            payload: r.payload,
            created_at: r.created_at,
        }
    }
}

/// Appends a message to the outbox (call inside the change's transaction).
pub async fn insert_message(conn: &mut Conn, m: &Message) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_messages (id, event_type, payload, created_at, fanned_out) \
         VALUES ($1, $2, $3, $4, 0)",
    )
    .bind(m.id.clone())
    .bind(m.event_type.clone())
    .bind(m.payload.clone())
    .bind(m.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// One message.
pub async fn get_message(conn: &mut Conn, id: &str) -> StoreResult<Message> {
    sqlx::query_as::<_, MessageRow>(
        "SELECT id, event_type, payload, created_at FROM webhook_messages WHERE id = $1",
    )
    .bind(id.to_owned())
    .fetch_optional(conn)
    .await?
    .map(Message::from)
    .ok_or(StoreError::NotFound)
}

/// Messages, newest first, optionally of one type, before a message id.
pub async fn list_messages(
    conn: &mut Conn,
    event_type: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<Message>> {
    let rows: Vec<MessageRow> = sqlx::query_as(
        "SELECT id, event_type, payload, created_at FROM webhook_messages \
         WHERE ($1 IS NULL OR event_type = $1) ORDER BY seq DESC LIMIT $2",
    )
    .bind(event_type.map(str::to_owned))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Message::from).collect())
}

/// Takes up to `limit` messages not yet fanned out (oldest first) and marks
/// them fanned out; the caller inserts their deliveries in the same
/// transaction. Each comes as (id, event type, created at).
pub async fn take_unfanned(
    conn: &mut Conn,
    backend: Backend,
    limit: i64,
) -> StoreResult<Vec<(String, String, i64)>> {
    let rows = sqlx::query_as(&format!(
        "UPDATE webhook_messages SET fanned_out = 1 WHERE seq IN \
         (SELECT seq FROM webhook_messages WHERE fanned_out = 0 ORDER BY seq LIMIT $1{}) \
         RETURNING id, event_type, created_at",
        skip_locked(backend)
    ))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows)
}

/// Removes messages (with their deliveries and attempts) created before `cutoff`.
pub async fn purge_messages(conn: &mut Conn, cutoff: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM webhook_messages WHERE created_at < $1 AND fanned_out = 1")
        .bind(cutoff)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// A message due to an endpoint.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `dlv_…`
    pub id: String,
    /// The message.
    pub message_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i64,
    /// When the next attempt is due (ms).
    pub next_attempt_at: i64,
}

#[derive(FromRow)]
struct DeliveryRow {
    id: String,
    message_id: String,
    endpoint_id: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> StoreResult<Self> {
        Ok(Self {
            id: r.id,
            message_id: r.message_id,
            endpoint_id: r.endpoint_id,
            status: DeliveryStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("delivery status {:?}", r.status)))?,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
        })
    }
}

const DELIVERY_COLUMNS: &str = "id, message_id, endpoint_id, status, attempts, next_attempt_at";

/// Queues a delivery unless that message is already queued for that endpoint.
pub async fn insert_delivery(conn: &mut Conn, d: &Delivery, now: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, message_id, endpoint_id, status, attempts, \
         next_attempt_at, locked_until, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) ON CONFLICT (message_id, endpoint_id) DO NOTHING",
    )
    .bind(d.id.clone())
    .bind(d.message_id.clone())
    .bind(d.endpoint_id.clone())
    .bind(d.status.as_str())
    .bind(d.attempts)
    .bind(d.next_attempt_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Leases up to `limit` pending deliveries due at `now` until `lease_until`.
pub async fn claim_deliveries(
    conn: &mut Conn,
    backend: Backend,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> StoreResult<Vec<Delivery>> {
    lease_due::<DeliveryRow, _>(
        conn,
        backend,
        "webhook_deliveries",
        DELIVERY_COLUMNS,
        now,
        lease_until,
        limit,
    )
    .await
}

/// Records the outcome of an attempt on a delivery and releases its lease.
pub async fn finish_delivery(
    conn: &mut Conn,
    id: &str,
    status: DeliveryStatus,
    attempts: i64,
    next_attempt_at: i64,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4, \
         locked_until = 0, updated_at = $5 WHERE id = $1",
    )
    .bind(id.to_owned())
    .bind(status.as_str())
    .bind(attempts)
    .bind(next_attempt_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The delivery of a message to an endpoint.
pub async fn find_delivery(
    conn: &mut Conn,
    message_id: &str,
    endpoint_id: &str,
) -> StoreResult<Option<Delivery>> {
    sqlx::query_as::<_, DeliveryRow>(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE message_id = $1 AND endpoint_id = $2"
    ))
    .bind(message_id.to_owned())
    .bind(endpoint_id.to_owned())
    .fetch_optional(conn)
    .await?
    .map(Delivery::try_from)
    .transpose()
}

/// Makes an endpoint's failed deliveries of messages created since `since`
/// due again at `now` (a fresh schedule); returns how many.
pub async fn recover_failed(
    conn: &mut Conn,
    endpoint_id: &str,
    since: i64,
    now: i64,
) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3, \
         locked_until = 0, updated_at = $3 WHERE endpoint_id = $1 AND status = 'failed' \
         AND created_at >= $2",
    )
    .bind(endpoint_id.to_owned())
    .bind(since)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Counts an endpoint's deliveries by status.
pub async fn count_deliveries(
    conn: &mut Conn,
    endpoint_id: &str,
    status: DeliveryStatus,
) -> StoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = $2",
    )
    .bind(endpoint_id.to_owned())
    .bind(status.as_str())
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// One try to deliver a message.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// `atmpt_…`
    pub id: String,
    /// The delivery.
    pub delivery_id: String,
    /// The message.
    pub message_id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// When (ms).
    pub attempted_at: i64,
    /// HTTP status, when a response came.
    pub status_code: Option<i64>,
    /// Time to the response or the failure (ms).
    pub latency_ms: i64,
    /// The start of the response body.
    pub response: String,
    /// Transport error (timeout, refused), when no response came.
    pub error: Option<String>,
    /// What made it happen.
    pub trigger_type: AttemptTrigger,
}

#[derive(FromRow)]
struct AttemptRow {
    id: String,
    delivery_id: String,
    message_id: String,
    endpoint_id: String,
    attempted_at: i64,
    status_code: Option<i64>,
    latency_ms: i64,
    response: String,
    error: Option<String>,
    trigger_type: String,
}

impl TryFrom<AttemptRow> for Attempt {
    type Error = StoreError;
    fn try_from(r: AttemptRow) -> StoreResult<Self> {
        Ok(Self {
            id: r.id,
            delivery_id: r.delivery_id,
            message_id: r.message_id,
            endpoint_id: r.endpoint_id,
            attempted_at: r.attempted_at,
            status_code: r.status_code,
            latency_ms: r.latency_ms,
            response: r.response,
            error: r.error,
            trigger_type: AttemptTrigger::parse(&r.trigger_type).ok_or_else(|| {
                StoreError::Corrupt(format!("attempt trigger {:?}", r.trigger_type))
            })?,
        })
    }
}

/// Records an attempt.
pub async fn insert_attempt(conn: &mut Conn, a: &Attempt) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_attempts (id, delivery_id, message_id, endpoint_id, attempted_at, \
         status_code, latency_ms, response, error, trigger_type) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(a.id.clone())
    .bind(a.delivery_id.clone())
    .bind(a.message_id.clone())
    .bind(a.endpoint_id.clone())
    .bind(a.attempted_at)
    .bind(a.status_code)
    .bind(a.latency_ms)
    .bind(a.response.clone())
    .bind(a.error.clone())
    .bind(a.trigger_type.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Attempts, newest first: of an endpoint, of a message, or both.
pub async fn list_attempts(
    conn: &mut Conn,
    endpoint_id: Option<&str>,
    message_id: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<Attempt>> {
    let rows: Vec<AttemptRow> = sqlx::query_as(
        "SELECT id, delivery_id, message_id, endpoint_id, attempted_at, status_code, latency_ms, \
         response, error, trigger_type FROM webhook_attempts \
         WHERE ($1 IS NULL OR endpoint_id = $1) AND ($2 IS NULL OR message_id = $2) \
         ORDER BY attempted_at DESC, id DESC LIMIT $3",
    )
    .bind(endpoint_id.map(str::to_owned))
    .bind(message_id.map(str::to_owned))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(Attempt::try_from).collect()
}

/// A queued email or SMS.
#[derive(Debug, Clone)]
pub struct Job {
    /// `job_…`
    pub id: String,
    /// What it sends.
    pub kind: JobKind,
    /// The rendered message. Stored as JSON text, emptied once the job is
    /// finished (finished jobs are never read back).
    pub payload: Value,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: i64,
}

#[derive(FromRow)]
struct JobRow {
    id: String,
    kind: String,
    payload: String,
    status: String,
    attempts: i64,
}

impl TryFrom<JobRow> for Job {
    type Error = StoreError;
    fn try_from(r: JobRow) -> StoreResult<Self> {
        Ok(Self {
            id: r.id,
            kind: JobKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("job kind {:?}", r.kind)))?,
            payload: serde_json::from_str(&r.payload)
                .map_err(|e| StoreError::Corrupt(format!("job payload: {e}")))?,
            status: DeliveryStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("job status {:?}", r.status)))?,
            attempts: r.attempts,
        })
    }
}

/// Queues a job, leased until `locked_until` to the server that tries it at
/// once (0: free for any dispatcher).
pub async fn insert_job(
    conn: &mut Conn,
    id: &str,
    kind: JobKind,
    payload: &Value,
    now: i64,
    locked_until: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO jobs (id, kind, payload, status, attempts, next_attempt_at, locked_until, \
         last_error, created_at, updated_at) VALUES ($1, $2, $3, 'pending', 0, $4, $5, NULL, $4, $4)",
    )
    .bind(id.to_owned())
    .bind(kind.as_str())
    .bind(payload.to_string())
    .bind(now)
    .bind(locked_until)
    .execute(conn)
    .await?;
    Ok(())
}

/// Leases up to `limit` due jobs until `lease_until`.
pub async fn claim_jobs(
    conn: &mut Conn,
    backend: Backend,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> StoreResult<Vec<Job>> {
    lease_due::<JobRow, _>(
        conn,
        backend,
        "jobs",
        "id, kind, payload, status, attempts",
        now,
        lease_until,
        limit,
    )
    .await
}

/// Records a job's outcome; a finished job (succeeded or failed) loses its payload.
pub async fn finish_job(
    conn: &mut Conn,
    id: &str,
    status: DeliveryStatus,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE jobs SET status = $2, attempts = $3, next_attempt_at = $4, locked_until = 0, \
         last_error = $5, updated_at = $6, \
         payload = CASE WHEN $2 = 'pending' THEN payload ELSE '' END WHERE id = $1",
    )
    .bind(id.to_owned())
    .bind(status.as_str())
    .bind(attempts)
    .bind(next_attempt_at)
    .bind(last_error.map(str::to_owned))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes finished jobs older than `cutoff`.
pub async fn purge_jobs(conn: &mut Conn, cutoff: i64) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM jobs WHERE status <> 'pending' AND updated_at < $1")
        .bind(cutoff)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
