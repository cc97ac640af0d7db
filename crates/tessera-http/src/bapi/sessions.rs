//! BAPI `/v1/sessions…` and `/v1/clients…`.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tessera_core::Core;
use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::{ClientId, UserId};
use tessera_domain::kinds::SessionStatus;
use tessera_store::sessions::SessionFilter;

use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryPairs, SecretKeyAuth};
use crate::wire;

/// `GET /v1/sessions`
pub async fn list_sessions(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    // Every parameter is checked before anything is looked up.
    let mut filter = SessionFilter::default();
    if let Some(raw) = q.first("status").filter(|s| !s.is_empty()) {
        filter.status = Some(SessionStatus::parse(&raw).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "must be one of abandoned, active, ended, expired, removed, replaced, revoked",
            )
        })?);
    }
    let (limit, offset) = q.page()?;
    let paginated = q.bool("paginated")? == Some(true);
    let user_id = q.first("user_id").filter(|s| !s.is_empty());
    let client_id = q.first("client_id").filter(|s| !s.is_empty());
    // An id that cannot exist matches nothing.
    match user_id.map(|raw| UserId::parse(&raw)) {
        Some(None) => return Ok(Json(wire::list(Vec::new(), 0, paginated))),
        Some(id) => filter.user_id = id,
        None => {}
    }
    match client_id.map(|raw| ClientId::parse(&raw)) {
        Some(None) => return Ok(Json(wire::list(Vec::new(), 0, paginated))),
        Some(id) => filter.client_id = id,
        None => {}
    }
    let (sessions, total) = core.sessions().list(&filter, limit, offset).await?;
    let items = sessions
        .iter()
        .map(|s| wire::session::session(s, core.task_policy()))
        .collect();
    Ok(Json(wire::list(
        items,
        total,
        q.bool("paginated")? == Some(true),
    )))
}

/// Body of `POST /v1/sessions`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionBody {
    user_id: String,
    active_organization_id: Option<String>,
}

/// `POST /v1/sessions` (development instances only)
pub async fn create_session(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<CreateSessionBody>,
) -> ApiResult<Json<Value>> {
    let session = core
        .sessions()
        .create_session_for_user(&b.user_id, b.active_organization_id)
        .await?;
    Ok(Json(wire::session::session(&session, core.task_policy())))
}

/// `GET /v1/sessions/{session_id}`
pub async fn get_session(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(wire::session::session(
        &core.sessions().get(&id).await?,
        core.task_policy(),
    )))
}

/// `POST /v1/sessions/{session_id}/revoke`
pub async fn revoke_session(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(wire::session::session(
        &core.sessions().revoke(&id).await?,
        core.task_policy(),
    )))
}

/// Body of `POST /v1/sessions/{session_id}/tokens`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenBody {
    expires_in_seconds: Option<i64>,
}

/// `POST /v1/sessions/{session_id}/tokens`
pub async fn create_session_token(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(b): JsonBody<CreateTokenBody>,
) -> ApiResult<Json<Value>> {
    let azp = crate::extract::header_text(&headers, axum::http::header::ORIGIN);
    let jwt = core
        .sessions()
        .create_session_token(&id, b.expires_in_seconds, azp)
        .await?;
    Ok(Json(json!({ "object": "token", "jwt": jwt })))
}

/// `POST /v1/sessions/{session_id}/tokens/{template}`: JWT templates arrive later.
pub async fn create_session_token_from_template(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path((id, template)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    core.sessions().get(&id).await?;
    Err(ApiError::new(
        ErrorCode::ResourceNotFound,
        "not found",
        format!("No JWT template named {template:?} exists."),
    ))
}

/// `GET /v1/clients`
pub async fn list_clients(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let (limit, offset) = q.page()?;
    let (clients, total) = core.sessions().list_clients(limit, offset).await?;
    let items = clients
        .iter()
        .map(|c| wire::session::client(c, core.task_policy()))
        .collect();
    Ok(Json(wire::list(
        items,
        total,
        q.bool("paginated")? == Some(true),
    )))
}

/// `GET /v1/clients/{client_id}`
pub async fn get_client(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(wire::session::client(
        &core.sessions().get_client(&id).await?,
        core.task_policy(),
    )))
}

/// `GET /v1/clients/handshake_payload?nonce=`: the cookie directives of a
/// handshake, once (see `GET /v1/client/handshake` on the Frontend API).
pub async fn handshake_payload(
    _: SecretKeyAuth,
    State(core): State<Core>,
    q: QueryPairs,
) -> ApiResult<Json<Value>> {
    let nonce = q.first("nonce").filter(|n| !n.is_empty()).ok_or_else(|| {
        ApiError::new(
            ErrorCode::FormParamMissing,
            "is missing",
            "nonce is missing",
        )
        .param("nonce")
    })?;
    let directives = core.sessions().redeem_handshake(&nonce).await?;
    Ok(Json(json!({ "directives": directives })))
}

/// Body of `POST /v1/clients/verify`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyClientBody {
    token: String,
}

/// `POST /v1/clients/verify`
pub async fn verify_client(
    _: SecretKeyAuth,
    State(core): State<Core>,
    JsonBody(b): JsonBody<VerifyClientBody>,
) -> ApiResult<Json<Value>> {
    Ok(Json(wire::session::client(
        &core.sessions().verify_client_token(&b.token).await?,
        core.task_policy(),
    )))
}

/// Body of `POST /v1/sessions/{session_id}/verify`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySessionBody {
    token: String,
}

/// `POST /v1/sessions/{session_id}/verify` (legacy; `@clerk/backend` `verifySession`).
pub async fn verify_session(
    _: SecretKeyAuth,
    State(core): State<Core>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<VerifySessionBody>,
) -> ApiResult<Json<Value>> {
    Ok(Json(wire::session::session(
        &core.sessions().verify_session_token(&id, &b.token).await?,
        core.task_policy(),
    )))
}
