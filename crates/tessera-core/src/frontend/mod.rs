//! Services behind the Frontend API: clients (one per browser, identified by
//! a rotating token), sign-up and sign-in attempts, and session switching.

pub mod client_cache;
pub mod clients;
pub mod handshake;
pub mod identifications;
pub mod me;
pub mod sign_ins;
pub mod sign_ups;
pub mod snapshot;

pub use crate::request::RequestInfo;
