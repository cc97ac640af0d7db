//! One-time codes: 6 digits from the OS random source, stored only as a keyed
//! hash, compared in constant time, limited in attempts and lifetime.

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tessera_domain::error_code::ErrorCode;

use crate::{CoreError, CoreResult};

/// How long a code is valid (10 minutes).
pub const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Wrong attempts allowed before the verification fails.
pub const MAX_ATTEMPTS: i64 = 5;
/// The code development instances accept for Clerk's test identifiers.
pub const TEST_CODE: &str = "424242";

/// A fresh 6-digit code.
pub fn generate() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
}

/// The stored form of a code, bound to the verification it belongs to.
pub fn hash(verification_key: &str, code: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{verification_key}:{code}").as_bytes(),
    ))
}

/// Verification state kept on an attempt (sign-up or sign-in) or identification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeState {
    /// `email_code`, `phone_code`, `reset_password_email_code`, …
    pub strategy: String,
    /// `unverified`, `verified`, `failed` or `expired` (as read at `now`, see [`CodeState::status_at`]).
    pub status: String,
    /// Hash of the current code.
    pub code_hash: Option<String>,
    /// Wrong attempts so far.
    pub attempts: i64,
    /// Expiry (ms).
    pub expire_at: Option<i64>,
    /// The identification the code was sent to.
    pub identification_id: Option<String>,
}

/// Outcome of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The code was right.
    Verified,
    /// The code was wrong; attempts remain.
    Incorrect,
    /// Too many wrong attempts.
    Failed,
    /// The code expired.
    Expired,
    /// Nothing was prepared (no code to compare).
    NotPrepared,
    /// Already verified.
    AlreadyVerified,
}

impl CodeState {
    /// A prepared verification with a new code hash.
    pub fn prepared(
        strategy: &str,
        key: &str,
        code: &str,
        identification_id: Option<String>,
        now: i64,
    ) -> Self {
        Self {
            strategy: strategy.to_owned(),
            status: "unverified".to_owned(),
            code_hash: Some(hash(key, code)),
            attempts: 0,
            expire_at: Some(now + CODE_LIFETIME_MS),
            identification_id,
        }
    }

    /// The status as of `now` (an unverified code past its expiry reads `expired`).
    pub fn status_at(&self, now: i64) -> &str {
        if self.status == "unverified" && self.expire_at.is_some_and(|t| now >= t) {
            "expired"
        } else {
            &self.status
        }
    }

    /// Checks `code`; updates attempts and status. `accept_test_code` lets
    /// development instances take 424242 for Clerk's test identifiers.
    pub fn attempt(&mut self, key: &str, code: &str, now: i64, accept_test_code: bool) -> Attempt {
        match self.status_at(now) {
            "verified" => return Attempt::AlreadyVerified,
            "failed" => return Attempt::Failed,
            "expired" => {
                self.status = "expired".to_owned();
                return Attempt::Expired;
            }
            _ => {}
        }
        let Some(stored) = &self.code_hash else {
            return Attempt::NotPrepared;
        };
        let presented = hash(key, code.trim());
        let matches: bool = presented.as_bytes().ct_eq(stored.as_bytes()).into();
        if matches || (accept_test_code && code.trim() == TEST_CODE) {
            self.status = "verified".to_owned();
            self.code_hash = None;
            return Attempt::Verified;
        }
        self.attempts += 1;
        if self.attempts >= MAX_ATTEMPTS {
            self.status = "failed".to_owned();
            self.code_hash = None;
            return Attempt::Failed;
        }
        Attempt::Incorrect
    }
}

/// The code state a prepare step stored, or `verification_missing`.
pub(crate) fn prepared(stored: Option<Value>) -> CoreResult<CodeState> {
    stored
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| CoreError::NotAllowed {
            code: ErrorCode::VerificationMissing,
            detail: "Prepare the verification before attempting it.".to_owned(),
        })
}

/// Maps a failed code attempt to Clerk's error codes (after the state was saved).
pub(crate) fn attempt_error(outcome: Attempt) -> CoreResult<()> {
    let (code, detail) = match outcome {
        Attempt::Verified => return Ok(()),
        Attempt::Incorrect => (ErrorCode::FormCodeIncorrect, "Incorrect code"),
        Attempt::Failed => (
            ErrorCode::VerificationFailed,
            "Too many failed attempts. Request a new code.",
        ),
        Attempt::Expired => (
            ErrorCode::VerificationExpired,
            "This verification has expired. Request a new code.",
        ),
        Attempt::NotPrepared => (
            ErrorCode::VerificationMissing,
            "Prepare the verification before attempting it.",
        ),
        Attempt::AlreadyVerified => (
            ErrorCode::VerificationAlreadyVerified,
            "This verification has already been verified.",
        ),
    };
    Err(CoreError::NotAllowed {
        code,
        detail: detail.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = generate();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn right_code_verifies_once() {
        let mut s = CodeState::prepared("email_code", "sua_1", "123456", None, 0);
        assert_eq!(s.attempt("sua_1", "000000", 1, false), Attempt::Incorrect);
        assert_eq!(s.attempt("sua_1", "123456", 2, false), Attempt::Verified);
        assert_eq!(
            s.attempt("sua_1", "123456", 3, false),
            Attempt::AlreadyVerified
        );
        assert!(s.code_hash.is_none(), "single use");
    }

    #[test]
    fn codes_are_bound_to_their_verification() {
        let mut s = CodeState::prepared("email_code", "sua_1", "123456", None, 0);
        assert_eq!(s.attempt("sua_2", "123456", 1, false), Attempt::Incorrect);
    }

    #[test]
    fn too_many_attempts_fail_and_expiry_expires() {
        let mut s = CodeState::prepared("email_code", "k", "123456", None, 0);
        for _ in 0..MAX_ATTEMPTS - 1 {
            assert_eq!(s.attempt("k", "999999", 1, false), Attempt::Incorrect);
        }
        assert_eq!(s.attempt("k", "999999", 1, false), Attempt::Failed);
        assert_eq!(s.attempt("k", "123456", 1, false), Attempt::Failed);

        let mut s = CodeState::prepared("email_code", "k", "123456", None, 0);
        assert_eq!(s.status_at(CODE_LIFETIME_MS), "expired");
        assert_eq!(
            s.attempt("k", "123456", CODE_LIFETIME_MS, false),
            Attempt::Expired
        );
    }

    #[test]
    fn test_code_only_when_allowed() {
        let mut s = CodeState::prepared("email_code", "k", "123456", None, 0);
        assert_eq!(s.attempt("k", TEST_CODE, 1, false), Attempt::Incorrect);
        assert_eq!(s.attempt("k", TEST_CODE, 1, true), Attempt::Verified);
    }
}
