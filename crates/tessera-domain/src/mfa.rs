//! Second factors the user holds themselves: an authenticator app (RFC 6238
//! time-based codes) and backup codes.
//!
//! The code arithmetic is the `totp-rs` crate's; what is decided here is the
//! policy around it: 30-second steps of 6 digits, one step of clock skew either
//! way, and each step accepted once (a code seen again is a replay), and the
//! shape of backup codes.

use rand::Rng;
use totp_rs::{Algorithm, Builder, Secret};

/// Seconds per TOTP step.
pub const STEP_SECS: u64 = 30;
/// Digits of a TOTP code.
pub const DIGITS: usize = 6;
/// Steps of clock skew accepted either side of now.
pub const SKEW: u16 = 1;
/// Random bytes of a new secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;
/// The shortest secret taken from an import (80 bits).
pub const MIN_SECRET_BYTES: usize = 10;
/// Backup codes in a set.
pub const BACKUP_CODES: usize = 10;
/// Characters of a backup code.
pub const BACKUP_CODE_LEN: usize = 8;

const BACKUP_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A new random secret, base32 (RFC 4648, no padding) as authenticator apps take it.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill(&mut bytes[..]);
    Secret::from(bytes.to_vec()).to_base32()
}

/// A secret as given (any case, spaces and padding allowed), canonical:
/// upper-case base32 without padding; `None` when it is not base32 or too short.
pub fn parse_secret(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bytes = Secret::try_from_base32(&cleaned).ok()?;
    (bytes.as_bytes().len() >= MIN_SECRET_BYTES).then_some(cleaned)
}

/// What a TOTP code was found to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpCheck {
    /// Right, for this step (record it: the step is spent).
    Accepted {
        /// The step the code belongs to.
        step: i64,
    },
    /// Right, but for a step already used: refused.
    Replayed,
    /// Not a code of this secret now.
    Wrong,
}

/// Checks `code` against the base32 `secret` at `now_ms`, given the last step
/// a code was accepted for.
pub fn check_totp(secret: &str, code: &str, now_ms: i64, last_used_step: Option<i64>) -> TotpCheck {
    let Ok(bytes) = Secret::try_from_base32(secret) else {
        return TotpCheck::Wrong;
    };
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return TotpCheck::Wrong;
    }
    // Imported secrets may be shorter than RFC 6238 wants: no length check.
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_skew(0)
        .with_step_duration(STEP_SECS)
        .with_secret(bytes)
        .build_noncompliant();
    let now_secs = u64::try_from(now_ms.max(0) / 1000).unwrap_or(0);
    // Newest step first, so a code valid for two steps counts as the later one.
    let origin = now_secs / STEP_SECS;
    let steps = (origin.saturating_sub(u64::from(SKEW))..=origin + u64::from(SKEW)).rev();
    for step in steps {
        if totp.check(code, step * STEP_SECS).is_some() {
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            return if last_used_step.is_some_and(|last| step <= last) {
                TotpCheck::Replayed
            } else {
                TotpCheck::Accepted { step }
            };
        }
    }
    TotpCheck::Wrong
}

/// The code of `secret` at `now_ms` (what an authenticator app shows; tests
/// and the development tools use it).
pub fn totp_now(secret: &str, now_ms: i64) -> Option<String> {
    let bytes = Secret::try_from_base32(secret).ok()?;
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_step_duration(STEP_SECS)
        .with_secret(bytes)
        .build_noncompliant();
    Some(
        totp.generate(u64::try_from(now_ms.max(0) / 1000).unwrap_or(0))
            .to_string(),
    )
}

/// A new set of backup codes (shown once, stored hashed).
pub fn new_backup_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..BACKUP_CODES)
        .map(|_| {
            (0..BACKUP_CODE_LEN)
                .map(|_| char::from(BACKUP_ALPHABET[rng.gen_range(0..BACKUP_ALPHABET.len())]))
                .collect()
        })
        .collect()
}

/// A backup code as typed, canonical (lower case, no spaces or dashes); `None`
/// when it cannot be one.
pub fn normalize_backup_code(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let ok = (4..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B's SHA-1 secret ("12345678901234567890"), base32.
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc_6238_vectors_in_six_digits() {
        // T = 59 s → 94287082; T = 1111111109 s → 07081804 (last six digits).
        assert_eq!(totp_now(RFC_SECRET, 59_000).unwrap(), "287082");
        assert_eq!(totp_now(RFC_SECRET, 1_111_111_109_000).unwrap(), "081804");
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        let now = 1_700_000_000_000;
        let step = now / 1000 / 30;
        for (offset, ok) in [
            (-60_000, false),
            (-30_000, true),
            (0, true),
            (30_000, true),
            (60_000, false),
        ] {
            let code = totp_now(RFC_SECRET, now + offset).unwrap();
            let got = check_totp(RFC_SECRET, &code, now, None);
            assert_eq!(
                matches!(got, TotpCheck::Accepted { .. }),
                ok,
                "offset {offset}: {got:?}"
            );
        }
        let code = totp_now(RFC_SECRET, now).unwrap();
        assert_eq!(
            check_totp(RFC_SECRET, &code, now, None),
            TotpCheck::Accepted { step }
        );
    }

    #[test]
    fn a_step_is_accepted_once() {
        let now = 1_700_000_000_000;
        let code = totp_now(RFC_SECRET, now).unwrap();
        let TotpCheck::Accepted { step } = check_totp(RFC_SECRET, &code, now, None) else {
            panic!("the current code is right");
        };
        assert_eq!(
            check_totp(RFC_SECRET, &code, now, Some(step)),
            TotpCheck::Replayed
        );
        // The next step's code is new.
        let next = totp_now(RFC_SECRET, now + 30_000).unwrap();
        assert!(matches!(
            check_totp(RFC_SECRET, &next, now + 30_000, Some(step)),
            TotpCheck::Accepted { .. }
        ));
        assert_eq!(check_totp(RFC_SECRET, "12345", now, None), TotpCheck::Wrong);
        assert_eq!(
            check_totp(RFC_SECRET, "abcdef", now, None),
            TotpCheck::Wrong
        );
    }

    #[test]
    fn secrets_are_base32_and_long_enough() {
        let s = new_secret();
        assert_eq!(s.len(), 32);
        assert_eq!(parse_secret(&s.to_lowercase()).as_deref(), Some(s.as_str()));
        assert_eq!(
            parse_secret("gezd gnbv gy3t qojq").as_deref(),
            Some("GEZDGNBVGY3TQOJQ")
        );
        assert!(parse_secret("GEZDGNBV").is_none(), "40 bits is too short");
        assert!(parse_secret("not base32!").is_none());
    }

    #[test]
    fn backup_codes() {
        let codes = new_backup_codes();
        assert_eq!(codes.len(), BACKUP_CODES);
        assert!(codes.iter().all(|c| c.len() == BACKUP_CODE_LEN));
        assert_eq!(
            normalize_backup_code(" AB12-cd34 ").as_deref(),
            Some("ab12cd34")
        );
        assert!(normalize_backup_code("no!").is_none());
    }
}
