//! Services behind the Frontend API: clients (one per browser, identified by
//! a rotating token), sign-up and sign-in attempts, and session switching.

pub mod client_cache;
pub mod clients;
pub mod handshake;
pub mod identifications;
pub mod me;
pub mod sign_ins;
pub mod sign_ups;

/// Request facts recorded on sessions.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// Client IP.
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// The page's Origin (token `azp`).
    pub origin: Option<String>,
    /// City, as a trusted proxy named it.
    pub city: Option<String>,
    /// Country (ISO 3166 alpha-2), as a trusted proxy named it.
    pub country: Option<String>,
}
