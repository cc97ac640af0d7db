//! Session reverification (step-up): a signed-in session proves its user
//! again — a first factor, a second factor, or both — before a sensitive
//! action. Passing a factor resets its age in the session (`fva`).
//!
//! ```text
//! start(first_factor)                     needs_first_factor ─▶ complete
//! start(second_factor), user with 2FA     needs_second_factor ─▶ complete
//! start(multi_factor), user with 2FA      needs_first_factor ─▶ needs_second_factor ─▶ complete
//! second_factor / multi_factor, no 2FA    as first_factor
//! ```

use serde::{Deserialize, Serialize};

use crate::error_code::ErrorCode;
use crate::verification::{Strategy, Verification};

wire_enum! {
    /// What a reverification asks for (`level`).
    Level {
        /// A first factor (password, emailed or SMS code).
        FirstFactor => "first_factor",
        /// A second factor (falls back to a first factor for a user without one).
        SecondFactor => "second_factor",
        /// Both (a first factor alone for a user without a second factor).
        MultiFactor => "multi_factor",
    }
}

wire_enum! {
    /// Where a reverification stands (`status`).
    Status {
        /// A first factor is next.
        NeedsFirstFactor => "needs_first_factor",
        /// A second factor is next.
        NeedsSecondFactor => "needs_second_factor",
        /// Done: the factors' ages are reset.
        Complete => "complete",
    }
}

/// A session's reverification in progress (or just completed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reverification {
    /// Its id (`sessver_…`); codes sent for it are bound to it.
    pub id: String,
    /// What was asked for.
    pub level: Level,
    /// Where it stands.
    pub status: Status,
    /// A second factor follows the first.
    pub then_second: bool,
    /// The first factor's verification, once prepared or passed.
    pub first_factor: Option<Verification>,
    /// The second factor's verification, once prepared or passed.
    pub second_factor: Option<Verification>,
    /// When it started (ms).
    pub created_at: i64,
}

impl Reverification {
    /// Starts one for a user who has (`has_second_factor`) a second factor or not.
    pub fn start(id: String, level: Level, has_second_factor: bool, now: i64) -> Self {
        let status = match level {
            Level::SecondFactor if has_second_factor => Status::NeedsSecondFactor,
            _ => Status::NeedsFirstFactor,
        };
        Self {
            id,
            level,
            status,
            then_second: level == Level::MultiFactor && has_second_factor,
            first_factor: None,
            second_factor: None,
            created_at: now,
        }
    }

    /// The step a factor attempt is for must be the one it stands at.
    pub fn expect(&self, status: Status) -> Result<(), (ErrorCode, &'static str)> {
        if self.status == status {
            return Ok(());
        }
        Err(match self.status {
            Status::Complete => (
                ErrorCode::VerificationAlreadyVerified,
                "This verification is complete; start another.",
            ),
            _ => (
                ErrorCode::VerificationMissing,
                "This verification does not need that factor now.",
            ),
        })
    }

    /// A first factor passed (by `strategy`): the second comes next, or it is complete.
    pub fn first_factor_passed(mut self, verification: Verification) -> Self {
        self.first_factor = Some(verification);
        self.status = if self.then_second {
            Status::NeedsSecondFactor
        } else {
            Status::Complete
        };
        self
    }

    /// A second factor passed: complete.
    pub fn second_factor_passed(mut self, strategy: Strategy) -> Self {
        self.second_factor = Some(Verification::passed(strategy));
        self.status = Status::Complete;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(level: Level, second: bool) -> Reverification {
        Reverification::start("sessver_1".to_owned(), level, second, 0)
    }

    #[test]
    fn levels_fall_back_to_a_first_factor_without_a_second() {
        assert_eq!(
            start(Level::FirstFactor, true).status,
            Status::NeedsFirstFactor
        );
        assert_eq!(
            start(Level::SecondFactor, true).status,
            Status::NeedsSecondFactor
        );
        assert_eq!(
            start(Level::SecondFactor, false).status,
            Status::NeedsFirstFactor
        );
        let multi = start(Level::MultiFactor, true);
        assert_eq!(multi.status, Status::NeedsFirstFactor);
        let next = multi.first_factor_passed(Verification::passed(Strategy::Password));
        assert_eq!(next.status, Status::NeedsSecondFactor);
        assert_eq!(
            next.second_factor_passed(Strategy::Totp).status,
            Status::Complete
        );
        let alone = start(Level::MultiFactor, false)
            .first_factor_passed(Verification::passed(Strategy::Password));
        assert_eq!(alone.status, Status::Complete);
    }

    #[test]
    fn a_factor_is_taken_only_at_its_step() {
        let r = start(Level::FirstFactor, false);
        assert!(r.expect(Status::NeedsFirstFactor).is_ok());
        assert!(r.expect(Status::NeedsSecondFactor).is_err());
        let done = r.first_factor_passed(Verification::passed(Strategy::EmailCode));
        assert_eq!(
            done.expect(Status::NeedsFirstFactor).unwrap_err().0,
            ErrorCode::VerificationAlreadyVerified
        );
    }
}
