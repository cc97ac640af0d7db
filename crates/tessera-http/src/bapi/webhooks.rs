//! Webhook management (Tessera extensions under `/v1/webhooks/…`, described
//! in `docs/openapi/tessera-webhooks.yml`) and Clerk's `/v1/webhooks/svix*`
//! operations, which point at them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tessera_core::webhooks::endpoints::{EndpointPatch, NewEndpoint};
use tessera_core::Core;
use tessera_store::webhooks::{Attempt, Endpoint, Message};

use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryPairs, SecretKeyAuth};

fn ms_to_rfc3339(ms: i64) -> String {
    humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
    )
    .to_string()
}

/// An endpoint on the wire.
pub fn endpoint(e: &Endpoint) -> Value {
    json!({
        "object": "webhook_endpoint",
        "id": e.id,
        "url": e.url,
        "description": e.description,
        "filter_types": e.filter(),
        "disabled": e.disabled,
        "disabled_reason": e.disabled_reason,
        "failing_since": e.failing_since,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    })
}

fn message(m: &Message) -> Value {
    json!({
        "object": "webhook_message",
        "id": m.id,
        "event_type": m.event_type,
        "payload": serde_json::from_str::<Value>(&m.payload).unwrap_or(Value::Null),
        "created_at": m.created_at,
        "timestamp": ms_to_rfc3339(m.created_at),
    })
}

fn attempt(a: &Attempt) -> Value {
    json!({
        "object": "webhook_attempt",
        "id": a.id,
        "message_id": a.message_id,
        "endpoint_id": a.endpoint_id,
        "attempted_at": a.attempted_at,
        "status": if a.status_code.is_some_and(|c| (200..300).contains(&c)) { "succeeded" } else { "failed" },
        "response_status_code": a.status_code,
        "response": a.response,
        "error": a.error,
        "latency_ms": a.latency_ms,
        "trigger_type": a.trigger_type,
    })
}

fn listing(data: Vec<Value>) -> Json<Value> {
    let total = data.len();
    Json(json!({ "data": data, "total_count": total }))
}

/// Body of `POST /v1/webhooks/endpoints`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateEndpoint {
    url: String,
    description: Option<String>,
    filter_types: Option<Vec<String>>,
    secret: Option<String>,
    #[serde(default)]
    disabled: bool,
}

/// `POST /v1/webhooks/endpoints`: the endpoint, with its secret (also at `…/secret`).
pub async fn create_endpoint(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(body): JsonBody<CreateEndpoint>,
) -> ApiResult<Json<Value>> {
    let (e, secret) = core
        .webhooks()
        .create_endpoint(NewEndpoint {
            url: body.url,
            description: body.description,
            filter_types: body.filter_types,
            secret: body.secret,
            disabled: body.disabled,
        })
        .await?;
    let mut out = endpoint(&e);
    out["secret"] = Value::String(secret);
    Ok(Json(out))
}

/// `GET /v1/webhooks/endpoints`
pub async fn list_endpoints(_: SecretKeyAuth, State(core): State<Core>) -> ApiResult<Json<Value>> {
    let all = core.webhooks().list_endpoints().await?;
    Ok(listing(all.iter().map(endpoint).collect()))
}

/// `GET /v1/webhooks/endpoints/{id}`: with delivery counts.
pub async fn get_endpoint(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let e = core.webhooks().get_endpoint(&id).await?;
    let (pending, succeeded, failed) = core.webhooks().endpoint_stats(&id).await?;
    let mut out = endpoint(&e);
    out["deliveries"] = json!({ "pending": pending, "succeeded": succeeded, "failed": failed });
    Ok(Json(out))
}

/// Body of `PATCH /v1/webhooks/endpoints/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateEndpoint {
    url: Option<String>,
    description: Option<String>,
    #[serde(default, with = "double_option")]
    filter_types: Option<Option<Vec<String>>>,
    disabled: Option<bool>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `PATCH /v1/webhooks/endpoints/{id}`
pub async fn update_endpoint(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateEndpoint>,
) -> ApiResult<Json<Value>> {
    let e = core
        .webhooks()
        .update_endpoint(
            &id,
            EndpointPatch {
                url: body.url,
                description: body.description,
                filter_types: body.filter_types,
                disabled: body.disabled,
            },
        )
        .await?;
    Ok(Json(endpoint(&e)))
}

