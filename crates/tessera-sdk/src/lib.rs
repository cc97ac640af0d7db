//! Verify Tessera session tokens in Rust apps, without calling the server per request.
//!
//! Tessera signs Clerk-compatible v2 session tokens (RS256 JWTs, 60 s) and
//! publishes its keys as a JWKS. A [`Verifier`] fetches that JWKS once, caches
//! it, refetches it when a token names an unknown key (rate-limited) or when it
//! gets old, and checks signature, lifetime (with a clock skew), issuer and
//! authorized parties, giving typed [`Claims`]. With the default `axum`
//! feature, [`axum::Auth`], [`axum::OptionalAuth`] and [`axum::AuthLayer`]
//! authenticate axum handlers and answer refusals in Clerk's error envelope.
//!
//! This crate is a client: it talks to a Tessera server only over HTTP (the
//! JWKS) and must not depend on the server's crates (`tessera-core`,
//! `tessera-store`, `tessera-http`, `tessera-domain`). Its tests use the
//! `tessera` crate, as a dev-dependency only, to run a real server.

mod builder;
mod cache;
mod claims;
mod clock;
mod error;
mod jwks;
mod verifier;

#[cfg(feature = "axum")]
pub mod axum;

pub use builder::{
    VerifierBuilder, DEFAULT_CLOCK_SKEW, DEFAULT_MAX_STALE, DEFAULT_REFETCH_INTERVAL,
    DEFAULT_REFRESH_INTERVAL,
};
pub use claims::{Claims, FactorVerificationAge, OrgClaims, SessionStatus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{VerifyError, VerifyResult};
pub use verifier::Verifier;
