//! The sign-up state machine.
//!
//! A sign-up collects fields step by step and verifies the email address or
//! phone number it was given; once nothing required is missing and nothing
//! that must be verified is unverified, it completes into a user and a
//! session. Each step is a pure function of the state, the input and `now`,
//! returning the new state and the [`Effect`]s the service performs, or a
//! [`Refusal`] that changes nothing. The field lists (`required_fields`,
//! `missing_fields`, …) are computed here, from the settings, and nowhere else.

use crate::error_code::ErrorCode;
use crate::kinds::SignUpStatus;
use crate::settings::InstanceSettings;
use crate::sign_in::Refusal;
use crate::verification::{Attempt, Proof, Strategy, Verification};

/// What the machine sees of a sign-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUpState {
    /// Where it stands.
    pub status: SignUpStatus,
    /// Which fields were given.
    pub given: Given,
    /// The email address's verification, once prepared.
    pub email_verification: Option<Verification>,
    /// The phone number's verification, once prepared.
    pub phone_verification: Option<Verification>,
}

/// Which of a sign-up's fields were given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // one flag per field Clerk lists
pub struct Given {
    /// `email_address`.
    pub email_address: bool,
    /// `phone_number`.
    pub phone_number: bool,
    /// `username`.
    pub username: bool,
    /// `first_name`.
    pub first_name: bool,
    /// `last_name`.
    pub last_name: bool,
    /// `password`.
    pub password: bool,
    /// `legal_accepted`.
    pub legal_accepted: bool,
}

/// The field lists of a sign-up, as Clerk names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignUpFields {
    /// Fields the instance requires.
    pub required: Vec<&'static str>,
    /// Fields the instance allows.
    pub optional: Vec<&'static str>,
    /// Required fields not given yet.
    pub missing: Vec<&'static str>,
    /// Given identifiers still to verify.
    pub unverified: Vec<&'static str>,
}

impl SignUpFields {
    /// Nothing missing, nothing unverified: the sign-up can complete.
    pub fn complete(&self) -> bool {
        self.missing.is_empty() && self.unverified.is_empty()
    }
}

/// What the service does after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Send the code the step was given, by the strategy's channel.
    SendCode(Strategy),
    /// Create the user with its identifications, and a session.
    CreateUser,
}

/// The outcome of an attempt step: the state to save (also when the code was
/// wrong), what came of it, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The new state.
    pub state: SignUpState,
    /// The verification's outcome.
    pub attempt: Attempt,
    /// Effects, in order.
    pub effects: Vec<Effect>,
}

/// The strategies that verify a sign-up's identifiers.
pub const VERIFICATIONS: &[Strategy] = &[
    Strategy::EmailCode,
    Strategy::PhoneCode,
    Strategy::EmailLink,
];

/// Computes the field lists from the settings.
pub fn fields(state: &SignUpState, settings: &InstanceSettings) -> SignUpFields {
    let u = &settings.user;
    let g = state.given;
    let mut f = SignUpFields::default();
    let attrs = [
        ("email_address", u.email_address, g.email_address),
        ("phone_number", u.phone_number, g.phone_number),
        ("username", u.username, g.username),
        ("first_name", u.first_name, g.first_name),
        ("last_name", u.last_name, g.last_name),
        ("password", u.password, g.password),
    ];
    for (name, attr, given) in attrs {
        if !attr.enabled {
            continue;
        }
        if attr.required {
            f.required.push(name);
            if !given {
                f.missing.push(name);
            }
        } else {
            f.optional.push(name);
        }
    }
    if u.legal_consent_enabled {
        f.required.push("legal_accepted");
        if !g.legal_accepted {
            f.missing.push("legal_accepted");
        }
    }
    let verified = |v: &Option<Verification>| v.as_ref().is_some_and(Verification::is_verified);
    if g.email_address && u.email_address.verify_at_sign_up && !verified(&state.email_verification)
    {
        f.unverified.push("email_address");
    }
    if g.phone_number && u.phone_number.verify_at_sign_up && !verified(&state.phone_verification) {
        f.unverified.push("phone_number");
    }
    f
}

/// Completes the sign-up when nothing is left to give or verify.
fn complete_if_ready(
    mut state: SignUpState,
    settings: &InstanceSettings,
) -> (SignUpState, Vec<Effect>) {
    if fields(&state, settings).complete() {
        state.status = SignUpStatus::Complete;
        return (state, vec![Effect::CreateUser]);
    }
    (state, Vec::new())
}

/// Fields were given (a create or an update): refused once complete; completes
/// when nothing is left.
pub fn fields_given(
    state: SignUpState,
    settings: &InstanceSettings,
) -> Result<(SignUpState, Vec<Effect>), Refusal> {
    if state.status == SignUpStatus::Complete {
        return Err(Refusal::Code(
            ErrorCode::SignUpAlreadyComplete,
            "This sign-up is already complete.",
        ));
    }
    Ok(complete_if_ready(state, settings))
}

fn verification_strategy(strategy: Strategy) -> Result<Strategy, Refusal> {
    if VERIFICATIONS.contains(&strategy) {
        Ok(strategy)
    } else {
        Err(Refusal::Param(
            "strategy",
            format!("{strategy} is not supported for sign-up verification"),
        ))
    }
}