/// `DELETE /v1/webhooks/endpoints/{id}`
pub async fn delete_endpoint(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    core.webhooks().delete_endpoint(&id).await?;
    Ok(Json(crate::wire::deleted("webhook_endpoint", &id)))
}

/// `POST /v1/webhooks/endpoints/{id}/enable`: also clears the failure streak.
pub async fn enable_endpoint(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let patch = EndpointPatch {
        disabled: Some(false),
        ..Default::default()
    };
    Ok(Json(endpoint(
        &core.webhooks().update_endpoint(&id, patch).await?,
    )))
}

/// `POST /v1/webhooks/endpoints/{id}/disable`
pub async fn disable_endpoint(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let patch = EndpointPatch {
        disabled: Some(true),
        ..Default::default()
    };
    Ok(Json(endpoint(
        &core.webhooks().update_endpoint(&id, patch).await?,
    )))
}

/// `GET /v1/webhooks/endpoints/{id}/secret`: `{"key": "whsec_…"}`.
pub async fn get_secret(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        json!({ "key": core.webhooks().endpoint_secret(&id).await? }),
    ))
}

/// Body of `POST …/secret/rotate`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    key: Option<String>,
}

/// `POST /v1/webhooks/endpoints/{id}/secret/rotate`: the new key; the old one
/// keeps signing beside it for 24 hours.
pub async fn rotate_secret(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RotateSecret>,
) -> ApiResult<Json<Value>> {
    let key = core
        .webhooks()
        .rotate_endpoint_secret(&id, body.key)
        .await?;
    Ok(Json(json!({ "key": key })))
}

fn limit(q: &QueryPairs) -> Result<i64, ApiError> {
    Ok(q.int("limit", 1, 500)?.unwrap_or(50))
}

/// `GET /v1/webhooks/endpoints/{id}/attempts?limit=`
pub async fn endpoint_attempts(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let list = core
        .webhooks()
        .list_attempts(Some(&id), None, limit(&q)?)
        .await?;
    Ok(listing(list.iter().map(attempt).collect()))
}

/// Body of `POST …/recover`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recover {
    /// Unix ms; failed deliveries of messages since then are queued again.
    since: i64,
}

/// `POST /v1/webhooks/endpoints/{id}/recover`: `{"recovered": n}`.
pub async fn recover(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Recover>,
) -> ApiResult<Json<Value>> {
    let n = core.webhooks().recover_endpoint(&id, body.since).await?;
    Ok(Json(json!({ "recovered": n })))
}

/// `GET /v1/webhooks/messages?event_type=&limit=`: newest first.
pub async fn list_messages(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let event_type = q.first("event_type").filter(|t| !t.is_empty());
    let list = core
        .webhooks()
        .list_messages(event_type.as_deref(), limit(&q)?)
        .await?;
    Ok(listing(list.iter().map(message).collect()))
}

/// `GET /v1/webhooks/messages/{id}`
pub async fn get_message(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (m, _) = core.webhooks().get_message(&id).await?;
    Ok(Json(message(&m)))
}

/// `GET /v1/webhooks/messages/{id}/attempts`
pub async fn message_attempts(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    core.webhooks().get_message(&id).await?;
    let list = core
        .webhooks()
        .list_attempts(None, Some(&id), limit(&q)?)
        .await?;
    Ok(listing(list.iter().map(attempt).collect()))
}

/// `POST /v1/webhooks/messages/{id}/endpoints/{endpoint_id}/resend`: 202.
pub async fn resend(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((id, endpoint_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    core.webhooks().resend_message(&id, &endpoint_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "object": "webhook_message", "id": id, "resent_to": endpoint_id })),
    ))
}

fn svix_url(core: &Core) -> Json<Value> {
    Json(json!({ "svix_url": format!("{}/v1/webhooks/endpoints", core.frontend_url) }))
}

/// Clerk's `POST /v1/webhooks/svix` and `POST /v1/webhooks/svix_url`: Tessera
/// manages endpoints itself; the URL is its endpoint management API.
pub async fn svix_app(_: SecretKeyAuth, State(core): State<Core>) -> Json<Value> {
    svix_url(&core)
}

/// Clerk's `DELETE /v1/webhooks/svix`: removes every endpoint (webhooks off).
pub async fn delete_svix_app(_: SecretKeyAuth, State(core): State<Core>) -> ApiResult<StatusCode> {
    for e in core.webhooks().list_endpoints().await? {
        core.webhooks().delete_endpoint(&e.id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}
