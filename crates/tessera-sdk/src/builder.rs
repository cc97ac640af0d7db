//! [`VerifierBuilder`]: where the keys come from and which tokens to accept.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::cache::RemoteKeys;
use crate::clock::{duration_ms, Clock, SystemClock};
use crate::error::{VerifyError, VerifyResult};
use crate::jwks::SecretKey;
use crate::verifier::{Inner, KeySource, Options, Verifier};

/// Where a [`VerifierBuilder`] gets its keys.
enum Source {
    JwksUrl(String),
    Pem(String),
}

/// Configures a [`Verifier`]; made by [`Verifier::from_jwks_url`],
/// [`Verifier::from_server_url`] or [`Verifier::from_public_key_pem`].
pub struct VerifierBuilder {
    source: Source,
    secret_key: Option<SecretKey>,
    http: Option<reqwest::Client>,
    clock: Arc<dyn Clock>,
    options: Options,
}

impl std::fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            Source::JwksUrl(url) => url.as_str(),
            Source::Pem(_) => "<PEM public key>",
        };
        f.debug_struct("VerifierBuilder")
            .field("source", &source)
            .field("secret_key", &self.secret_key)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// How often the JWKS is refetched when tokens keep verifying (Clerk's SDKs cache it 5 minutes).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The least time between two refetches caused by unknown key ids.
pub const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long cached keys stay usable while refreshing the JWKS keeps failing.
pub const DEFAULT_MAX_STALE: Duration = Duration::from_secs(60 * 60);
/// The allowed difference between this machine's clock and the server's.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(5);

impl Verifier {
    /// A verifier that fetches keys from a JWKS URL, such as
    /// `http://127.0.0.1:8080/.well-known/jwks.json` (public) or
    /// `http://127.0.0.1:8080/v1/jwks` (with [`VerifierBuilder::secret_key`]).
    pub fn from_jwks_url(url: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder::new(Source::JwksUrl(url.into()))
    }

    /// A verifier for the Tessera server at `base_url` (its public
    /// `/.well-known/jwks.json`), for example `http://127.0.0.1:8080`.
    pub fn from_server_url(base_url: &str) -> VerifierBuilder {
        Self::from_jwks_url(format!(
            "{}/.well-known/jwks.json",
            base_url.trim_end_matches('/')
        ))
    }

    /// A fully offline verifier for one RSA public key in PEM form (as printed
    /// by `tessera keys`); it never makes a request, so it stops accepting
    /// tokens when the server's signing key rotates.
    pub fn from_public_key_pem(pem: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder::new(Source::Pem(pem.into()))
    }
}

impl VerifierBuilder {
    fn new(source: Source) -> Self {
        Self {
            source,
            secret_key: None,
            http: None,
            clock: Arc::new(SystemClock),
            options: Options {
                authorized_parties: Vec::new(),
                issuer: None,
                clock_skew_ms: duration_ms(DEFAULT_CLOCK_SKEW),
                refresh_interval_ms: duration_ms(DEFAULT_REFRESH_INTERVAL),
                refetch_interval_ms: duration_ms(DEFAULT_REFETCH_INTERVAL),
                max_stale_ms: duration_ms(DEFAULT_MAX_STALE),
                accept_pending: false,
            },
        }
    }

    /// Sends the instance's secret key (`sk_…`) as a bearer token when fetching
    /// the JWKS, as `GET /v1/jwks` requires.
    pub fn secret_key(mut self, secret_key: impl Into<String>) -> Self {
        self.secret_key = Some(SecretKey(secret_key.into()));
        self
    }

    /// Accepts only tokens whose `azp` is one of `origins` (for example
    /// `https://app.example.com`). Tokens without `azp` (made without an
    /// Origin, such as through the Backend API) are still accepted, as in
    /// Clerk's SDKs. Empty (the default) accepts every `azp`.
    pub fn authorized_parties<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.authorized_parties = origins
            .into_iter()
            .map(|o| o.into().trim_end_matches('/').to_owned())
            .collect();
        self
    }

    /// Accepts only tokens whose `iss` is `issuer` (the server's frontend URL,
    /// `TESSERA_FRONTEND_URL`); a trailing `/` is ignored. Unchecked by default.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.options.issuer = Some(issuer.into().trim_end_matches('/').to_owned());
        self
    }

    /// The allowed clock difference for `exp`, `nbf` and `iat` (default 5 s).
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.options.clock_skew_ms = duration_ms(skew);
        self
    }

    /// How old the cached JWKS may get before the next verification refetches it (default 5 min).
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.options.refresh_interval_ms = duration_ms(interval);
        self
    }

    /// The least time between refetches caused by unknown key ids, and between
    /// retries after a failed fetch (default 10 s), so that garbage tokens
    /// cannot make the verifier hammer the server.
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.options.refetch_interval_ms = duration_ms(interval);
        self
    }

    /// How long cached keys stay usable while refreshing the JWKS fails (default 1 h);
    /// past that, verification answers [`VerifyError::JwksUnavailable`].
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.options.max_stale_ms = duration_ms(max_stale);
        self
    }

    /// Accepts sessions whose status is `pending` (refused by default, as
    /// Clerk's SDKs treat pending sessions as signed out).
    pub fn accept_pending_sessions(mut self, accept: bool) -> Self {
        self.options.accept_pending = accept;
        self
    }

    /// The clock used for `exp`/`nbf`/`iat` and the JWKS schedule (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The HTTP client for fetching the JWKS (default: one with a 10 s timeout).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the verifier. Nothing is fetched yet: the first verification (or
    /// [`Verifier::refresh`]) loads the JWKS.
    pub fn build(self) -> VerifyResult<Verifier> {
        let keys = match self.source {
            Source::Pem(pem) => KeySource::Static(Arc::new(
                DecodingKey::from_rsa_pem(pem.as_bytes())
                    .map_err(|e| VerifyError::InvalidKey(format!("PEM public key: {e}")))?,
            )),
            Source::JwksUrl(url) => {
                let http = match self.http {
                    Some(http) => http,
                    None => reqwest::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .map_err(|e| VerifyError::JwksUnavailable(format!("HTTP client: {e}")))?,
                };
                KeySource::Remote(Box::new(RemoteKeys::new(url, self.secret_key, http)))
            }
        };
        let mut validation = Validation::new(Algorithm::RS256);
        // Time claims are checked against the injected clock (see `Verifier::check`),
        // not the library's own clock; session tokens carry no `aud`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        Ok(Verifier::from_inner(Inner {
            keys,
            options: self.options,
            clock: self.clock,
            validation,
        }))
    }
}
