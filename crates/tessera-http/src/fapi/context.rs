//! The Frontend API caller: its client (from the `__client` cookie, or the raw
//! token in `Authorization` for native apps), its Origin and user agent.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use tessera_core::frontend::RequestInfo;
use tessera_core::sessions::ClientView;
use tessera_core::Core;
use tessera_domain::error_code::ErrorCode;

use super::cookies::{self, CLIENT_COOKIE};
use crate::client_ip::TrustedProxies;
use crate::error::ApiError;
use crate::extract::header_text;

/// The calling browser or device.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Its client, when its token is known.
    pub client: Option<ClientView>,
    /// Origin, user agent, IP.
    pub info: RequestInfo,
}

/// The caller's client token: the `__client` cookie, or (native apps) the raw
/// token in `Authorization` — never a secret key.
pub fn client_token(headers: &HeaderMap) -> Option<String> {
    cookies::read(headers.get(header::COOKIE), CLIENT_COOKIE).or_else(|| {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_start_matches("Bearer ").trim().to_owned())
            .filter(|v| !v.is_empty() && !v.starts_with("sk_"))
    })
}

/// The TCP peer's address.
pub fn peer(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

/// The peer address, or the client named in `X-Forwarded-For` by a trusted proxy.
pub fn peer_ip(
    extensions: &axum::http::Extensions,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<String> {
    peer(extensions).map(|ip| trusted.client_ip(ip, headers).to_string())
}

impl FromRequestParts<Core> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, core: &Core) -> Result<Self, ApiError> {
        let client = match client_token(&parts.headers) {
            Some(t) => core.sessions().client_for_token(&t).await?,
            None => None,
        };
        // The IP and user agent as the edge read them (behind trusted proxies too).
        let mut info =
            tessera_core::webhooks::events::current_request().unwrap_or_else(|| RequestInfo {
                ip: peer_ip(
                    &parts.extensions,
                    &parts.headers,
                    &TrustedProxies::default(),
                ),
                user_agent: header_text(&parts.headers, header::USER_AGENT),
                ..RequestInfo::default()
            });
        info.origin = header_text(&parts.headers, header::ORIGIN);
        Ok(Self { client, info })
    }
}

impl Caller {
    /// The client, or Clerk's error for a request that needs one.
    pub fn require_client(&self) -> Result<&ClientView, ApiError> {
        self.client.as_ref().ok_or_else(no_client)
    }
}

/// Clerk's error for a request that needs a client and has none.
pub fn no_client() -> ApiError {
    ApiError::new(
        ErrorCode::ClientNotFound,
        "No client",
        "This request needs a client; none is known for this browser (the __client cookie is missing or expired).",
    )
}

/// The caller of a token refresh: its client token and Origin, its client
/// not loaded (the service reads it in place).
#[derive(Debug)]
pub struct TokenCaller {
    /// See [`client_token`].
    pub client_token: Option<String>,
    /// The `Origin` header (the token's `azp`).
    pub origin: Option<String>,
}

impl<S: Sync> FromRequestParts<S> for TokenCaller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            client_token: client_token(&parts.headers),
            origin: header_text(&parts.headers, header::ORIGIN),
        })
    }
}
