//! [`VerifyError`]: why a token was refused or a verifier could not be built.
//!
//! Every variant but [`VerifyError::JwksUnavailable`] and
//! [`VerifyError::InvalidKey`] is the token's fault (the axum rejection answers
//! 401); those two are the deployment's (503 and a build error).

/// The result of verifying a token.
pub type VerifyResult<T> = Result<T, VerifyError>;

/// Why a session token was refused, or why a [`crate::Verifier`] could not work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a JWT, or a JWT without the claims of a session token.
    #[error("malformed session token: {0}")]
    Malformed(String),
    /// The header names an algorithm other than RS256 (session tokens are always RS256).
    #[error("session token algorithm {0} is not accepted (only RS256)")]
    UnsupportedAlgorithm(String),
    /// The signature does not match the key named by `kid`.
    #[error("session token signature is invalid")]
    BadSignature,
    /// The `kid` is not in the JWKS, even after refetching it (or a refetch was
    /// not allowed yet by the rate limit).
    #[error("session token is signed by an unknown key {kid:?}")]
    UnknownKey {
        /// The key id from the token header.
        kid: String,
    },
    /// `exp` has passed (beyond the allowed clock skew).
    #[error("session token expired at {expired_at} (now {now})")]
    Expired {
        /// The token's `exp`, in seconds since the Unix epoch.
        expired_at: i64,
        /// The verifier's time, in seconds since the Unix epoch.
        now: i64,
    },
    /// `nbf` or `iat` is still in the future (beyond the allowed clock skew).
    #[error("session token is not valid before {not_before} (now {now})")]
    NotYetValid {
        /// The token's `nbf` (or `iat`), in seconds since the Unix epoch.
        not_before: i64,
        /// The verifier's time, in seconds since the Unix epoch.
        now: i64,
    },
    /// `azp` is not one of the configured authorized parties.
    #[error("session token authorized party {azp:?} is not accepted")]
    UnauthorizedParty {
        /// The token's `azp`.
        azp: String,
    },
    /// `iss` is not the configured issuer.
    #[error("session token issuer {iss:?} is not accepted")]
    IssuerMismatch {
        /// The token's `iss`.
        iss: String,
    },
    /// The session is `pending` (it still has tasks to finish) and the verifier
    /// treats pending sessions as signed out, as Clerk's SDKs do by default.
    #[error("the session is pending")]
    SessionPending,
    /// The JWKS could not be fetched and no usable cached copy exists.
    #[error("the JWKS is unavailable: {0}")]
    JwksUnavailable(String),
    /// The configured key (PEM) or a fetched JWKS holds no usable RSA key.
    #[error("invalid verification key: {0}")]
    InvalidKey(String),
}

impl VerifyError {
    /// Whether the failure is the token's (as opposed to the verifier's setup or the network).
    pub fn is_token_error(&self) -> bool {
        !matches!(self, Self::JwksUnavailable(_) | Self::InvalidKey(_))
    }
}
