//! [`Verifier`]: checks a session token's signature and claims with cached keys.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::cache::RemoteKeys;
use crate::claims::{self, Claims, SessionStatus};
use crate::clock::Clock;
use crate::error::{VerifyError, VerifyResult};

/// Verifies Tessera session tokens without a request to the server per token.
///
/// Cheap to clone (clones share the key cache); put one in the axum state or
/// an extension. Build it with [`Verifier::from_server_url`],
/// [`Verifier::from_jwks_url`] or [`Verifier::from_public_key_pem`].
///
/// ```no_run
/// # async fn run(token: &str) -> Result<(), tessera_sdk::VerifyError> {
/// use tessera_sdk::Verifier;
///
/// let verifier = Verifier::from_server_url("http://127.0.0.1:8080")
///     .authorized_parties(["http://localhost:3000"])
///     .build()?;
/// let claims = verifier.verify(token).await?;
/// println!("{} in {}", claims.user_id, claims.session_id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) keys: KeySource,
    pub(crate) options: Options,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) validation: Validation,
}

pub(crate) enum KeySource {
    Static(Arc<DecodingKey>),
    Remote(Box<RemoteKeys>),
}

/// What a verifier accepts and its JWKS schedule (all times in ms).
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) authorized_parties: Vec<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) clock_skew_ms: i64,
    pub(crate) refresh_interval_ms: i64,
    pub(crate) refetch_interval_ms: i64,
    pub(crate) max_stale_ms: i64,
    pub(crate) accept_pending: bool,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.inner.keys {
            KeySource::Static(_) => "<PEM public key>",
            KeySource::Remote(remote) => remote.url.as_str(),
        };
        f.debug_struct("Verifier")
            .field("source", &source)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Verifies `token` (the bare JWT) and returns its claims.
    ///
    /// Checks, in order: the JWT shape and RS256, the key (fetching the JWKS
    /// when needed), the signature, `exp`/`nbf`/`iat` within the clock skew,
    /// the issuer and authorized parties when configured, and the session status.
    pub async fn verify(&self, token: &str) -> VerifyResult<Claims> {
        let now = self.inner.clock.now_ms();
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| VerifyError::Malformed(format!("header: {e}")))?;
        if header.alg != Algorithm::RS256 {
            return Err(VerifyError::UnsupportedAlgorithm(format!(
                "{:?}",
                header.alg
            )));
        }
        let key = match &self.inner.keys {
            KeySource::Static(key) => Arc::clone(key),
            KeySource::Remote(remote) => {
                let kid = header
                    .kid
                    .ok_or_else(|| VerifyError::Malformed("the header has no kid".to_owned()))?;
                remote.key(&kid, now, &self.inner.options).await?
            }
        };
        let payload = jsonwebtoken::decode::<Value>(token, &key, &self.inner.validation).map_err(
            |e| match e.kind() {
                ErrorKind::InvalidSignature => VerifyError::BadSignature,
                _ => VerifyError::Malformed(e.to_string()),
            },
        )?;
        let claims = claims::parse(payload.claims)?;
        self.check(&claims, now)?;
        Ok(claims)
    }

    /// The checks that follow a good signature. Clerk's rules: expired when
    /// `exp <= now - skew`; too early when `nbf` or `iat` `> now + skew`; an
    /// `azp` is only compared when present and parties are configured.
    fn check(&self, claims: &Claims, now_ms: i64) -> VerifyResult<()> {
        let opts = &self.inner.options;
        let now = now_ms.div_euclid(1000);
        if claims.expires_at.saturating_mul(1000) <= now_ms.saturating_sub(opts.clock_skew_ms) {
            return Err(VerifyError::Expired {
                expired_at: claims.expires_at,
                now,
            });
        }
        for early in claims.not_before.into_iter().chain([claims.issued_at]) {
            if early.saturating_mul(1000) > now_ms.saturating_add(opts.clock_skew_ms) {
                return Err(VerifyError::NotYetValid {
                    not_before: early,
                    now,
                });
            }
        }
        if let Some(issuer) = &opts.issuer {
            if claims.issuer.trim_end_matches('/') != issuer {
                return Err(VerifyError::IssuerMismatch {
                    iss: claims.issuer.clone(),
                });
            }
        }
        if let Some(azp) = &claims.authorized_party {
            if !opts.authorized_parties.is_empty()
                && !opts
                    .authorized_parties
                    .iter()
                    .any(|p| p == azp.trim_end_matches('/'))
            {
                return Err(VerifyError::UnauthorizedParty { azp: azp.clone() });
            }
        }
        if !opts.accept_pending && claims.session_status == Some(SessionStatus::Pending) {
            return Err(VerifyError::SessionPending);
        }
        Ok(())
    }

    /// Fetches the JWKS now, whatever the cache holds; a no-op for a PEM verifier.
    ///
    /// Optional: the first verification fetches it anyway. Call it at start-up
    /// to fail fast when the server is unreachable.
    pub async fn refresh(&self) -> VerifyResult<()> {
        match &self.inner.keys {
            KeySource::Static(_) => Ok(()),
            KeySource::Remote(remote) => remote.refresh(self.inner.clock.now_ms()).await,
        }
    }

    /// How many times this verifier (and its clones) requested the JWKS; always 0 for PEM.
    pub fn jwks_fetch_count(&self) -> u64 {
        match &self.inner.keys {
            KeySource::Static(_) => 0,
            KeySource::Remote(remote) => remote.fetches(),
        }
    }

    /// The key ids in the cached JWKS, sorted; empty for PEM or before the first fetch.
    pub fn cached_key_ids(&self) -> Vec<String> {
        match &self.inner.keys {
            KeySource::Static(_) => Vec::new(),
            KeySource::Remote(remote) => remote.key_ids(),
        }
    }
}
