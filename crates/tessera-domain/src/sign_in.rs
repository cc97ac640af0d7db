//! The sign-in state machine.
//!
//! Each step is a pure function of the attempt's state, the input and `now`,
//! returning the new state and the [`Effect`]s the service performs (send a
//! code, start a session) — or a [`Refusal`] that leaves the state as it was.
//! What needs IO happens around a step: the service finds the identification a
//! code goes to, checks a password against its slow hash (counting failures
//! towards lockout) and hands the verdict in as a [`Proof`].
//!
//! ```text
//! needs_identifier ─identify─▶ needs_first_factor ─first factor─▶ complete
//!                                 │  │                    └─▶ needs_second_factor ─▶ complete
//!                                 │  └─reset code─▶ needs_new_password ─new password─▶ (as above)
//! ```

use crate::error_code::ErrorCode;
use crate::kinds::SignInStatus;
use crate::verification::{Attempt, Proof, Strategy, Verification};

/// What a sign-in carries between steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInState {
    /// Where it stands.
    pub status: SignInStatus,
    /// The first factor's verification, once prepared or attempted.
    pub first_factor: Option<Verification>,
    /// The second factor's verification, once prepared.
    pub second_factor: Option<Verification>,
}

/// What the service does after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send the code the step was given to this identification.
    SendCode {
        /// Which code (and so which channel and message).
        strategy: Strategy,
        /// Where it goes.
        identification_id: String,
    },
    /// Start a session for the user and record it on the sign-in.
    StartSession {
        /// Whether two factors were verified.
        two_factors: bool,
    },
}

/// The outcome of an attempt step: the state to save (also when the proof was
/// wrong: attempts count), what came of it, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The new state.
    pub state: SignInState,
    /// The verification's outcome; anything but `Verified` is answered with its error after saving.
    pub attempt: Attempt,
    /// Effects, in order.
    pub effects: Vec<Effect>,
}

