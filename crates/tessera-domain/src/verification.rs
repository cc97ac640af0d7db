//! Verifications: the one flow — prepare, then attempt — behind every factor.
//!
//! A [`Verification`] is the state of proving something: a sign-in's first or
//! second factor, a sign-up's email address or phone number, or an
//! identification the signed-in user added. Preparing stores what the proof
//! will be checked against (a code's keyed hash, its expiry); each attempt is a
//! pure step `(state, proof, now) -> (state, outcome)` that counts wrong
//! answers, expires, and is single use. A strategy is one [`Strategy`] variant;
//! the check it needs is its arm of [`Verification::attempt`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error_code::ErrorCode;
use crate::kinds::{IdentificationKind, VerificationStatus};

/// How long a code is valid (10 minutes).
pub const CODE_LIFETIME_MS: i64 = 10 * 60 * 1000;
/// Wrong attempts allowed before the verification fails.
pub const MAX_ATTEMPTS: i64 = 5;
/// The code development instances accept for Clerk's test identifiers.
pub const TEST_CODE: &str = "424242";

wire_enum! {
    /// How something is verified (`verification.strategy`, a factor's `strategy`).
    Strategy {
        /// The account's password.
        Password => "password",
        /// A one-time code sent by email.
        EmailCode => "email_code",
        /// A one-time code sent by SMS.
        PhoneCode => "phone_code",
        /// An emailed code that lets the user choose a new password.
        ResetPasswordEmailCode => "reset_password_email_code",
        /// A code by SMS that lets the user choose a new password.
        ResetPasswordPhoneCode => "reset_password_phone_code",
        /// Set verified by an administrator (Backend API); never attempted.
        Admin => "admin",
        Ticket => "ticket",
        /// A code of the user's authenticator app (RFC 6238).
        Totp => "totp",
        /// One of the user's backup codes (single use).
        BackupCode => "backup_code",
        /// A single-use link sent by email.
        EmailLink => "email_link",
        /// A WebAuthn credential (passkey) signing the verification's challenge.
        Passkey => "passkey",
    }
}

impl Strategy {
    /// Where a code of this strategy is sent, for strategies that send one.
    pub fn channel(self) -> Option<IdentificationKind> {
        match self {
            Self::EmailCode | Self::ResetPasswordEmailCode => {
                Some(IdentificationKind::EmailAddress)
            }
            Self::PhoneCode | Self::ResetPasswordPhoneCode => Some(IdentificationKind::PhoneNumber),
            Self::Password
            | Self::Admin
            | Self::Ticket
            | Self::Totp
            | Self::BackupCode
            | Self::EmailLink
            | Self::Passkey => None,
        }
    }

    /// Whether passing it leads to choosing a new password rather than a session.
    pub fn resets_password(self) -> bool {
        matches!(
            self,
            Self::ResetPasswordEmailCode | Self::ResetPasswordPhoneCode
        )
    }

    /// The code strategy that verifies an identification of `kind`.
    pub fn code_for(kind: IdentificationKind) -> Self {
        match kind {
            IdentificationKind::EmailAddress => Self::EmailCode,
            IdentificationKind::PhoneNumber => Self::PhoneCode,
        }
    }
}

/// What an attempt presents.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// A one-time code; `accept_test_code` lets development instances take
    /// [`TEST_CODE`] for Clerk's test identifiers.
    Code {
        /// The code as typed.
        code: &'a str,
        /// Whether [`TEST_CODE`] passes too.
        accept_test_code: bool,
    },
    /// A password, already checked against its slow hash off the executor.
    Password {
        /// The verdict.
        matched: bool,
    },
    /// A passkey's signature over the challenge, already checked against
    /// the challenge and the credential's public key.
    Passkey {
        /// The verdict.
        verified: bool,
    },
}

/// Outcome of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The proof was right.
    Verified,
    /// The proof was wrong; attempts remain.
    Incorrect,
    /// Too many wrong attempts.
    Failed,
    /// The verification expired.
    Expired,
    /// Nothing was prepared to check against.
    NotPrepared,
    /// Already verified (single use).
    AlreadyVerified,
}

