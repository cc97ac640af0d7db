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
pub mod client_ip;
pub mod error;
pub mod extract;
pub mod fapi;
pub mod public;
pub mod wire;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tessera_core::Core;
use tower_http::catch_panic::CatchPanicLayer;

use error::{ApiError, InternalErrorDetail};
use fapi::transport::Cors;

/// Largest request body accepted (profile images included).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// What every request passes through, as one middleware (one boxed future
/// per request): the client IP and user agent known to the services for the
/// events they emit (`event_attributes.http_request`), credentialed CORS on the
/// Frontend API, the caller's client on Frontend API error answers
/// (`meta.client`), and internal errors logged with their method and path.
async fn edge(State(core): State<Core>, req: axum::extract::Request, next: Next) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let info = tessera_core::frontend::RequestInfo {
        ip: fapi::context::client_ip(req.extensions(), req.headers()),
        user_agent: req
            .headers()
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        origin: None,
    };
    let response = tessera_core::webhooks::events::with_request(info, async move {
        let echo = match Cors::check(&core, &req) {
            Cors::Answer(response) => return response,
            Cors::Echo(origin) => Some(origin),
            Cors::None => None,
        };
        let caller = fapi::error_client::caller_headers(&req);
        let response = next.run(req).await;
        let mut response = fapi::error_client::attach(&core, caller, response).await;
        if let Some(origin) = echo {
            Cors::apply(&origin, &mut response);
        }
        response
    })
    .await;
    if let Some(InternalErrorDetail(detail)) = response.extensions().get::<InternalErrorDetail>() {
        let path = uri.path();
        tracing::error!(%method, %path, "internal error: {detail}");
    }
    response
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let mut err = ApiError::new(
        "internal_clerk_error",
        "Oops, an unexpected error occurred",
        "An unexpected error occurred.",
    );
    err.status = StatusCode::INTERNAL_SERVER_ERROR;
    err.internal = Some("handler panicked".to_owned());
    err.into_response()
}

/// Deployment options of the HTTP layer.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: client_ip::TrustedProxies,
}

/// The whole application router (routing happens after [`fapi::transport::rewrite`]).
pub fn router(core: Core, options: HttpOptions) -> Router {
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/.well-known/jwks.json", get(public::well_known_jwks))
        .route("/v1/images/users/{user_id}", get(public::user_image))
        .nest("/v1", bapi::router::routes().merge(fapi::router::routes()))
        .fallback(public::route_not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(core.clone(), edge))
        .layer(axum::Extension(options.trusted_proxies))
        .with_state(core)
}

/// The service to serve: method tunnelling and trailing-slash removal happen
/// before routing, so `POST …?_method=PATCH` reaches the PATCH route.
pub fn app(core: Core, options: HttpOptions) -> App {
    tower::Layer::layer(
        &tower::util::MapRequestLayer::new(fapi::transport::rewrite as Rewrite),
        router(core, options),
    )
}

type Rewrite = fn(axum::extract::Request) -> axum::extract::Request;

/// The application as one service.
pub type App = tower::util::MapRequest<Router, Rewrite>;
