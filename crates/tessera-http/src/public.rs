//! Routes that need no key: health, the public JWKS and profile images.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use tessera_core::Core;
use tessera_domain::error_code::ErrorCode;

use crate::error::{ApiError, ApiResult};

/// `GET /healthz`: 200 once the database answers.
pub async fn healthz(State(core): State<Core>) -> Response {
    match core.store.read().await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

/// Tessera's own OpenAPI description: the routes it serves beyond Clerk's
/// Backend and Frontend API descriptions.
pub const OPENAPI: &str = include_str!("../openapi/tessera.json");

/// `GET /v1/openapi.json`: [`OPENAPI`].
pub async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// `GET /.well-known/jwks.json`: the same key set as BAPI `/v1/jwks`.
pub async fn well_known_jwks(State(core): State<Core>) -> ApiResult<Json<Value>> {
    Ok(Json(core.keyring.jwks()?))
}

fn escape_xml(raw: &str) -> String {
    raw.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `GET /v1/images/users/{user_id}`: the stored profile image, or an avatar with initials.
pub async fn user_image(State(core): State<Core>, Path(id): Path<String>) -> ApiResult<Response> {
    let view = core.users().get(&id).await?;
    if view.user.has_image {
        let (content_type, bytes) = core.users().profile_image(&id).await?;
        return Ok((
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
            ],
            bytes,
        )
            .into_response());
    }
    let initials: String = [
        view.user.first_name.as_deref(),
        view.user.last_name.as_deref(),
    ]
    .iter()
    .flatten()
    .filter_map(|n| n.chars().next())
    .flat_map(char::to_uppercase)
    .collect();
    Ok(avatar(&initials))
}

/// `GET /v1/images/organizations/{organization_id}`: the stored logo, or an
/// avatar with the name's initial.
pub async fn organization_image(
    State(core): State<Core>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (org, logo) = core.organizations().logo(&id).await?;
    if let Some((content_type, bytes)) = logo {
        return Ok((
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
            ],
            bytes,
        )
            .into_response());
    }
    let initial: String = org
        .name
        .chars()
        .take(1)
        .flat_map(char::to_uppercase)
        .collect();
    Ok(avatar(&initial))
}

/// A square SVG with `text` in the middle.
fn avatar(text: &str) -> Response {
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"128\" height=\"128\" viewBox=\"0 0 128 128\">\
         <rect width=\"128\" height=\"128\" fill=\"#6c47ff\"/><text x=\"64\" y=\"78\" font-family=\"sans-serif\" \
         font-size=\"48\" fill=\"#fff\" text-anchor=\"middle\">{}</text></svg>",
        escape_xml(text)
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        svg,
    )
        .into_response()
}

/// Any route that does not exist: a 404 whose code differs from a missing resource's.
pub async fn route_not_found() -> ApiError {
    ApiError::new(
        ErrorCode::RouteNotFound,
        "not found",
        "There is no such route on this server.",
    )
}
