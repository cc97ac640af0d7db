//! Password hashing and verification on a bounded blocking pool.
//!
//! New passwords are hashed with argon2id at OWASP's recommended parameters
//! (19 MiB, 2 iterations, 1 lane). Hashing runs on tokio's blocking threads, and
//! a semaphore caps how many run at once (by default one fewer than the cores),
//! so a storm of sign-ins can never take every core from other requests.
//! Digests imported from other systems are verified in their own format and
//! replaced with argon2id after the next successful sign-in.

pub mod breached;
pub mod imported;

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{CoreError, CoreResult};
use imported::ImportedHasher;

/// The `password_hasher` name of Tessera's own hashes.
pub const NATIVE_HASHER: &str = "argon2id";

/// A password in memory; `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a plaintext password.
    pub fn new(raw: String) -> Self {
        Self(raw)
    }

    /// The plaintext.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Wrong password.
    Mismatch,
    /// Right password, hash is current.
    Match,
    /// Right password; the stored hash is imported or weaker and should be replaced.
    MatchNeedsRehash,
}

impl Verdict {
    /// Whether the password was right.
    pub fn matched(self) -> bool {
        !matches!(self, Self::Mismatch)
    }
}

/// The bounded hashing pool.
#[derive(Clone, Debug)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    params: Params,
}

impl Hasher {
    /// A pool that runs at most `concurrency` hashes at once, with OWASP argon2id parameters.
    pub fn new(concurrency: usize) -> Self {
        Self::with_params(concurrency, 19 * 1024, 2, 1)
    }

    /// A pool with explicit argon2id parameters (memory KiB, iterations, lanes).
    pub fn with_params(concurrency: usize, m_cost: u32, t_cost: u32, p_cost: u32) -> Self {
        // Params::new only fails for values outside argon2's limits; fall back to the defaults.
        let params = Params::new(m_cost, t_cost, p_cost, None).unwrap_or_default();
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            params,
        }
    }

    /// The default concurrency: one fewer than the available cores, at least one.
    pub fn default_concurrency() -> usize {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get().saturating_sub(1))
            .max(1)
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> CoreResult<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| CoreError::Internal("hashing pool closed".to_owned()))?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| CoreError::Internal(format!("hashing task failed: {e}")))
    }

    /// Hashes a new password into an argon2id PHC string.
    pub async fn hash(&self, password: Password) -> CoreResult<String> {
        let params = self.params.clone();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Self::argon2(params)
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| CoreError::Internal(format!("hashing failed: {e}")))
        })
        .await?
    }

    /// Checks a password against a stored digest made by `hasher`
    /// (`argon2id` for Tessera's own, otherwise an imported format).
    pub async fn verify(
        &self,
        password: Password,
        stored: String,
        hasher: String,
    ) -> CoreResult<Verdict> {
        let params = self.params.clone();
        self.run(move || verify_blocking(&password, &stored, &hasher, &params))
            .await
    }

    /// Burns the time of one verification, so unknown users take as long as known ones.
    pub async fn verify_dummy(&self, password: Password) -> CoreResult<()> {
        let params = self.params.clone();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            let _ = Self::argon2(params).hash_password(password.expose().as_bytes(), &salt);
        })
        .await
    }
}

fn verify_blocking(password: &Password, stored: &str, hasher: &str, params: &Params) -> Verdict {
    if hasher == NATIVE_HASHER {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verdict::Mismatch;
        };
        if Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_err()
        {
            return Verdict::Mismatch;
        }
        // Rehash when the stored parameters are weaker than the current ones.
        let current = Params::try_from(&parsed).ok();
        let weaker =
            current.is_none_or(|p| p.m_cost() < params.m_cost() || p.t_cost() < params.t_cost());
        return if weaker {
            Verdict::MatchNeedsRehash
        } else {
            Verdict::Match
        };
    }
    match hasher.parse::<ImportedHasher>() {
        Ok(kind) if imported::verify(kind, stored, password.expose()) => Verdict::MatchNeedsRehash,
        _ => Verdict::Mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Hasher {
        Hasher::with_params(2, 1024, 1, 1)
    }

    #[tokio::test]
    async fn hashes_and_verifies() {
        let hasher = fast();
        let hash = hasher
            .hash(Password::new("correct horse".to_owned()))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        let ok = hasher
            .verify(
                Password::new("correct horse".to_owned()),
                hash.clone(),
                NATIVE_HASHER.to_owned(),
            )
            .await
            .unwrap();
        assert_eq!(ok, Verdict::Match);
        let bad = hasher
            .verify(
                Password::new("wrong horse".to_owned()),
                hash,
                NATIVE_HASHER.to_owned(),
            )
            .await
            .unwrap();
        assert_eq!(bad, Verdict::Mismatch);
    }

    #[tokio::test]
    async fn weaker_hashes_ask_for_rehash() {
        let weak = fast()
            .hash(Password::new("pw123456".to_owned()))
            .await
            .unwrap();
        let strong = Hasher::with_params(1, 4096, 2, 1);
        let verdict = strong
            .verify(
                Password::new("pw123456".to_owned()),
                weak,
                NATIVE_HASHER.to_owned(),
            )
            .await
            .unwrap();
        assert_eq!(verdict, Verdict::MatchNeedsRehash);
    }

    #[tokio::test]
    async fn garbage_never_matches() {
        let verdict = fast()
            .verify(
                Password::new("x".to_owned()),
                "garbage".to_owned(),
                "nonsense".to_owned(),
            )
            .await
            .unwrap();
        assert_eq!(verdict, Verdict::Mismatch);
    }
}
