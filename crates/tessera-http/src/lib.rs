#![recursion_limit = "256"]
#![expect(
    clippy::result_large_err,
    reason = "ApiError is built once per failed request; boxing it buys nothing measurable"
)]
//! Tessera's HTTP surface: the Backend API, the public routes and Clerk's
//! wire JSON. Handlers extract and validate input, call one service of
//! `tessera-core`, and render the result; they hold no SQL and no business rule.
//! Every error leaves through [`error::ApiError`] in Clerk's envelope.

pub mod bapi;
pub mod bundles;
pub mod client_ip;
pub mod error;
pub mod extract;
pub mod fapi;
pub mod pages;
pub mod proxy;
pub mod public;
pub mod shared;
pub mod wire;

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tessera_domain::error_code::ErrorCode;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tessera_core::Core;

use error::{ApiError, InternalErrorDetail};
use fapi::transport::Cors;

/// Largest request body accepted (profile images included).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// What every request passes through before and after routing, in one place
/// (one boxed future per request): the client IP and user agent, known to the
/// services for the events they emit (`event_attributes.http_request`) and to
/// the Frontend API's [`fapi::context::Caller`]; credentialed CORS on the
/// Frontend API; a panicking handler turned into Clerk's 500 envelope; the
/// caller's client on Frontend API error answers (`meta.client`); and internal
/// errors logged with their method and path.
async fn edge(core: Core, options: Arc<HttpOptions>, mut req: Request, router: Router) -> Response {
    let trusted = &options.trusted_proxies;
    if let Some(bundles) = options.bundles.as_ref() {
        if req.uri().path().starts_with("/npm/") {
            req.extensions_mut().insert(bundles.clone());
        }
    }
    // Only a trusted proxy names a location; without one configured, no lookup at all.
    let (city, country) = if trusted.is_empty() {
        (None, None)
    } else {
        fapi::context::peer(req.extensions()).map_or((None, None), |peer| {
            trusted.client_location(peer, req.headers())
        })
    };
    let info = tessera_core::frontend::RequestInfo {
        ip: fapi::context::peer_ip(req.extensions(), req.headers(), trusted),
        user_agent: extract::header_text(req.headers(), axum::http::header::USER_AGENT),
        origin: None,
        city,
        country,
    };
    tessera_core::webhooks::events::with_request(info, async move {
        let echo = match Cors::check(&core, &req) {
            Cors::Answer(response) => return response,
            Cors::Echo(origin) => Some(origin),
            Cors::None => None,
        };
        let (method, uri) = (req.method().clone(), req.uri().clone());
        let req = match refuse_early(req, options.request_timeout).await {
            Ok(req) => req,
            Err(refused) => {
                let mut response = refused.into_response();
                if let Some(origin) = echo {
                    Cors::apply(&origin, &mut response);
                }
                return response;
            }
        };
        let caller = fapi::error_client::caller_headers(&req);
        let limited = tower::Layer::layer(&DefaultBodyLimit::max(MAX_BODY_BYTES), router);
        let routed = tokio::time::timeout(
            options.request_timeout,
            AssertUnwindSafe(tower::ServiceExt::oneshot(limited, req)).catch_unwind(),
        )
        .await;
        let response = match routed {
            Ok(Ok(Ok(response))) => response,
            Ok(Ok(Err(never))) => match never {},
            Ok(Err(_)) => panic_response(),
            Err(_) => ApiError::for_status(StatusCode::REQUEST_TIMEOUT).into_response(),
        };
        let response = enveloped(response).await;
        let mut response = fapi::error_client::attach(&core, caller, response).await;
        if let Some(origin) = echo {
            Cors::apply(&origin, &mut response);
        }
        if let Some(InternalErrorDetail(detail)) =
            response.extensions().get::<InternalErrorDetail>()
        {
            let path = uri.path();
            tracing::error!(%method, %path, "internal error: {detail}");
        }
        response
    })
    .await
}

/// Requests answered before routing: a path with a NUL character, which
/// names nothing (404; the stores would disagree on it), and a body announced
/// larger than the limit (413). One announced far larger is refused at once,
/// without waiting for bytes that may never come. One only somewhat too large
/// is read to its end and dropped first: answering while the client is still
/// sending would close the connection under its writes, and it would see a
/// reset instead of the 413.
async fn refuse_early(req: Request, timeout: Duration) -> Result<Request, ApiError> {
    if req.uri().path().contains("%00") {
        return Err(ApiError::not_found());
    }
    let announced = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(announced) = announced.filter(|&n| n > MAX_BODY_BYTES as u64) else {
        return Ok(req);
    };
    if announced <= 2 * MAX_BODY_BYTES as u64 {
        let mut body = req.into_body().into_data_stream();
        // The server holds the body to its announced length, so this ends.
        let _ = tokio::time::timeout(timeout, async {
            while let Some(Ok(_)) = body.next().await {}
        })
        .await;
    }
    Err(ApiError::new(
        ErrorCode::RequestBodyTooLarge,
        "request body too large",
        format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
    ))
}

