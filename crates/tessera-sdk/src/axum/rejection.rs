//! [`AuthRejection`]: a refused request, answered in Clerk's error envelope.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::VerifyError;

/// Why an extractor or [`super::AuthLayer`] refused a request.
///
/// Answers `{"errors":[{"code","message","long_message","meta":{}}]}`: 401
/// `authentication_invalid` when the token is missing or refused, 503
/// `service_unavailable` when the keys could not be fetched (the details
/// of that go to the log, not to the client).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRejection {
    error: Option<VerifyError>,
}

impl AuthRejection {
    /// No token in the `Authorization` header nor in the `__session` cookie.
    pub fn missing_token() -> Self {
        Self { error: None }
    }

    /// The verification error behind the refusal; `None` when no token was sent.
    pub fn verify_error(&self) -> Option<&VerifyError> {
        self.error.as_ref()
    }

    /// Whether the request's token is at fault (401) rather than the key source (503).
    pub fn is_token_error(&self) -> bool {
        self.error.as_ref().is_none_or(VerifyError::is_token_error)
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        if self.is_token_error() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

impl From<VerifyError> for AuthRejection {
    fn from(error: VerifyError) -> Self {
        Self { error: Some(error) }
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.error {
            None => f.write_str("no session token"),
            Some(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AuthRejection {}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let (code, message, long_message) = match &self.error {
            None => (
                "authentication_invalid",
                "Invalid authentication",
                "Unable to authenticate the request: send the session token as \
                 `Authorization: Bearer <token>` or in the `__session` cookie"
                    .to_owned(),
            ),
            Some(e) if e.is_token_error() => (
                "authentication_invalid",
                "Invalid authentication",
                format!("Unable to authenticate the request: {e}"),
            ),
            Some(e) => {
                tracing::warn!("cannot verify session tokens: {e}");
                (
                    "service_unavailable",
                    "Authentication is temporarily unavailable",
                    "The keys that verify session tokens could not be loaded; try again shortly"
                        .to_owned(),
                )
            }
        };
        let body = json!({
            "errors": [{
                "code": code,
                "message": message,
                "long_message": long_message,
                "meta": {},
            }],
        });
        let mut response = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a 401 names the scheme the client should use.
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
