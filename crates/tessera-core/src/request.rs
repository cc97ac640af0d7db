//! What services record about the request that caused a change.

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
