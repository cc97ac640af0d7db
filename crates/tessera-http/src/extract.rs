//! Extractors that fail with Clerk's error envelope instead of axum's plain text.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use tessera_core::Core;
use tessera_domain::error_code::ErrorCode;

use crate::error::ApiError;

/// The first `name` header as text, if it is readable text.
pub fn header_text(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The token of an `Authorization: Bearer …` value, trimmed.
pub fn bearer(authorization: &str) -> Option<&str> {
    authorization
        .strip_prefix("Bearer ")
        .or_else(|| authorization.strip_prefix("bearer "))
        .map(str::trim)
}

/// The request carried the instance's secret key as a bearer token.
#[derive(Debug, Clone, Copy)]
pub struct SecretKeyAuth;

impl FromRequestParts<Core> for SecretKeyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, core: &Core) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::AuthenticationInvalid,
                    "Invalid authentication",
                    "Unable to authenticate the request, you need to supply an active secret key \
                     in the Authorization header as `Bearer sk_...`",
                )
            })?;
        let token = bearer(header).unwrap_or_default();
        if core.check_secret_key(token) {
            Ok(Self)
        } else {
            Err(ApiError::new(
                ErrorCode::ClerkKeyInvalid,
                "The provided secret key is invalid",
                "The secret key in the Authorization header is not this instance's secret key.",
            ))
        }
    }
}

/// A JSON body; an empty body reads as `{}`. Syntax errors are 400, type and
/// unknown-field errors 422 naming the parameter.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Turns a serde_json error into Clerk's envelope.
pub fn json_error(err: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let text = err.to_string();
    match err.classify() {
        Category::Data => {
            if let Some(field) = text
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split('`').next())
            {
                ApiError::new(
                    ErrorCode::FormParamUnknown,
                    "is unknown",
                    format!("{field} is not a valid parameter for this request."),
                )
                .param(field)
            } else if let Some(field) = text
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
            {
                ApiError::new(
                    ErrorCode::FormParamMissing,
                    "is missing",
                    format!("{field} must be included."),
                )
                .param(field)
            } else {
                ApiError::new(
                    ErrorCode::FormParamFormatInvalid,
                    "is invalid",
                    format!("Invalid request body: {text}"),
                )
            }
        }
        _ => ApiError::bad_body(format!("The request body is not valid JSON: {text}")),
    }
}

/// Refuses text with a NUL character (U+0000): no backend stores one alike
/// (PostgreSQL refuses it, SQLite keeps it), and no identifier, name or
/// filter has one. `form_param_format_invalid` naming the parameter.
pub fn refuse_nul(param: &str, value: &str) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(ApiError::invalid(param, "must not contain a NUL character"));
    }
    Ok(())
}

/// Every key and value of `pairs` without NUL characters.
pub fn refuse_nul_pairs(pairs: &[(String, String)]) -> Result<(), ApiError> {
    for (key, value) in pairs {
        refuse_nul(key, key)?;
        refuse_nul(key, value)?;
    }
    Ok(())
}

/// The first string of a JSON document holding a NUL, named by its nearest key.
fn nul_in_json<'a>(value: &'a serde_json::Value, key: &'a str) -> Option<&'a str> {
    match value {
        serde_json::Value::String(s) => s.contains('\0').then_some(key),
        serde_json::Value::Array(items) => items.iter().find_map(|v| nul_in_json(v, key)),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                Some(k.as_str())
            } else {
                nul_in_json(v, k)
            }
        }),
        _ => None,
    }
}

/// Parses JSON bytes (empty = `{}`) into `T`. A NUL anywhere in the document
/// (it can only arrive escaped, as `\u0000`) is refused naming its key.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    parse_json_opening(bytes, b'{', "The request body must be a JSON object.")
}

/// Parses a JSON array body (bulk endpoints), with the checks of [`parse_json`].
pub fn parse_json_array<T: DeserializeOwned>(bytes: &[u8]) -> Result<Vec<T>, ApiError> {
    parse_json_opening(bytes, b'[', "The request body must be a JSON array.")
}

