//! The one HTTP error type and Clerk's error envelope. Statuses and usual
//! parameters come from the [`ErrorCode`] table in `tessera-domain`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use tessera_core::CoreError;
use tessera_domain::error_code::ErrorCode;

/// An error on its way to the wire.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The Clerk code.
    pub code: ErrorCode,
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

impl ApiError {
    /// An error with a code, whose status and parameter come from the code's table.
    pub fn new(
        code: ErrorCode,
        message: impl Into<String>,
        long_message: impl Into<String>,
    ) -> Self {
        let mut err = Self {
            status: StatusCode::from_u16(code.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            code,
            message: message.into(),
            long_message: long_message.into(),
            meta: Map::new(),
            internal: None,
            retry_after: None,
        };
        if let Some(param) = code.param() {
            err = err.param(param);
        }
        err
    }

    /// Adds `meta.param_name`.
    pub fn param(mut self, name: &str) -> Self {
        self.meta
            .insert("param_name".to_owned(), Value::String(name.to_owned()));
        self
    }

    /// A 404 for a resource that does not exist.
    pub fn not_found() -> Self {
        Self::new(
            ErrorCode::ResourceNotFound,
            "not found",
            "Resource not found",
        )
    }

    /// A 422 for a parameter with a bad value.
    pub fn invalid(param: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::new(
            ErrorCode::FormParamFormatInvalid,
            "is invalid",
            format!("{param} is invalid: {detail}"),
        )
        .param(param)
    }

    /// The error for an answer of `status` that carried no envelope of its own
    /// (from the router, an extractor, the body limit, or the HTTP/1 parser).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, message, long) = match status.as_u16() {
            404 => return Self::not_found(),
            405 => (
                ErrorCode::MethodNotAllowed,
                "method not allowed",
                "This route does not take this method.",
            ),
            408 => (
                ErrorCode::RequestTimeout,
                "request timeout",
                "The request did not arrive, or could not be answered, in time.",
            ),
            413 => (
                ErrorCode::RequestBodyTooLarge,
                "request body too large",
                "The request body is too large.",
            ),
            414 => (
                ErrorCode::RequestUriTooLong,
                "request URI too long",
                "The request's URI is longer than this server reads.",
            ),
            415 => (
                ErrorCode::UnsupportedMediaType,
                "unsupported media type",
                "This route does not take this kind of body.",
            ),
            431 => (
                ErrorCode::RequestHeaderFieldsTooLarge,
                "request header fields too large",
                "The request's headers are larger than this server reads.",
            ),
            500..=599 => (
                ErrorCode::InternalClerkError,
                "Oops, an unexpected error occurred",
                "An unexpected error occurred.",
            ),
            _ => (
                ErrorCode::MalformedRequest,
                "malformed request",
                "The request could not be read.",
            ),
        };
        let mut err = Self::new(code, message, long);
        err.status = status;
        err
    }

    /// The trace id and the JSON envelope of this error.
    pub fn envelope(&self) -> (String, Value) {
        let trace_id = tessera_domain::ids::new_body(tessera_core::clock::now_ms());
        let body = json!({
            "errors": [{
                "code": self.code.as_str(),
                "message": self.message,
                "long_message": self.long_message,
                "meta": Value::Object(self.meta.clone()),
            }],
            "clerk_trace_id": trace_id,
        });
        (trace_id, body)
    }

    /// A 400 for a body that is not what the endpoint reads.
    pub fn bad_body(detail: impl Into<String>) -> Self {
        Self::new(
            ErrorCode::MalformedRequestBody,
            "malformed request body",
            detail,
        )
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
        let (trace_id, body) = self.envelope();
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

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_store::StoreError;

    /// Sends `err` through the HTTP mapping and reads the answer back.
    async fn answer(err: ApiError) -> (StatusCode, Option<String>, Value) {
        let response = err.into_response();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(axum::http::header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, retry_after, serde_json::from_slice(&body).unwrap())
    }

    fn check_envelope(code: ErrorCode, status: StatusCode, body: &Value) {
        assert_eq!(status.as_u16(), code.status(), "{code:?}");
        assert!(
            status.is_client_error()
                || matches!(
                    code,
                    ErrorCode::InternalClerkError | ErrorCode::BundleUnavailable
                )
        );
        let errors = body["errors"].as_array().expect("errors is a list");
        assert_eq!(errors.len(), 1);
        let e = &errors[0];
        assert_eq!(e["code"], code.as_str());
        for field in ["message", "long_message"] {
            assert!(
                !e[field].as_str().unwrap_or_default().is_empty(),
                "{code:?} {field}"
            );
        }
        assert!(e["meta"].is_object());
        assert!(body["clerk_trace_id"].is_string());
    }

    #[tokio::test]
    async fn every_code_maps_to_its_status_envelope_and_param() {
        for &code in ErrorCode::ALL {
            let (status, _, body) = answer(ApiError::new(code, "short", "long")).await;
            check_envelope(code, status, &body);
            assert_eq!(
                body["errors"][0]["meta"]["param_name"].as_str(),
                code.param(),
                "{code:?}"
            );
        }
    }

    #[tokio::test]
    async fn every_service_error_maps_through_its_code() {
        let mut errors = vec![
            CoreError::NotFound,
            CoreError::missing("first_name"),
            CoreError::format("email_address", "not an email"),
            CoreError::value("limit", "too big"),
            CoreError::IdentifierExists {
                param: "email_address".to_owned(),
            },
            CoreError::AttributeDisabled {
                param: "username".to_owned(),
            },
            CoreError::PasswordTooShort { min: 8 },
            CoreError::PasswordTooLong { max: 72 },
            CoreError::PasswordNotStrongEnough,
            CoreError::PasswordPwned,
            CoreError::UsernameInvalidLength { min: 4, max: 64 },
            CoreError::UsernameInvalidCharacter,
            CoreError::UsernameNeedsNonNumber,
            CoreError::FeatureUnavailable {
                feature: "organizations",
            },
            CoreError::RateLimited {
                retry_after_secs: 7,
            },
            CoreError::Config("bad".to_owned()),
            CoreError::Internal("secret detail".to_owned()),
            CoreError::Store(StoreError::Corrupt("secret detail".to_owned())),
        ];
        errors.extend(ErrorCode::ALL.iter().map(|&code| CoreError::NotAllowed {
            code,
            detail: "why".to_owned(),
        }));
        for err in errors {
            let code = err.code();
            let param = err.param().map(str::to_owned);
            let rate_limited = matches!(err, CoreError::RateLimited { .. });
            let (status, retry_after, body) = answer(ApiError::from(err)).await;
            check_envelope(code, status, &body);
            let meta_param = body["errors"][0]["meta"]["param_name"].as_str();
            assert_eq!(meta_param, param.as_deref(), "{code:?}");
            if param.is_none() {
                assert_eq!(meta_param, None);
            }
            assert_eq!(retry_after.is_some(), rate_limited, "{code:?}");
            if code == ErrorCode::InternalClerkError {
                assert!(!body.to_string().contains("secret detail"));
            }
        }
    }
}