fn slot(state: &mut SignUpState, strategy: Strategy) -> &mut Option<Verification> {
    if strategy == Strategy::PhoneCode {
        &mut state.phone_verification
    } else {
        &mut state.email_verification
    }
}

/// Prepares the verification of the email address (`email_code`) or phone
/// number (`phone_code`): a code bound to `key`, sent by the service.
pub fn prepare_verification(
    mut state: SignUpState,
    strategy: Strategy,
    key: &str,
    code: &str,
    now: i64,
) -> Result<(SignUpState, Vec<Effect>), Refusal> {
    let strategy = verification_strategy(strategy)?;
    *slot(&mut state, strategy) = Some(Verification::code_sent(strategy, key, code, None, now));
    Ok((state, vec![Effect::SendCode(strategy)]))
}

/// Attempts a verification; a right code completes the sign-up when nothing
/// else is left.
pub fn attempt_verification(
    mut state: SignUpState,
    strategy: Strategy,
    proof: Proof<'_>,
    key: &str,
    settings: &InstanceSettings,
    now: i64,
) -> Result<Step, Refusal> {
    let strategy = verification_strategy(strategy)?;
    let prepared = slot(&mut state, strategy).take().ok_or(Refusal::Code(
        ErrorCode::VerificationMissing,
        "Prepare the verification before attempting it.",
    ))?;
    let (verification, attempt) = prepared.attempt(key, proof, now);
    *slot(&mut state, strategy) = Some(verification);
    if attempt != Attempt::Verified {
        return Ok(Step {
            state,
            attempt,
            effects: Vec::new(),
        });
    }
    let (state, effects) = complete_if_ready(state, settings);
    Ok(Step {
        state,
        attempt,
        effects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> InstanceSettings {
        let mut s = InstanceSettings::default();
        s.user.email_address.enabled = true;
        s.user.email_address.required = true;
        s.user.email_address.verify_at_sign_up = true;
        s.user.password.enabled = true;
        s.user.password.required = true;
        s.user.phone_number.enabled = false;
        s.user.legal_consent_enabled = false;
        s
    }

    fn fresh() -> SignUpState {
        SignUpState {
            status: SignUpStatus::MissingRequirements,
            given: Given::default(),
            email_verification: None,
            phone_verification: None,
        }
    }

    fn code(code: &str) -> Proof<'_> {
        Proof::Code {
            code,
            accept_test_code: false,
        }
    }

    #[test]
    fn fields_follow_the_settings() {
        let s = settings();
        let f = fields(&fresh(), &s);
        assert!(f.required.contains(&"email_address") && f.required.contains(&"password"));
        assert_eq!(f.missing.len(), f.required.len());
        assert!(f.unverified.is_empty());

        let mut state = fresh();
        state.given.email_address = true;
        state.given.password = true;
        let f = fields(&state, &s);
        assert!(f.missing.is_empty());
        assert_eq!(f.unverified, ["email_address"]);
        assert!(!f.complete());
    }

    #[test]
    fn an_emailed_code_completes_the_sign_up() {
        let s = settings();
        let mut state = fresh();
        state.given.email_address = true;
        let (state, effects) = fields_given(state, &s).unwrap();
        assert!(effects.is_empty(), "password still missing");
        let (state, effects) =
            prepare_verification(state, Strategy::EmailCode, "sua_1", "123456", 0).unwrap();
        assert_eq!(effects, [Effect::SendCode(Strategy::EmailCode)]);
        let step = attempt_verification(state, Strategy::EmailCode, code("123456"), "sua_1", &s, 1)
            .unwrap();
        assert_eq!(step.attempt, Attempt::Verified);
        assert!(step.effects.is_empty(), "the password is still missing");
        let mut state = step.state;
        state.given.password = true;
        let (state, effects) = fields_given(state, &s).unwrap();
        assert_eq!(effects, [Effect::CreateUser]);
        assert_eq!(state.status, SignUpStatus::Complete);
        assert!(matches!(
            fields_given(state, &s),
            Err(Refusal::Code(ErrorCode::SignUpAlreadyComplete, _))
        ));
    }

    #[test]
    fn the_last_verification_completes_at_once() {
        let s = settings();
        let mut state = fresh();
        state.given.email_address = true;
        state.given.password = true;
        let (state, _) =
            prepare_verification(state, Strategy::EmailCode, "sua_1", "123456", 0).unwrap();
        let wrong =
            attempt_verification(state, Strategy::EmailCode, code("000000"), "sua_1", &s, 1)
                .unwrap();
        assert_eq!(wrong.attempt, Attempt::Incorrect);
        assert_eq!(wrong.state.status, SignUpStatus::MissingRequirements);
        let step = attempt_verification(
            wrong.state,
            Strategy::EmailCode,
            code("123456"),
            "sua_1",
            &s,
            2,
        )
        .unwrap();
        assert_eq!(step.effects, [Effect::CreateUser]);
        assert_eq!(step.state.status, SignUpStatus::Complete);
    }

    #[test]
    fn only_code_strategies_verify_and_only_when_prepared() {
        let s = settings();
        assert!(matches!(
            prepare_verification(fresh(), Strategy::Password, "k", "1", 0),
            Err(Refusal::Param("strategy", _))
        ));
        assert!(matches!(
            attempt_verification(fresh(), Strategy::PhoneCode, code("1"), "k", &s, 0),
            Err(Refusal::Code(ErrorCode::VerificationMissing, _))
        ));
    }
}
