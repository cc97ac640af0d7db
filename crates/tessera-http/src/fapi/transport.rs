//! How clerk-js talks to the Frontend API: method tunnelling (`POST …?_method=PATCH`),
//! trailing slashes, credentialed CORS from the app's origin, and form bodies.

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_core::passwords::Password;
use tessera_core::{Core, CoreError};
use tessera_domain::error_code::ErrorCode;
use tessera_domain::verification::Strategy;

use crate::error::ApiError;
use crate::proxy::PublicUrl;

/// Paths served to browsers (the Frontend API), as opposed to the Backend API.
pub fn is_fapi_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/v1/") else {
        return path.starts_with("/.well-known/");
    };
    [
        "environment",
        "client",
        "me",
        "dev_browser",
        "proxy-health",
        "organizations",
    ]
    .iter()
    .any(|p| {
        rest.strip_prefix(p)
            .is_some_and(|after| after.is_empty() || after.starts_with(['/', '?']))
    })
}

/// Rewrites the request before routing: `POST` with `_method=PATCH|PUT|DELETE`
/// becomes that method, and a trailing slash is dropped (clerk-js posts to
/// `/v1/me/email_addresses/`).
pub fn rewrite(mut req: Request) -> Request {
    let uri = req.uri().clone();
    let path = uri.path();
    let mut new_path = None;
    if path.len() > 1 && path.ends_with('/') {
        new_path = Some(path.trim_end_matches('/').to_owned());
    }
    if req.method() == Method::POST {
        let tunnelled = uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "_method")
                .map(|(_, v)| v.to_ascii_uppercase())
        });
        match tunnelled.as_deref() {
            Some("PATCH") => *req.method_mut() = Method::PATCH,
            Some("PUT") => *req.method_mut() = Method::PUT,
            Some("DELETE") => *req.method_mut() = Method::DELETE,
            _ => {}
        }
    }
    if let Some(p) = new_path {
        let rebuilt = match uri.query() {
            Some(q) => format!("{p}?{q}"),
            None => p,
        };
        if let Ok(u) = rebuilt.parse() {
            *req.uri_mut() = u;
        }
    }
    req
}

pub(crate) fn origin_allowed(core: &Core, origin: &str) -> bool {
    let inst = core.instance();
    if inst.environment == tessera_domain::settings::EnvironmentType::Development {
        return true;
    }
    origin == core.frontend_url
        || inst
            .settings
            .instance
            .allowed_origins
            .iter()
            .any(|o| o == origin)
}

/// A passkey ceremony is bound to the page that runs it: the request must
/// come from a page (an `Origin`). [`Cors::check`] has refused origins the
/// instance does not allow (its own, `allowed_origins`, the app's proxy)
/// before any handler runs.
pub(crate) fn passkey_origin(
    info: &tessera_core::request::RequestInfo,
) -> Result<(), crate::error::ApiError> {
    match info.origin.as_deref() {
        Some(_) => Ok(()),
        _ => Err(crate::error::ApiError::invalid(
            "origin",
            "passkeys can only be used from a page on an origin this instance allows",
        )),
    }
}

/// Whether `url` is an http(s) URL on an origin the instance allows (where a
/// redirect may send the browser).
pub(crate) fn redirect_allowed(core: &Core, url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && origin_allowed(core, &u.origin().ascii_serialization())
    })
}

/// For `strategy=email_link`: the `redirect_url` the link returns to, which
/// must be on an allowed origin (and email links must be on); `None` for
/// other strategies.
pub(crate) fn link_redirect(
    core: &Core,
    form: &Form,
    strategy: tessera_domain::verification::Strategy,
) -> Result<Option<String>, crate::error::ApiError> {
    use crate::error::ApiError;
    if strategy != tessera_domain::verification::Strategy::EmailLink {
        return Ok(None);
    }
    if !core.instance().settings.user.email_link_enabled {
        return Err(ApiError::invalid(
            "strategy",
            "email links are not turned on for this instance",
        ));
    }
    let url = form.required_text("redirect_url")?;
    if !redirect_allowed(core, &url) {
        return Err(ApiError::invalid(
            "redirect_url",
            "must be a URL on an origin this instance allows",
        ));
    }
    Ok(Some(url))
}

fn cors_headers(headers: &mut HeaderMap, origin: &HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("x-country, retry-after, clerk-db-jwt, authorization"),
    );
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// What credentialed CORS makes of a request.
pub enum Cors {
    /// Not a Frontend API request from a page: nothing to add.
    None,
    /// Answered here: a refused origin, or a preflight.
    Answer(Response),
    /// Run it and echo this allowed origin on the answer ([`Cors::apply`]).
    Echo(HeaderValue),
}

impl Cors {
    /// Credentialed CORS: the exact Origin is echoed, on every answer (errors,
    /// unknown routes, images included), when the instance allows it (or it is
    /// the origin of the app's proxy the request came through);
    /// preflights are answered here. On Frontend API paths a refused origin is
    /// answered here too (`origin_invalid`); elsewhere it only gets no CORS
    /// headers, so server-side callers are unaffected.
    pub fn check(core: &Core, req: &Request) -> Self {
        let Some(origin) = req.headers().get(header::ORIGIN) else {
            return Self::None;
        };
        // The origin of the app's own proxy is vouched for by its secret key.
        let allowed = origin.to_str().is_ok_and(|o| {
            origin_allowed(core, o)
                || PublicUrl::of(core, req.headers()).proxied_origin() == Some(o)
        });
        if !allowed && !is_fapi_path(req.uri().path()) {
            return Self::None;
        }
        if !allowed {
            return Self::Answer(
                ApiError::new(
                    ErrorCode::OriginInvalid,
                    "Invalid origin",
                    "This origin is not allowed to use this instance's Frontend API; add it to allowed_origins.",
                )
                .into_response(),
            );
        }
        if req.method() != Method::OPTIONS {
            return Self::Echo(origin.clone());
        }
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let h = resp.headers_mut();
        cors_headers(h, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PATCH, PUT, DELETE"),
        );
        if let Some(asked) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
        }
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        Self::Answer(resp)
    }

    /// Adds the CORS headers of an echoed origin to `response`.
    pub fn apply(origin: &HeaderValue, response: &mut Response) {
        cors_headers(response.headers_mut(), origin);
    }
}

