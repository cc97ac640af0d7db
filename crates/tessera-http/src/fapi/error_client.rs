//! The caller's client in Frontend API error bodies. clerk-js replaces its
//! client state from `client` or, on error bodies, from the top-level
//! `meta.client` of every non-GET answer (`BaseResource._updateClient`), so a
//! failed attempt still shows its new state (attempt counts, ended sessions).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value};
use tessera_core::Core;

use super::context::client_token;
use super::transport::is_fapi_path;

/// Error bodies are small; anything larger is passed through untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Adds `meta.client` to Frontend API error answers when the caller's client
/// is known (by its `__client` cookie or native `Authorization` token).
pub async fn attach_client(State(core): State<Core>, req: Request, next: Next) -> Response {
    let token = is_fapi_path(req.uri().path())
        .then(|| client_token(req.headers()))
        .flatten();
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(req).await;
    let Some(token) = token else {
        return response;
    };
    if !(response.status().is_client_error() || response.status().is_server_error()) {
        return response;
    }
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
    let client = match core.client_for_token(&token).await {
        Ok(Some(view)) => super::wire::client(&core, &view, origin).await,
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
