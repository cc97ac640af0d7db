//! The one HTTP error type, Clerk's error envelope, and the table that maps
//! every error code to its HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use tessera_core::CoreError;

/// An error on its way to the wire.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable Clerk code.
    pub code: String,
    /// Short message.
    pub message: String,
    /// Human-readable message.
    pub long_message: String,
    /// `meta` object (e.g. `param_name`).
    pub meta: Map<String, Value>,
    /// Internal detail, logged but never sent.
    pub internal: Option<String>,
    /// `Retry-After` seconds for 429 answers.
    pub retry_after: Option<i64>,
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// The status of each error code; codes not listed are 422 (Clerk's "invalid request").
fn status_for(code: &str) -> StatusCode {
    match code {
        "resource_not_found" | "route_not_found" => StatusCode::NOT_FOUND,
        "authentication_invalid" | "clerk_key_invalid" => StatusCode::UNAUTHORIZED,
        "malformed_request_body"
        | "request_body_invalid"
        | "password_not_set"
        | "verification_already_verified"
        | "session_exists" => StatusCode::BAD_REQUEST,
        "user_banned"
        | "user_locked"
        | "origin_invalid"
        | "operation_not_allowed_on_production" => StatusCode::FORBIDDEN,
        "feature_not_enabled" => StatusCode::PAYMENT_REQUIRED,
        "request_body_too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "method_not_allowed" => StatusCode::METHOD_NOT_ALLOWED,
        "too_many_requests" => StatusCode::TOO_MANY_REQUESTS,
        "internal_clerk_error" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl ApiError {
    /// An error with a code, whose status comes from the table.
    pub fn new(code: &str, message: impl Into<String>, long_message: impl Into<String>) -> Self {
        Self {
            status: status_for(code),
            code: code.to_owned(),
            message: message.into(),
            long_message: long_message.into(),
            meta: Map::new(),
            internal: None,
            retry_after: None,
        }
    }

    /// Adds `meta.param_name`.
    pub fn param(mut self, name: &str) -> Self {
        self.meta
            .insert("param_name".to_owned(), Value::String(name.to_owned()));
        self
    }

    /// A 404 for a resource that does not exist.
    pub fn not_found() -> Self {
        Self::new("resource_not_found", "not found", "Resource not found")
    }

    /// A 422 for a parameter with a bad value.
    pub fn invalid(param: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::new(
            "form_param_format_invalid",
            "is invalid",
            format!("{param} is invalid: {detail}"),
        )
        .param(param)
    }

    /// A 400 for a body that is not what the endpoint reads.
    pub fn bad_body(detail: impl Into<String>) -> Self {
        Self::new("malformed_request_body", "malformed request body", detail)
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> Self {
        let mut api = Self::new(err.code(), err.message(), err.long_message());
        if let Some(param) = err.param() {
            api = api.param(param);
        }
        if let CoreError::RateLimited { retry_after_secs } = err {
            api.retry_after = Some(retry_after_secs);
        }
        if matches!(
            err,
            CoreError::Internal(_) | CoreError::Store(_) | CoreError::Config(_)
        ) {
            api.internal = Some(err.to_string());
        }
        api
    }
}

/// Marks a response as an internal error, so the logging middleware can report it.
#[derive(Clone, Debug)]
pub struct InternalErrorDetail(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let trace_id = tessera_domain::ids::new_body(tessera_core::clock::now_ms());
        let body = json!({
            "errors": [{
                "code": self.code,
                "message": self.message,
                "long_message": self.long_message,
                "meta": Value::Object(self.meta),
            }],
            "clerk_trace_id": trace_id,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        if let Some(detail) = self.internal {
            response
                .extensions_mut()
                .insert(InternalErrorDetail(format!("trace {trace_id}: {detail}")));
        }
        response
    }
}