impl Attempt {
    /// Clerk's error for an attempt that did not verify; `None` when it did.
    pub fn refusal(self) -> Option<(ErrorCode, &'static str)> {
        Some(match self {
            Self::Verified => return None,
            Self::Incorrect => (ErrorCode::FormCodeIncorrect, "Incorrect code"),
            Self::Failed => (
                ErrorCode::VerificationFailed,
                "Too many failed attempts. Request a new code.",
            ),
            Self::Expired => (
                ErrorCode::VerificationExpired,
                "This verification has expired. Request a new code.",
            ),
            Self::NotPrepared => (
                ErrorCode::VerificationMissing,
                "Prepare the verification before attempting it.",
            ),
            Self::AlreadyVerified => (
                ErrorCode::VerificationAlreadyVerified,
                "This verification has already been verified.",
            ),
        })
    }
}

/// The stored form of a code, bound to the verification it belongs to (`key`).
pub fn code_hash(key: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!("{key}:{code}").as_bytes()))
}

/// A verification in flight or done; stored as JSON on its attempt or identification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// How it is verified.
    pub strategy: Strategy,
    /// As stored; read it through [`Verification::status_at`].
    pub status: VerificationStatus,
    /// Keyed hash of the current code (gone once used or failed).
    #[serde(default)]
    pub code_hash: Option<String>,
    /// Wrong attempts so far (1 for a password that passed at once).
    #[serde(default)]
    pub attempts: i64,
    /// Expiry (ms), for codes.
    #[serde(default)]
    pub expire_at: Option<i64>,
    /// The identification a code was sent to.
    #[serde(default)]
    pub identification_id: Option<String>,
    /// Where an email link returns to once opened.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// The client that opened an email link (`verified_at_client`).
    #[serde(default)]
    pub verified_at_client: Option<String>,
    /// The client that asked for an email link, when the attempt it belongs
    /// to does not say (a signed-in user's address).
    #[serde(default)]
    pub asked_by_client: Option<String>,
    /// What the client signs with a passkey: the WebAuthn options as JSON
    /// (`verification.nonce`).
    #[serde(default)]
    pub nonce: Option<String>,
    /// The server's side of a passkey challenge (never shown; gone once used).
    #[serde(default)]
    pub challenge: Option<String>,
}

impl Verification {
    /// A code sent for `strategy`, bound to `key`, valid for [`CODE_LIFETIME_MS`].
    pub fn code_sent(
        strategy: Strategy,
        key: &str,
        code: &str,
        identification_id: Option<String>,
        now: i64,
    ) -> Self {
        Self {
            strategy,
            status: VerificationStatus::Unverified,
            code_hash: Some(code_hash(key, code)),
            attempts: 0,
            expire_at: Some(now + CODE_LIFETIME_MS),
            identification_id,
            redirect_url: None,
            verified_at_client: None,
            asked_by_client: None,
            nonce: None,
            challenge: None,
        }
    }

    /// A passkey challenge: `nonce` (the WebAuthn options) goes to the
    /// client, `challenge` (the server's state) stays; valid for
    /// [`CODE_LIFETIME_MS`].
    pub fn passkey_challenge(nonce: String, challenge: String, now: i64) -> Self {
        Self {
            strategy: Strategy::Passkey,
            status: VerificationStatus::Unverified,
            code_hash: None,
            attempts: 0,
            expire_at: Some(now + CODE_LIFETIME_MS),
            identification_id: None,
            redirect_url: None,
            verified_at_client: None,
            asked_by_client: None,
            nonce: Some(nonce),
            challenge: Some(challenge),
        }
    }

    /// A factor that passed at its first attempt (a password).
    pub fn passed(strategy: Strategy) -> Self {
        Self {
            strategy,
            status: VerificationStatus::Verified,
            code_hash: None,
            attempts: 1,
            expire_at: None,
            identification_id: None,
            redirect_url: None,
            verified_at_client: None,
            asked_by_client: None,
            nonce: None,
            challenge: None,
        }
    }

    /// The status as of `now`: an unverified code past its expiry reads `expired`.
    pub fn status_at(&self, now: i64) -> VerificationStatus {
        if self.status == VerificationStatus::Unverified && self.expire_at.is_some_and(|t| now >= t)
        {
            VerificationStatus::Expired
        } else {
            self.status
        }
    }