/// Error answers that did not come from [`ApiError`] — axum's own 405s, its
/// extractors' plain-text rejections (multipart, path segments), a body limit —
/// rewritten into Clerk's envelope with the same status (and `Allow` kept).
async fn enveloped(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .filter(|t| !t.trim().is_empty());
    let mut err = ApiError::for_status(status);
    if let Some(text) = text {
        if status.is_server_error() {
            err.internal = Some(text);
        } else if err.code == ErrorCode::MalformedRequest
            || err.code == ErrorCode::UnsupportedMediaType
        {
            // The extractor's own words say what was wrong (a multipart boundary, a path segment).
            err.long_message = text;
        }
    }
    let mut out = err.into_response();
    if let Some(allow) = parts.headers.get(axum::http::header::ALLOW) {
        out.headers_mut()
            .insert(axum::http::header::ALLOW, allow.clone());
    }
    out
}

fn panic_response() -> Response {
    let mut err = ApiError::for_status(StatusCode::INTERNAL_SERVER_ERROR);
    err.internal = Some("handler panicked".to_owned());
    err.into_response()
}

/// Deployment options of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: client_ip::TrustedProxies,
    /// Time a request has, from its headers on, to arrive whole and be answered
    /// (408 `request_timeout` past it; 30 s by default).
    pub request_timeout: std::time::Duration,
    /// The browser bundles served under `/npm/…`, if any.
    pub bundles: Option<Arc<bundles::Bundles>>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            trusted_proxies: client_ip::TrustedProxies::default(),
            request_timeout: std::time::Duration::from_secs(30),
            bundles: None,
        }
    }
}

/// The application's routes, every one under its full path.
pub fn router(core: Core) -> Router {
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/v1/openapi.json", get(public::openapi))
        .route("/.well-known/jwks.json", get(public::well_known_jwks))
        .route("/v1/images/users/{user_id}", get(public::user_image))
        .route(
            "/v1/images/organizations/{organization_id}",
            get(public::organization_image),
        )
        .route("/npm/{*path}", get(bundles::serve))
        .route("/sign-in", get(pages::hosted))
        .route("/sign-in/{*rest}", get(pages::hosted))
        .route("/sign-up", get(pages::hosted))
        .route("/sign-up/{*rest}", get(pages::hosted))
        .route("/user", get(pages::hosted))
        .route("/user/{*rest}", get(pages::hosted))
        .route("/organization", get(pages::hosted))
        .route("/organization/{*rest}", get(pages::hosted))
        .route("/create-organization", get(pages::hosted))
        .route("/create-organization/{*rest}", get(pages::hosted))
        .route("/waitlist", get(pages::hosted))
        .route("/waitlist/{*rest}", get(pages::hosted))
        .merge(bapi::router::routes())
        .merge(fapi::router::routes())
        .merge(fapi::router::organization_routes())
        .fallback(public::route_not_found)
        .with_state(core)
}

/// The service to serve: method tunnelling and trailing-slash removal happen
/// before routing, so `POST …?_method=PATCH` reaches the PATCH route; then
/// [`edge`] and the router.
pub fn app(core: Core, options: HttpOptions) -> App {
    App {
        router: router(core.clone()),
        backend_shared: shared::backend_router(core.clone()),
        core,
        options: Arc::new(options),
    }
}

/// The application as one service (see [`app`]).
#[derive(Clone)]
pub struct App {
    core: Core,
    options: Arc<HttpOptions>,
    router: Router,
    /// The Backend API's routes of the paths both APIs serve ([`shared`]).
    backend_shared: Router,
}

impl tower::Service<Request> for App {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let req = fapi::transport::rewrite(req);
        let router = if shared::is_backend_call(&req) {
            self.backend_shared.clone()
        } else {
            self.router.clone()
        };
        let (core, options) = (self.core.clone(), self.options.clone());
        Box::pin(async move { Ok(edge(core, options, req, router).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_clerks_500_and_the_server_goes_on() {
        let dir = std::env::temp_dir().join(format!("tessera-http-edge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let core = tessera_core::instance::boot_for_test(&dir).await.unwrap();
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let router = Router::new()
            .route("/v1/boom", get(boom))
            .route("/v1/fine", get(|| async { "fine" }));
        let router = router.with_state(());
        let app = App {
            backend_shared: router.clone(),
            router,
            core,
            options: Arc::default(),
        };
        let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();

        let response = app.clone().oneshot(get("/v1/boom")).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errors"][0]["code"], "internal_clerk_error");
        assert!(
            !body.to_string().contains("boom"),
            "the panic message stays inside"
        );

        let response = app.oneshot(get("/v1/fine/")).await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "trailing slash dropped, next request served"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
