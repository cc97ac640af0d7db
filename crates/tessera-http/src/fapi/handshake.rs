//! `GET /v1/client/handshake`: a page request on the app's domain lacked a
//! fresh session cookie, so the app's backend sent the browser here; send it
//! back with a nonce its backend can redeem for the cookies (see
//! `tessera_core::frontend::handshake`).

use std::collections::HashMap;
use tessera_domain::error_code::ErrorCode;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::frontend::handshake::HandshakeRequest;
use tessera_core::Core;

use super::context::Caller;
use super::transport::origin_allowed;
use crate::error::{ApiError, ApiResult};

/// The redirect back to the app, with `__clerk_handshake_nonce`.
pub async fn handshake(
    State(core): State<Core>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let raw = params
        .get("redirect_url")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::FormParamMissing,
                "is missing",
                "redirect_url is missing: the handshake needs the URL to return to.",
            )
            .param("redirect_url")
        })?;
    let redirect_url = url::Url::parse(raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| ApiError::invalid("redirect_url", "an absolute http(s) URL is required"))?;
    let origin = redirect_url.origin().ascii_serialization();
    if !origin_allowed(&core, &origin) {
        return Err(ApiError::new(
            ErrorCode::OriginInvalid,
            "Invalid origin",
            format!(
                "{origin} is not allowed to receive this instance's session cookies; add it to allowed_origins."
            ),
        )
        .param("redirect_url"));
    }
    let back = core
        .sessions()
        .handshake(
            caller.client.as_ref(),
            HandshakeRequest {
                redirect_url,
                dev_browser: params.get("__clerk_db_jwt").cloned(),
            },
        )
        .await?;
    let location = HeaderValue::from_str(back.as_str())
        .map_err(|_| ApiError::invalid("redirect_url", "not a valid header value"))?;
    let mut resp = StatusCode::TEMPORARY_REDIRECT.into_response();
    resp.headers_mut().insert(header::LOCATION, location);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
