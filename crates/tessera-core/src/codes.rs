//! One-time codes: 6 digits from the OS random source. What a code is checked
//! against, and how, is [`tessera_domain::verification`].

use rand::Rng;
use tessera_domain::error_code::ErrorCode;
use tessera_domain::sign_in::Refusal;
use tessera_domain::verification::{Attempt, Verification};

use crate::{CoreError, CoreResult};

/// A fresh 6-digit code.
pub fn generate() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000))
}

/// The verification a prepare step stored, or `verification_missing`.
pub(crate) fn prepared(stored: Option<Verification>) -> CoreResult<Verification> {
    stored.ok_or_else(|| {
        refusal(
            ErrorCode::VerificationMissing,
            "Prepare the verification before attempting it.",
        )
    })
}

fn refusal(code: ErrorCode, detail: &str) -> CoreError {
    CoreError::NotAllowed {
        code,
        detail: detail.to_owned(),
    }
}

/// Clerk's error for a code attempt that did not verify (answered after the state was saved).
pub(crate) fn refused(outcome: Attempt) -> CoreResult<()> {
    match outcome.refusal() {
        None => Ok(()),
        Some((code, detail)) => Err(refusal(code, detail)),
    }
}

impl From<Refusal> for CoreError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Code(code, detail) => Self::NotAllowed {
                code,
                detail: detail.to_owned(),
            },
            Refusal::Param(param, detail) => Self::value(param, detail),
        }
    }
}

/// Whether development instances take the test code for this identifier.
pub(crate) fn accepts_test_code(core: &crate::Core, identifier: Option<&str>) -> bool {
    use tessera_domain::identifiers::{is_test_email, is_test_phone};
    let inst = core.instance();
    inst.environment == tessera_domain::settings::EnvironmentType::Development
        && inst.settings.instance.test_mode
        && identifier.is_some_and(|i| is_test_email(i) || is_test_phone(i))
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
    fn refusals_become_service_errors() {
        assert!(refused(Attempt::Verified).is_ok());
        assert_eq!(
            refused(Attempt::Expired).unwrap_err().code(),
            ErrorCode::VerificationExpired
        );
        assert_eq!(
            prepared(None).unwrap_err().code(),
            ErrorCode::VerificationMissing
        );
        let e = CoreError::from(Refusal::Param("strategy", "nope".into()));
        assert_eq!(e.param(), Some("strategy"));
    }
}