    /// Whether it is verified.
    pub fn is_verified(&self) -> bool {
        self.status == VerificationStatus::Verified
    }

    /// One attempt: the new state and what came of it. A code verifies once;
    /// [`MAX_ATTEMPTS`] wrong answers fail it; past its expiry it is expired.
    pub fn attempt(mut self, key: &str, proof: Proof<'_>, now: i64) -> (Self, Attempt) {
        match self.status_at(now) {
            VerificationStatus::Verified => return (self, Attempt::AlreadyVerified),
            VerificationStatus::Failed => return (self, Attempt::Failed),
            VerificationStatus::Expired => {
                self.status = VerificationStatus::Expired;
                return (self, Attempt::Expired);
            }
            VerificationStatus::Unverified | VerificationStatus::Transferable => {}
        }
        let right = match (self.strategy, proof) {
            (
                Strategy::EmailCode
                | Strategy::PhoneCode
                | Strategy::ResetPasswordEmailCode
                | Strategy::ResetPasswordPhoneCode
                | Strategy::EmailLink,
                Proof::Code {
                    code,
                    accept_test_code,
                },
            ) => {
                let Some(stored) = &self.code_hash else {
                    return (self, Attempt::NotPrepared);
                };
                let presented = code_hash(key, code.trim());
                let matches: bool = presented.as_bytes().ct_eq(stored.as_bytes()).into();
                matches || (accept_test_code && code.trim() == TEST_CODE)
            }
            (Strategy::Password, Proof::Password { matched }) => matched,
            (Strategy::Passkey, Proof::Passkey { verified }) => {
                if self.challenge.is_none() {
                    return (self, Attempt::NotPrepared);
                }
                verified
            }
            // A proof of the wrong kind, or a strategy nothing is attempted for.
            _ => return (self, Attempt::NotPrepared),
        };
        if right {
            self.status = VerificationStatus::Verified;
            self.code_hash = None;
            self.challenge = None;
            return (self, Attempt::Verified);
        }
        self.attempts += 1;
        if self.attempts >= MAX_ATTEMPTS {
            self.status = VerificationStatus::Failed;
            self.code_hash = None;
            self.challenge = None;
            return (self, Attempt::Failed);
        }
        (self, Attempt::Incorrect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(code: &str) -> Proof<'_> {
        Proof::Code {
            code,
            accept_test_code: false,
        }
    }

    #[test]
    fn right_code_verifies_once() {
        let s = Verification::code_sent(Strategy::EmailCode, "sua_1", "123456", None, 0);
        let (s, a) = s.attempt("sua_1", code("000000"), 1);
        assert_eq!(a, Attempt::Incorrect);
        let (s, a) = s.attempt("sua_1", code(" 123456 "), 2);
        assert_eq!(a, Attempt::Verified);
        let (s, a) = s.attempt("sua_1", code("123456"), 3);
        assert_eq!(a, Attempt::AlreadyVerified);
        assert!(s.code_hash.is_none(), "single use");
        assert_eq!(s.attempts, 1);
    }

    #[test]
    fn codes_are_bound_to_their_verification() {
        let s = Verification::code_sent(Strategy::EmailCode, "sua_1", "123456", None, 0);
        assert_eq!(s.attempt("sua_2", code("123456"), 1).1, Attempt::Incorrect);
    }

    #[test]
    fn too_many_attempts_fail_and_expiry_expires() {
        let mut s = Verification::code_sent(Strategy::PhoneCode, "k", "123456", None, 0);
        for _ in 0..MAX_ATTEMPTS - 1 {
            let (next, a) = s.attempt("k", code("999999"), 1);
            assert_eq!(a, Attempt::Incorrect);
            s = next;
        }
        let (s, a) = s.attempt("k", code("999999"), 1);
        assert_eq!(a, Attempt::Failed);
        assert_eq!(s.attempt("k", code("123456"), 1).1, Attempt::Failed);

        let s = Verification::code_sent(Strategy::EmailCode, "k", "123456", None, 0);
        assert_eq!(
            s.status_at(CODE_LIFETIME_MS - 1),
            VerificationStatus::Unverified
        );
        assert_eq!(s.status_at(CODE_LIFETIME_MS), VerificationStatus::Expired);
        let (s, a) = s.attempt("k", code("123456"), CODE_LIFETIME_MS);
        assert_eq!(a, Attempt::Expired);
        assert_eq!(s.status, VerificationStatus::Expired);
    }

    #[test]
    fn test_code_only_when_allowed() {
        let s = Verification::code_sent(Strategy::EmailCode, "k", "123456", None, 0);
        assert_eq!(
            s.clone().attempt("k", code(TEST_CODE), 1).1,
            Attempt::Incorrect
        );
        let allowed = Proof::Code {
            code: TEST_CODE,
            accept_test_code: true,
        };
        assert_eq!(s.attempt("k", allowed, 1).1, Attempt::Verified);
    }

    #[test]
    fn proofs_must_fit_the_strategy() {
        let s = Verification::code_sent(Strategy::EmailCode, "k", "123456", None, 0);
        let (s, a) = s.attempt("k", Proof::Password { matched: true }, 1);
        assert_eq!(a, Attempt::NotPrepared);
        assert_eq!(s.status, VerificationStatus::Unverified);
        let admin = Verification {
            status: VerificationStatus::Unverified,
            ..Verification::passed(Strategy::Admin)
        };
        assert_eq!(admin.attempt("k", code("1"), 1).1, Attempt::NotPrepared);
    }

    #[test]
    fn a_passkey_challenge_is_signed_once() {
        let s = Verification::passkey_challenge("{}".into(), "state".into(), 0);
        let (s, a) = s.attempt("k", Proof::Passkey { verified: false }, 1);
        assert_eq!(a, Attempt::Incorrect);
        assert!(
            s.challenge.is_some(),
            "a bad signature leaves the challenge"
        );
        let (s, a) = s.attempt("k", code("123456"), 1);
        assert_eq!(a, Attempt::NotPrepared, "a code is no passkey");
        let (s, a) = s.attempt("k", Proof::Passkey { verified: true }, 2);
        assert_eq!(a, Attempt::Verified);
        assert!(s.challenge.is_none(), "the challenge is spent");
        assert_eq!(
            s.attempt("k", Proof::Passkey { verified: true }, 3).1,
            Attempt::AlreadyVerified
        );
        let late = Verification::passkey_challenge("{}".into(), "state".into(), 0);
        let (_, a) = late.attempt("k", Proof::Passkey { verified: true }, CODE_LIFETIME_MS);
        assert_eq!(a, Attempt::Expired);
    }

    #[test]
    fn stored_json_keeps_its_shape() {
        // What earlier versions stored for a password that passed.
        let old: Verification =
            serde_json::from_str(r#"{"strategy":"password","status":"verified","attempts":1}"#)
                .unwrap();
        assert_eq!(old, Verification::passed(Strategy::Password));
        let s = Verification::code_sent(Strategy::EmailCode, "k", "1", Some("idn_1".into()), 5);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["strategy"], "email_code");
        assert_eq!(json["status"], "unverified");
        assert_eq!(json["expire_at"], 5 + CODE_LIFETIME_MS);
        assert!(serde_json::from_str::<Verification>(
            r#"{"strategy":"carrier_pigeon","status":"verified"}"#
        )
        .is_err());
    }

    #[test]
    fn every_refusal_is_a_verification_error() {
        assert_eq!(Attempt::Verified.refusal(), None);
        assert_eq!(
            Attempt::Incorrect.refusal().unwrap().0,
            ErrorCode::FormCodeIncorrect
        );
        assert_eq!(
            Attempt::AlreadyVerified.refusal().unwrap().0,
            ErrorCode::VerificationAlreadyVerified
        );
    }

    #[test]
    fn strategies_know_their_channel() {
        for s in Strategy::ALL {
            assert_eq!(Strategy::parse(s.as_str()), Some(*s));
        }
        assert_eq!(
            Strategy::ResetPasswordPhoneCode.channel(),
            Some(IdentificationKind::PhoneNumber)
        );
        assert!(Strategy::ResetPasswordEmailCode.resets_password());
        assert_eq!(Strategy::Password.channel(), None);
        assert_eq!(
            Strategy::code_for(IdentificationKind::EmailAddress),
            Strategy::EmailCode
        );
    }
}