/// Why a step was refused; nothing changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A Clerk error with its message.
    Code(ErrorCode, &'static str),
    /// A parameter with a value this step cannot take.
    Param(&'static str, String),
}

/// The first-factor strategies this server offers.
pub const FIRST_FACTORS: &[Strategy] = &[
    Strategy::Password,
    Strategy::EmailCode,
    Strategy::PhoneCode,
    Strategy::ResetPasswordEmailCode,
    Strategy::ResetPasswordPhoneCode,
    Strategy::EmailLink,
    Strategy::Passkey,
];

/// The second-factor strategies this server offers.
pub const SECOND_FACTORS: &[Strategy] =
    &[Strategy::PhoneCode, Strategy::Totp, Strategy::BackupCode];

/// What a second-factor code is bound to: its sign-in, apart from the first factor's codes.
pub fn second_factor_key(sign_in_id: &str) -> String {
    format!("{sign_in_id}:second_factor")
}

fn first_factor(strategy: Strategy) -> Result<Strategy, Refusal> {
    if FIRST_FACTORS.contains(&strategy) {
        Ok(strategy)
    } else {
        Err(Refusal::Param(
            "strategy",
            format!("{strategy} is not supported"),
        ))
    }
}

/// After a verified first factor: a second factor when the user has one,
/// else a session.
fn first_factor_passed(
    mut state: SignInState,
    second_factor_available: bool,
) -> (SignInState, Vec<Effect>) {
    if second_factor_available {
        state.status = SignInStatus::NeedsSecondFactor;
        state.second_factor = None;
        return (state, Vec::new());
    }
    state.status = SignInStatus::Complete;
    (state, vec![Effect::StartSession { two_factors: false }])
}

/// A code for `strategy` sent to `target`: its verification, and the effect that sends it.
fn code_sent(
    strategy: Strategy,
    target: &str,
    key: &str,
    code: &str,
    now: i64,
) -> (Verification, Vec<Effect>) {
    let verification = Verification::code_sent(strategy, key, code, Some(target.to_owned()), now);
    let effects = vec![Effect::SendCode {
        strategy,
        identification_id: target.to_owned(),
    }];
    (verification, effects)
}

/// Identified and a right password given at once (`POST /v1/client/sign_ins` with a password).
pub fn identified_with_password(
    mut state: SignInState,
    second_factor_available: bool,
) -> (SignInState, Vec<Effect>) {
    state.first_factor = Some(Verification::passed(Strategy::Password));
    first_factor_passed(state, second_factor_available)
}

/// Identified by an invitation's ticket, which is the first factor too (the
/// link reached the address it was sent to).
pub fn identified_with_ticket(
    mut state: SignInState,
    second_factor_available: bool,
) -> (SignInState, Vec<Effect>) {
    state.first_factor = Some(Verification::passed(Strategy::Ticket));
    first_factor_passed(state, second_factor_available)
}

/// Prepares a first factor: a code strategy stores the code's verification
/// (bound to `key`) and sends it; a password needs nothing.
pub fn prepare_first_factor(
    mut state: SignInState,
    strategy: Strategy,
    target: Option<&str>,
    key: &str,
    code: &str,
    now: i64,
) -> Result<(SignInState, Vec<Effect>), Refusal> {
    let strategy = first_factor(strategy)?;
    if strategy.channel().is_none() {
        return Ok((state, Vec::new()));
    }
    let Some(target) = target else {
        return Err(Refusal::Param(
            "strategy",
            format!("{strategy} needs an identification of this account to send to"),
        ));
    };
    let (verification, effects) = code_sent(strategy, target, key, code, now);
    state.first_factor = Some(verification);
    Ok((state, effects))
}

/// Prepares the email-link first factor: the link's secret (bound to `key`)
/// is checked like a code when the link is opened, which returns to
/// `redirect_url`.
pub fn prepare_email_link(
    mut state: SignInState,
    target: &str,
    key: &str,
    secret: &str,
    redirect_url: String,
    now: i64,
) -> Result<(SignInState, Vec<Effect>), Refusal> {
    first_factor(Strategy::EmailLink)?;
    if state.status != SignInStatus::NeedsFirstFactor {
        return Err(Refusal::Code(
            ErrorCode::SignInAlreadyComplete,
            "This sign-in does not need a first factor now.",
        ));
    }
    let (mut verification, effects) = code_sent(Strategy::EmailLink, target, key, secret, now);
    verification.redirect_url = Some(redirect_url);
    state.first_factor = Some(verification);
    Ok((state, effects))
}

/// Prepares a passkey challenge: before identification (a discoverable
/// credential names its user) or after it.
pub fn prepare_passkey(
    mut state: SignInState,
    nonce: String,
    challenge: String,
    now: i64,
) -> Result<SignInState, Refusal> {
    if !matches!(
        state.status,
        SignInStatus::NeedsIdentifier | SignInStatus::NeedsFirstFactor
    ) {
        return Err(Refusal::Code(
            ErrorCode::SignInAlreadyComplete,
            "This sign-in does not need a first factor now.",
        ));
    }
    state.first_factor = Some(Verification::passkey_challenge(nonce, challenge, now));
    Ok(state)
}

/// Attempts the passkey first factor with the service's verdict on the
/// signature. `identified` says the credential belongs to the sign-in's user
/// (for a discoverable credential the service has just identified them). A
/// passkey proves possession and the user's verification at once, so a
/// right one completes the sign-in without a second factor.
pub fn attempt_passkey(
    state: SignInState,
    identified: bool,
    verified: bool,
    now: i64,
) -> Result<Step, Refusal> {
    let proof = Proof::Passkey {
        verified: verified && identified,
    };
    attempt_first_factor(state, Strategy::Passkey, proof, "", false, now)
}

/// Attempts the first factor. A wrong password is refused outright (its
/// failure was counted by the password check); a code attempt is saved
/// whatever its outcome. A reset code leads to `needs_new_password`.
pub fn attempt_first_factor(
    state: SignInState,
    strategy: Strategy,
    proof: Proof<'_>,
    key: &str,
    second_factor_available: bool,
    now: i64,
) -> Result<Step, Refusal> {
    if state.status == SignInStatus::Complete {
        return Err(Refusal::Code(
            ErrorCode::SignInAlreadyComplete,
            "This sign-in is already complete.",
        ));
    }
    let strategy = first_factor(strategy)?;
    if strategy == Strategy::Password {
        if !matches!(proof, Proof::Password { matched: true }) {
            return Err(Refusal::Code(
                ErrorCode::FormPasswordIncorrect,
                "Password is incorrect. Try again, or use another method.",
            ));
        }
        let (state, effects) = identified_with_password(state, second_factor_available);
        return Ok(Step {
            state,
            attempt: Attempt::Verified,
            effects,
        });
    }
    let mut state = state;
    let prepared = state
        .first_factor
        .take()
        .filter(|v| v.strategy == strategy)
        .ok_or(Refusal::Code(
            ErrorCode::VerificationMissing,
            "Prepare the first factor before attempting it.",
        ))?;
    let (verification, attempt) = prepared.attempt(key, proof, now);
    state.first_factor = Some(verification);
    if attempt != Attempt::Verified {
        return Ok(Step {
            state,
            attempt,
            effects: Vec::new(),
        });
    }
    if strategy.resets_password() {
        // The code proved control of the address; the new password comes next.
        state.status = SignInStatus::NeedsNewPassword;
        return Ok(Step {
            state,
            attempt,
            effects: Vec::new(),
        });
    }
    let (state, effects) = first_factor_passed(state, second_factor_available);
    Ok(Step {
        state,
        attempt,
        effects,
    })
}

/// A new password was chosen after a reset code; the sign-in continues as
/// after a first factor.
pub fn new_password_set(
    state: SignInState,
    second_factor_available: bool,
) -> Result<(SignInState, Vec<Effect>), Refusal> {
    if state.status != SignInStatus::NeedsNewPassword {
        return Err(Refusal::Code(
            ErrorCode::SignInNoPasswordReset,
            "Verify a password reset code before choosing a new password.",
        ));
    }
    Ok(first_factor_passed(state, second_factor_available))
}

/// The sign-in is at its second factor, and `strategy` is one this server has.
pub fn require_second_factor(state: &SignInState, strategy: Strategy) -> Result<(), Refusal> {
    if state.status != SignInStatus::NeedsSecondFactor {
        return Err(Refusal::Code(
            ErrorCode::SignInNoSecondFactor,
            "This sign-in does not need a second factor now.",
        ));
    }
    if !SECOND_FACTORS.contains(&strategy) {
        return Err(Refusal::Param(
            "strategy",
            format!("{strategy} is not a second factor of this account"),
        ));
    }
    Ok(())
}

/// Prepares the second factor: a code to `target`, bound to `key`.
pub fn prepare_second_factor(
    mut state: SignInState,
    strategy: Strategy,
    target: &str,
    key: &str,
    code: &str,
    now: i64,
) -> Result<(SignInState, Vec<Effect>), Refusal> {
    require_second_factor(&state, strategy)?;
    let (verification, effects) = code_sent(strategy, target, key, code, now);
    state.second_factor = Some(verification);
    Ok((state, effects))
}

/// Attempts the second factor; `still_valid` says whether the identification
/// the code went to is still one of the user's second factors.
pub fn attempt_second_factor(
    mut state: SignInState,
    strategy: Strategy,
    proof: Proof<'_>,
    key: &str,
    still_valid: impl FnOnce(&str) -> bool,
    now: i64,
) -> Result<Step, Refusal> {
    require_second_factor(&state, strategy)?;
    let prepared = state
        .second_factor
        .clone()
        .filter(|v| v.strategy == strategy)
        .ok_or(Refusal::Code(
            ErrorCode::VerificationMissing,
            "Prepare the second factor before attempting it.",
        ))?;
    if !prepared
        .identification_id
        .as_deref()
        .is_some_and(still_valid)
    {
        return Err(Refusal::Code(
            ErrorCode::VerificationMissing,
            "Prepare the second factor again: that phone number is no longer one.",
        ));
    }
    let (verification, attempt) = prepared.attempt(key, proof, now);
    state.second_factor = Some(verification);
    let mut effects = Vec::new();
    if attempt == Attempt::Verified {
        state.status = SignInStatus::Complete;
        effects.push(Effect::StartSession { two_factors: true });
    }
    Ok(Step {
        state,
        attempt,
        effects,
    })
}

/// Attempts a second factor the user holds (an authenticator app's code, a
/// backup code), which the service checked itself and hands in as `matched`:
/// nothing is prepared, and a wrong code changes nothing here (the service
/// counts it towards the lockout).
pub fn attempt_held_second_factor(
    mut state: SignInState,
    strategy: Strategy,
    matched: bool,
) -> Result<Step, Refusal> {
    require_second_factor(&state, strategy)?;
    if strategy.channel().is_some() {
        return Err(Refusal::Param(
            "strategy",
            format!("{strategy} sends a code: prepare it first"),
        ));
    }
    if !matched {
        return Err(Refusal::Code(
            ErrorCode::FormCodeIncorrect,
            "Incorrect code",
        ));
    }
    state.second_factor = Some(Verification::passed(strategy));
    state.status = SignInStatus::Complete;
    Ok(Step {
        state,
        attempt: Attempt::Verified,
        effects: vec![Effect::StartSession { two_factors: true }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::VerificationStatus;

    fn identified() -> SignInState {
        SignInState {
            status: SignInStatus::NeedsFirstFactor,
            first_factor: None,
            second_factor: None,
        }
    }

    fn code(code: &str) -> Proof<'_> {
        Proof::Code {
            code,
            accept_test_code: false,
        }
    }

    #[test]
    fn a_held_second_factor_completes_when_right() {
        let (state, _) = identified_with_password(identified(), true);
        let wrong = attempt_held_second_factor(state.clone(), Strategy::Totp, false);
        assert!(matches!(
            wrong,
            Err(Refusal::Code(ErrorCode::FormCodeIncorrect, _))
        ));
        let step = attempt_held_second_factor(state.clone(), Strategy::BackupCode, true).unwrap();
        assert_eq!(step.state.status, SignInStatus::Complete);
        assert_eq!(step.effects, [Effect::StartSession { two_factors: true }]);
        assert!(attempt_held_second_factor(state, Strategy::PhoneCode, true).is_err());
        assert!(attempt_held_second_factor(identified(), Strategy::Totp, true).is_err());
    }

    #[test]
    fn a_password_completes_or_asks_for_the_second_factor() {
        let step = attempt_first_factor(
            identified(),
            Strategy::Password,
            Proof::Password { matched: true },
            "sia_1",
            false,
            0,
        )
        .unwrap();
        assert_eq!(step.state.status, SignInStatus::Complete);
        assert_eq!(step.effects, [Effect::StartSession { two_factors: false }]);
        assert!(step.state.first_factor.unwrap().is_verified());

        let (state, effects) = identified_with_password(identified(), true);
        assert_eq!(state.status, SignInStatus::NeedsSecondFactor);
        assert!(effects.is_empty());

        // An invitation's ticket is a first factor too.
        let (state, effects) = identified_with_ticket(identified(), false);
        assert_eq!(state.status, SignInStatus::Complete);
        assert_eq!(effects, [Effect::StartSession { two_factors: false }]);
        assert_eq!(state.first_factor.unwrap().strategy, Strategy::Ticket);

        let wrong = attempt_first_factor(
            identified(),
            Strategy::Password,
            Proof::Password { matched: false },
            "sia_1",
            false,
            0,
        );
        assert!(matches!(
            wrong,
            Err(Refusal::Code(ErrorCode::FormPasswordIncorrect, _))
        ));
    }

    #[test]
    fn an_email_code_is_sent_then_checked() {
        let (state, effects) = prepare_first_factor(
            identified(),
            Strategy::EmailCode,
            Some("idn_1"),
            "sia_1",
            "111111",
            0,
        )
        .unwrap();
        assert_eq!(
            effects,
            [Effect::SendCode {
                strategy: Strategy::EmailCode,
                identification_id: "idn_1".into()
            }]
        );
        let step = attempt_first_factor(
            state.clone(),
            Strategy::EmailCode,
            code("222222"),
            "sia_1",
            false,
            1,
        )
        .unwrap();
        assert_eq!(step.attempt, Attempt::Incorrect);
        assert_eq!(step.state.status, SignInStatus::NeedsFirstFactor);
        assert_eq!(step.state.first_factor.as_ref().unwrap().attempts, 1);
        let step = attempt_first_factor(
            step.state,
            Strategy::EmailCode,
            code("111111"),
            "sia_1",
            false,
            2,
        )
        .unwrap();
        assert_eq!(step.attempt, Attempt::Verified);
        assert_eq!(step.state.status, SignInStatus::Complete);

        // A code prepared for one strategy cannot be attempted as another.
        let other = attempt_first_factor(
            state,
            Strategy::PhoneCode,
            code("111111"),
            "sia_1",
            false,
            1,
        );
        assert!(matches!(
            other,
            Err(Refusal::Code(ErrorCode::VerificationMissing, _))
        ));
        // A complete sign-in takes no more attempts.
        let done = attempt_first_factor(
            step.state,
            Strategy::EmailCode,
            code("1"),
            "sia_1",
            false,
            3,
        );
        assert!(matches!(
            done,
            Err(Refusal::Code(ErrorCode::SignInAlreadyComplete, _))
        ));
    }

    #[test]
    fn a_reset_code_asks_for_a_new_password() {
        let (state, _) = prepare_first_factor(
            identified(),
            Strategy::ResetPasswordEmailCode,
            Some("idn_1"),
            "sia_1",
            "111111",
            0,
        )
        .unwrap();
        assert!(matches!(
            new_password_set(state.clone(), false),
            Err(Refusal::Code(ErrorCode::SignInNoPasswordReset, _))
        ));
        let step = attempt_first_factor(
            state,
            Strategy::ResetPasswordEmailCode,
            code("111111"),
            "sia_1",
            false,
            1,
        )
        .unwrap();
        assert_eq!(step.state.status, SignInStatus::NeedsNewPassword);
        assert!(step.effects.is_empty());
        let (state, effects) = new_password_set(step.state, true).unwrap();
        assert_eq!(state.status, SignInStatus::NeedsSecondFactor);
        assert!(effects.is_empty());
    }

    #[test]
    fn the_second_factor_checks_its_target_and_completes() {
        let (state, _) = identified_with_password(identified(), true);
        let key = second_factor_key("sia_1");
        assert!(matches!(
            prepare_second_factor(state.clone(), Strategy::EmailCode, "idn_p", &key, "1", 0),
            Err(Refusal::Param("strategy", _))
        ));
        let (state, effects) =
            prepare_second_factor(state, Strategy::PhoneCode, "idn_p", &key, "333333", 0).unwrap();
        assert_eq!(effects.len(), 1);
        let gone = attempt_second_factor(
            state.clone(),
            Strategy::PhoneCode,
            code("333333"),
            &key,
            |_| false,
            1,
        );
        assert!(matches!(
            gone,
            Err(Refusal::Code(ErrorCode::VerificationMissing, _))
        ));
        // The first factor's key does not open the second factor.
        let step = attempt_second_factor(
            state,
            Strategy::PhoneCode,
            code("333333"),
            "sia_1",
            |id| id == "idn_p",
            1,
        )
        .unwrap();
        assert_eq!(step.attempt, Attempt::Incorrect);
        let step = attempt_second_factor(
            step.state,
            Strategy::PhoneCode,
            code("333333"),
            &key,
            |id| id == "idn_p",
            2,
        )
        .unwrap();
        assert_eq!(step.attempt, Attempt::Verified);
        assert_eq!(step.state.status, SignInStatus::Complete);
        assert_eq!(step.effects, [Effect::StartSession { two_factors: true }]);
        assert_eq!(
            step.state.second_factor.unwrap().status,
            VerificationStatus::Verified
        );
    }

    #[test]
    fn a_passkey_completes_without_a_second_factor() {
        let anonymous = SignInState {
            status: SignInStatus::NeedsIdentifier,
            first_factor: None,
            second_factor: None,
        };
        let state = prepare_passkey(anonymous, "{}".into(), "state".into(), 0).unwrap();
        let step = attempt_passkey(state, false, true, 1).unwrap();
        assert_eq!(
            step.attempt,
            Attempt::Incorrect,
            "another user's credential"
        );
        assert!(step.effects.is_empty());
        let step = attempt_passkey(step.state, true, true, 2).unwrap();
        assert_eq!(step.attempt, Attempt::Verified);
        assert_eq!(step.state.status, SignInStatus::Complete);
        assert_eq!(
            step.effects,
            vec![Effect::StartSession { two_factors: false }]
        );
        assert!(attempt_passkey(step.state.clone(), true, true, 3).is_err());
        assert!(prepare_passkey(step.state, "{}".into(), "s".into(), 3).is_err());
        assert!(
            attempt_passkey(identified(), true, true, 1).is_err(),
            "nothing prepared"
        );
    }

    #[test]
    fn strategies_outside_the_factors_are_refused() {
        assert!(matches!(
            prepare_first_factor(identified(), Strategy::Admin, None, "k", "1", 0),
            Err(Refusal::Param("strategy", _))
        ));
        assert!(matches!(
            require_second_factor(&identified(), Strategy::PhoneCode),
            Err(Refusal::Code(ErrorCode::SignInNoSecondFactor, _))
        ));
    }
}
