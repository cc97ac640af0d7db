//! Paths both APIs serve: Clerk's SDKs call `/v1/organizations…` with the
//! secret key (the Backend API) and from the browser with a client (the
//! Frontend API). A request that carries a secret key goes to the Backend
//! API's routes for them, any other to the application's router, where the
//! Frontend API's routes are.

use axum::extract::Request;
use axum::http::{header, HeaderMap};
use axum::Router;
use tessera_core::Core;

/// Whether the request authenticates with a secret key (`Bearer sk_…`).
fn carries_secret_key(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::extract::bearer)
        .is_some_and(|token| token.starts_with("sk_"))
}

/// Whether `path` is one both APIs serve.
fn is_shared(path: &str) -> bool {
    path.strip_prefix("/v1/organizations")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether the request is a Backend API call on a shared path.
pub fn is_backend_call(req: &Request) -> bool {
    is_shared(req.uri().path()) && carries_secret_key(req.headers())
}

/// The Backend API's routes of the shared paths.
pub fn backend_router(core: Core) -> Router {
    crate::bapi::router::organization_routes()
        .fallback(crate::public::route_not_found)
        .with_state(core)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_secret_key_means_the_backend_api() {
        let mut h = HeaderMap::new();
        assert!(!carries_secret_key(&h));
        h.insert(header::AUTHORIZATION, "Bearer sk_test_abc".parse().unwrap());
        assert!(carries_secret_key(&h));
        h.insert(header::AUTHORIZATION, "Bearer 0123abcd".parse().unwrap());
        assert!(!carries_secret_key(&h), "a native app's client token");
    }

    #[test]
    fn shared_paths() {
        assert!(is_shared("/v1/organizations"));
        assert!(is_shared("/v1/organizations/org_1/memberships"));
        assert!(!is_shared("/v1/organizations_x"));
        assert!(!is_shared("/v1/organization_memberships"));
    }
}
