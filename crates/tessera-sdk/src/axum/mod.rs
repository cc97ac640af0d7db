//! axum integration: extractors, their rejection, and a tower layer.
//!
//! Two ways to wire it, mixable:
//!
//! - **Extractors with the verifier in the state.** Make [`Verifier`](crate::Verifier)
//!   reachable from the router state (`impl FromRef<AppState> for Verifier`, or the
//!   verifier itself as the state) and take [`Auth`] or [`OptionalAuth`] in handlers.
//! - **A layer.** [`AuthLayer`] verifies every request of the routes it wraps
//!   and puts the [`Claims`](crate::Claims) into the request extensions; handlers
//!   then take `Claims` (or `Option<Claims>`) directly, whatever the state.
//!
//! The token is read from `Authorization: Bearer <jwt>`, else from the
//! `__session` cookie (what clerk-js sets for same-site backends). Refusals are
//! Clerk's error envelope: 401 `authentication_invalid` for a missing or bad
//! token, 503 `service_unavailable` when the keys cannot be fetched.

mod extract;
mod layer;
mod rejection;
mod token;

pub use extract::{Auth, OptionalAuth};
pub use layer::{AuthLayer, AuthService};
pub use rejection::AuthRejection;
pub use token::{session_token, SESSION_COOKIE};
