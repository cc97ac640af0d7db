//! The caller's client in Frontend API error bodies. clerk-js replaces its
//! client state from `client` or, on error bodies, from the top-level
//! `meta.client` of every non-GET answer (`BaseResource._updateClient`), so a
//! failed attempt still shows its new state (attempt counts, ended sessions).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use serde_json::{Map, Value};
use tessera_core::Core;

use super::context::client_token;
use super::transport::is_fapi_path;
use crate::extract::header_text;

/// Error bodies are small; anything larger is passed through untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The headers that name a Frontend API caller's client (`Cookie`,
/// `Authorization`) and its `Origin`, kept before the request runs so that an
/// error answer can carry the client: reference counts, no parsing (most
/// answers are not errors). `None` outside the Frontend API.
pub fn caller_headers(req: &Request) -> Option<HeaderMap> {
    if !is_fapi_path(req.uri().path()) {
        return None;
    }
    let mut caller = HeaderMap::new();
    for name in [header::COOKIE, header::AUTHORIZATION, header::ORIGIN] {
        for value in req.headers().get_all(&name) {
            caller.append(name.clone(), value.clone());
        }
    }
    Some(caller)
}

/// Adds `meta.client` to a Frontend API error answer when the caller's client
/// is known (by its `__client` cookie or native `Authorization` token);
/// `caller` is what [`caller_headers`] kept.
pub async fn attach(core: &Core, caller: Option<HeaderMap>, response: Response) -> Response {
    let Some(caller) = caller else {
        return response;
    };
    if !(response.status().is_client_error() || response.status().is_server_error()) {
        return response;
    }
    let Some(token) = client_token(&caller) else {
        return response;
    };
    let origin = header_text(&caller, header::ORIGIN);
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!("reading an error body to add the client failed: {e}");
            return Response::from_parts(parts, Body::empty());
        }
    };
    let unchanged = |parts, bytes| Response::from_parts(parts, Body::from(bytes));
    let Ok(Value::Object(mut json)) = serde_json::from_slice::<Value>(&bytes) else {
        return unchanged(parts, bytes);
    };
    if !json.contains_key("errors") {
        return unchanged(parts, bytes);
    }
    let client = match core.sessions().client_for_token(&token).await {
        Ok(Some(view)) => super::wire::load_client(core, &view, origin).await,
        _ => return unchanged(parts, bytes),
    };
    let Ok(client) = client else {
        return unchanged(parts, bytes);
    };
    let meta = json
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert("client".to_owned(), client);
    }
    let Ok(body) = serde_json::to_vec(&Value::Object(json)) else {
        return unchanged(parts, bytes);
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
