//! Tessera's domain: identifiers, the instance settings document and the pure
//! rules that decide what is valid. No IO, no async, no clock: callers pass the
//! time in. Every other Tessera crate depends on this one; it depends on none.

pub mod error_code;
pub mod identifiers;
pub mod ids;
#[macro_use]
pub mod kinds;
pub mod metadata;
pub mod mfa;
pub mod organizations;
pub mod reverification;
pub mod settings;
pub mod sign_in;
pub mod sign_up;
pub mod tasks;
pub mod verification;