fn parse_json_opening<T: DeserializeOwned>(
    bytes: &[u8],
    opening: u8,
    expected: &str,
) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&opening) {
        return Err(ApiError::new(
            ErrorCode::FormParamFormatInvalid,
            "is invalid",
            expected,
        ));
    }
    if bytes.windows(6).any(|w| w == b"\\u0000") {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| json_error(&e))?;
        if let Some(key) = nul_in_json(&value, "body") {
            return Err(ApiError::invalid(key, "must not contain a NUL character"));
        }
    }
    serde_json::from_slice(bytes).map_err(|e| json_error(&e))
}

/// A JSON array body, read like [`JsonBody`].
pub struct JsonArray<T>(pub Vec<T>);

impl<T: DeserializeOwned> FromRequest<Core> for JsonArray<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, core: &Core) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, core).await?;
        parse_json_array(&bytes).map(JsonArray)
    }
}

impl<T: DeserializeOwned> FromRequest<Core> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, core: &Core) -> Result<Self, ApiError> {
        let bytes = body_bytes(req, core).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The request body, or 413 `request_body_too_large` past the body limit
/// and 400 when it cannot be read.
pub async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::RequestBodyTooLarge,
                "request body too large",
                "The request body is too large.",
            )
        } else {
            ApiError::bad_body(rejection.body_text())
        }
    })
}

/// The query string as ordered key/value pairs (repeated keys kept).
#[derive(Debug, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(raw).map_err(|e| {
            ApiError::new(
                ErrorCode::FormParamFormatInvalid,
                "is invalid",
                format!("Invalid query string: {e}"),
            )
        })?;
        refuse_nul_pairs(&pairs)?;
        Ok(QueryPairs(pairs))
    }
}

impl QueryPairs {
    /// Every value of `key`; `key[]` counts too.
    pub fn all(&self, key: &str) -> Vec<String> {
        let bracketed = format!("{key}[]");
        self.0
            .iter()
            .filter(|(k, _)| k == key || *k == bracketed)
            .flat_map(|(_, v)| v.split(',').map(str::to_owned).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The first value of `key`.
    pub fn first(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// An integer parameter within bounds.
    pub fn int(&self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        match self.first(key) {
            None => Ok(None),
            Some(raw) if raw.is_empty() => Ok(None),
            Some(raw) => {
                let n: i64 = raw
                    .parse()
                    .map_err(|_| ApiError::invalid(key, "must be an integer"))?;
                if n < min || n > max {
                    return Err(ApiError::invalid(
                        key,
                        format!("must be between {min} and {max}"),
                    ));
                }
                Ok(Some(n))
            }
        }
    }

    /// A boolean parameter.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.first(key).as_deref() {
            None | Some("") => Ok(None),
            Some("true" | "1") => Ok(Some(true)),
            Some("false" | "0") => Ok(Some(false)),
            Some(_) => Err(ApiError::invalid(key, "must be true or false")),
        }
    }

    /// `limit` (1..=500, default 10) and `offset` (>= 0, default 0).
    pub fn page(&self) -> Result<(i64, i64), ApiError> {
        let limit = self.int("limit", 1, 500)?.unwrap_or(10);
        let offset = self.int("offset", 0, i64::from(i32::MAX))?.unwrap_or(0);
        Ok((limit, offset))
    }
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(de).map(Some)
}

/// Parses an RFC 3339 timestamp into epoch milliseconds.
pub fn rfc3339_ms(param: &str, raw: &str) -> Result<i64, ApiError> {
    let t = humantime::parse_rfc3339_weak(raw.trim_end_matches('Z').trim())
        .or_else(|_| humantime::parse_rfc3339(raw))
        .map_err(|_| {
            ApiError::invalid(
                param,
                "must be an RFC 3339 timestamp such as 2024-01-31T12:00:00Z",
            )
        })?;
    let ms = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| ApiError::invalid(param, "must be after 1970"))?
        .as_millis();
    i64::try_from(ms).map_err(|_| ApiError::invalid(param, "is out of range"))
}