/// A Frontend API body: form-encoded (what clerk-js sends), JSON, or empty.
/// Arrays arrive as repeated keys; nested objects as JSON strings.
#[derive(Debug, Default, Clone)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `key` (clerk-js sends `null` as an empty string).
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    /// [`Form::text`], or a `form_param_missing` error naming `key`.
    pub fn required_text(&self, key: &str) -> Result<String, ApiError> {
        self.text(key)
            .ok_or_else(|| ApiError::from(CoreError::missing(key)))
    }

    /// The strategy in `strategy`, if given: one this server knows, or a
    /// `form_param_value_invalid` error naming it.
    pub fn strategy(&self) -> Result<Option<Strategy>, ApiError> {
        self.text("strategy")
            .map(|raw| {
                Strategy::parse(&raw).ok_or_else(|| {
                    ApiError::from(CoreError::value(
                        "strategy",
                        format!("{raw} is not supported"),
                    ))
                })
            })
            .transpose()
    }

    /// The strategy in `strategy`, or a `form_param_missing` error.
    pub fn required_strategy(&self) -> Result<Strategy, ApiError> {
        self.strategy()?
            .ok_or_else(|| ApiError::from(CoreError::missing("strategy")))
    }

    /// The password in `key` as sent (even empty, so that the rules judge it),
    /// or a `form_param_missing` error naming `key`.
    pub fn required_password(&self, key: &str) -> Result<Password, ApiError> {
        self.get(key)
            .map(|p| Password::new(p.to_owned()))
            .ok_or_else(|| ApiError::from(CoreError::missing(key)))
    }

    /// A boolean (`true`/`false`).
    pub fn flag(&self, key: &str) -> Option<bool> {
        match self.get(key) {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        }
    }

    /// A JSON object sent as a string (e.g. `unsafe_metadata`).
    pub fn json_object(
        &self,
        key: &str,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, ApiError> {
        match self.text(key) {
            None => Ok(None),
            Some(raw) => match serde_json::from_str::<serde_json::Value>(&raw) {
                Ok(serde_json::Value::Object(map)) => Ok(Some(map)),
                _ => Err(ApiError::invalid(key, "must be a JSON object")),
            },
        }
    }
}

fn json_to_pairs(value: serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            match v {
                serde_json::Value::Null => out.push((k, String::new())),
                serde_json::Value::String(s) => out.push((k, s)),
                serde_json::Value::Array(items) => {
                    for item in items {
                        out.push((
                            k.clone(),
                            item.as_str()
                                .map_or_else(|| item.to_string(), str::to_owned),
                        ));
                    }
                }
                other => out.push((k, other.to_string())),
            }
        }
    }
    out
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        let bytes = crate::extract::body_bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let pairs = if is_json {
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|e| crate::extract::json_error(&e))?;
            json_to_pairs(value)
        } else {
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes).map_err(|e| {
                ApiError::bad_body(format!("The request body is not form-encoded: {e}"))
            })?
        };
        crate::extract::refuse_nul_pairs(&pairs)?;
        Ok(Self(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forms_past_the_body_limit_are_413_and_nul_is_refused() {
        let big = Request::post("/v1/client/sign_ins")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(vec![b'a'; 3 * 1024 * 1024]))
            .unwrap();
        let err = Form::from_request(big, &()).await.unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(err.code, ErrorCode::RequestBodyTooLarge);

        let nul = Request::post("/v1/client/sign_ins")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("identifier=a%00b"))
            .unwrap();
        let err = Form::from_request(nul, &()).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::FormParamFormatInvalid);
        assert_eq!(err.meta["param_name"], "identifier");
    }

    #[test]
    fn fapi_paths() {
        assert!(is_fapi_path("/v1/client"));
        assert!(is_fapi_path("/v1/client/sign_ups/sua_1"));
        assert!(is_fapi_path("/v1/me/email_addresses"));
        assert!(is_fapi_path("/v1/environment"));
        assert!(!is_fapi_path("/v1/users"));
        assert!(!is_fapi_path("/v1/clients"));
        assert!(!is_fapi_path("/v1/sessions"));
        assert!(is_fapi_path("/v1/me?_clerk_js_version=6"));
        assert!(!is_fapi_path("/v1/meta"));
    }

    #[test]
    fn tunnelled_methods_and_trailing_slashes() {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/v1/environment?_clerk_js_version=6&_method=PATCH")
            .body(Body::empty())
            .unwrap();
        let req = rewrite(req);
        assert_eq!(req.method(), Method::PATCH);
        let req = Request::builder()
            .method(Method::POST)
            .uri("/v1/me/email_addresses/?x=1")
            .body(Body::empty())
            .unwrap();
        let req = rewrite(req);
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), "/v1/me/email_addresses?x=1");
    }
}
