//! Session reverification (`/v1/client/sessions/{id}/verify…`): a signed-in
//! session proves its user again, and the factors it passes are timestamped
//! on the session, so its next token's `fva` says they are fresh.

use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::{SessionId, SessionVerificationId};
use tessera_domain::kinds::{IdentificationKind, VerificationStatus};
use tessera_domain::reverification::{Level, Reverification, Status};
use tessera_domain::verification::{Attempt, Proof, Strategy, Verification};
use tessera_store::records::{Client, Identification, Session};

use super::clients::load_view;
use super::{effective_status, ClientView};
use crate::clock::now_ms;
use crate::codes;
use crate::codes::accepts_test_code;
use crate::error::{CoreError, CoreResult};
use crate::mailer::CodePurpose;
use crate::passkeys::Assertion;
use crate::passwords::Password;
use crate::request::RequestInfo;
use crate::second_factors::{held_second_factors, second_factor_phones};
use crate::users::UserView;
use crate::work::Work;

/// What a factor attempt presents.
#[derive(Debug)]
pub enum FactorProof {
    /// The account's password.
    Password(Password),
    /// A code (emailed, by SMS, an authenticator app's, a backup code).
    Code(String),
    /// A passkey's signature over the prepared challenge (the browser's
    /// assertion as JSON).
    PublicKeyCredential(String),
}

fn refusal((code, detail): (ErrorCode, &'static str)) -> CoreError {
    CoreError::NotAllowed {
        code,
        detail: detail.to_owned(),
    }
}

/// The session's reverification, standing at the first (or `second`) factor.
fn at_step(session: &Session, second: bool) -> CoreResult<Reverification> {
    let r = session.reverification.clone().ok_or_else(|| {
        refusal((
            ErrorCode::VerificationMissing,
            "Start a verification first.",
        ))
    })?;
    let step = if second {
        Status::NeedsSecondFactor
    } else {
        Status::NeedsFirstFactor
    };
    r.expect(step).map_err(refusal)?;
    Ok(r)
}

fn code_key(r: &Reverification, second: bool) -> String {
    format!("{}:{}", r.id, if second { "second" } else { "first" })
}

/// The first-factor strategies the user can reverify with.
pub fn first_factors<'v>(
    core: &crate::Core,
    view: &'v UserView,
) -> Vec<(Strategy, Option<&'v Identification>)> {
    let settings = &core.instance().settings.user;
    let mut out = Vec::new();
    if view.user.password_hash.is_some() {
        out.push((Strategy::Password, None));
    }
    for idn in &view.identifications {
        if idn.verification_status != VerificationStatus::Verified {
            continue;
        }
        match idn.kind {
            IdentificationKind::EmailAddress if settings.email_address.enabled => {
                out.push((Strategy::EmailCode, Some(idn)));
            }
            IdentificationKind::PhoneNumber if settings.phone_number.enabled => {
                out.push((Strategy::PhoneCode, Some(idn)));
            }
            _ => {}
        }
    }
    if settings.passkey_enabled && !view.passkeys.is_empty() {
        out.push((Strategy::Passkey, None));
    }
    out
}

impl crate::Sessions<'_> {
    /// The caller's signed-in session `id`, in a transaction, with its user.
    async fn reverifying(
        &self,
        client: &Client,
        id: &str,
        now: i64,
    ) -> CoreResult<(Work, Session, UserView)> {
        let sid = SessionId::parse(id).ok_or(CoreError::NotFound)?;
        let mut tx = self.begin().await?;
        let session = tessera_store::sessions::get(&mut tx, &sid).await?;
        if session.client_id != client.id {
            return Err(CoreError::NotFound);
        }
        if !effective_status(&session, now).is_signed_in() {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::SessionNotActive,
                detail: "This session has ended; sign in again.".to_owned(),
            });
        }
        let user = crate::users::load_view(&mut tx, &session.user_id).await?;
        if user.user.banned {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::UserBanned,
                detail: "This account is banned.".to_owned(),
            });
        }
        if user.user.is_locked(now) {
            return Err(crate::rate_limits::locked());
        }
        Ok((tx, session, user))
    }

    /// Saves the session's reverification over the version this request
    /// read (`read_at`): a concurrent step makes this one a
    /// `request_conflict` that changes nothing.
    async fn save_reverification(
        &self,
        mut tx: Work,
        client: &Client,
        mut session: Session,
        read_at: i64,
        now: i64,
    ) -> CoreResult<(ClientView, Session)> {
        session.updated_at = now;
        session.reverification_version = read_at;
        tessera_store::sessions::save_reverification(&mut tx, &mut session).await?;
        let client = tessera_store::clients::get(&mut tx, &client.id).await?;
        let view = load_view(&mut tx, client, now).await?;
        tx.commit().await?;
        let session = view
            .sessions
            .iter()
            .find(|s| s.id == session.id)
            .cloned()
            .unwrap_or(session);
        Ok((view, session))
    }

    /// `POST /v1/client/sessions/{id}/verify` (`level`): starts a
    /// reverification, replacing any in progress.
    pub async fn start_reverification(
        &self,
        client: &Client,
        id: &str,
        level: Level,
    ) -> CoreResult<(ClientView, Session)> {
        let now = now_ms();
        let (tx, mut session, user) = self.reverifying(client, id, now).await?;
        let read_at = session.reverification_version;
        let held = held_second_factors(
            &self.instance().settings.user,
            &user.user,
            &user.identifications,
        );
        session.reverification = Some(Reverification::start(
            SessionVerificationId::generate(now).as_str().to_owned(),
            level,
            !held.is_empty(),
            now,
        ));
        self.save_reverification(tx, client, session, read_at, now)
            .await
    }

    /// `POST …/verify/prepare_first_factor|prepare_second_factor`: sends a
    /// code (`email_code`, `phone_code`) to one of the user's identifications.
    pub async fn prepare_reverification(
        &self,
        client: &Client,
        id: &str,
        second: bool,
        strategy: Strategy,
        identification_id: Option<&str>,
        info: &RequestInfo,
    ) -> CoreResult<(ClientView, Session)> {
        let now = now_ms();
        let (tx, mut session, user) = self.reverifying(client, id, now).await?;
        let read_at = session.reverification_version;
        let mut r = at_step(&session, second)?;
        if strategy == Strategy::Passkey && !second {
            if user.passkeys.is_empty() {
                return Err(CoreError::value(
                    "strategy",
                    "this account has no passkey to verify with",
                ));
            }
            let (nonce, challenge) = self
                .passkeys()
                .challenge(&user.passkeys, info.origin.as_deref())?;
            r.first_factor = Some(Verification::passkey_challenge(nonce, challenge, now));
            session.reverification = Some(r);
            return self
                .save_reverification(tx, client, session, read_at, now)
                .await;
        }
        let candidates: Vec<&Identification> = if second {
            second_factor_phones(&user.identifications)
        } else {
            first_factors(self, &user)
                .into_iter()
                .filter(|(s, _)| *s == strategy)
                .filter_map(|(_, idn)| idn)
                .collect()
        };
        let kind = match strategy.channel() {
            Some(kind) if !second || kind == IdentificationKind::PhoneNumber => kind,
            _ => {
                return Err(CoreError::value(
                    "strategy",
                    format!("{strategy} sends nothing to prepare"),
                ))
            }
        };
        let target = match identification_id.filter(|i| !i.is_empty()) {
            Some(wanted) => candidates.into_iter().find(|i| i.id.as_str() == wanted),
            None => candidates.into_iter().next(),
        }
        .cloned()
        .ok_or_else(|| {
            let param = match kind {
                IdentificationKind::EmailAddress => "email_address_id",
                IdentificationKind::PhoneNumber => "phone_number_id",
            };
            CoreError::value(
                param,
                "must be one of this account's verified identifications for this step",
            )
        })?;
        // The limits write on their own: not inside this transaction.
        drop(tx);
        self.rate_limit(
            crate::rate_limits::CODES_PER_ADDRESS,
            Some(&target.identifier),
        )
        .await?;
        self.rate_limit(crate::rate_limits::CODES_PER_IP, info.ip.as_deref())
            .await?;
        let mut tx = self.begin().await?;
        session = tessera_store::sessions::get(&mut tx, &session.id).await?;
        let code = codes::generate();
        let v = Verification::code_sent(
            strategy,
            &code_key(&r, second),
            &code,
            Some(target.id.as_str().to_owned()),
            now,
        );
        if second {
            r.second_factor = Some(v);
        } else {
            r.first_factor = Some(v);
        }
        session.reverification = Some(r);
        let out = self
            .save_reverification(tx, client, session, read_at, now)
            .await?;
        let is_test = accepts_test_code(self, Some(&target.identifier));
        self.send_code(
            kind,
            &target.identifier,
            is_test,
            CodePurpose::SignIn,
            &code,
        )
        .await;
        Ok(out)
    }

    /// `POST …/verify/attempt_first_factor|attempt_second_factor`: a right
    /// factor moves the reverification on and stamps the factor's time on the
    /// session; a wrong one answers its error (and counts towards the lockout).
    #[allow(clippy::too_many_arguments)]
    pub async fn attempt_reverification(
        &self,
        client: &Client,
        id: &str,
        second: bool,
        strategy: Strategy,
        proof: FactorProof,
        info: &RequestInfo,
    ) -> CoreResult<(ClientView, Session)> {
        // Limited as sign-in attempts are: per IP and per session.
        self.rate_limit(crate::rate_limits::SIGN_IN_PER_IP, info.ip.as_deref())
            .await?;
        self.rate_limit(crate::rate_limits::SIGN_IN_PER_IDENTIFIER, Some(id))
            .await?;
        let now = now_ms();
        let (mut tx, mut session, mut user) = self.reverifying(client, id, now).await?;
        let read_at = session.reverification_version;
        let r = at_step(&session, second)?;
        let allowed = if second {
            held_second_factors(
                &self.instance().settings.user,
                &user.user,
                &user.identifications,
            )
        } else {
            first_factors(self, &user)
                .into_iter()
                .map(|(s, _)| s)
                .collect()
        };
        if !allowed.contains(&strategy) {
            return Err(CoreError::value(
                "strategy",
                format!("{strategy} is not a factor of this account for this step"),
            ));
        }
        let mut outcome = Attempt::Verified;
        let mut passed = None;
        match (strategy, proof) {
            (Strategy::Password, FactorProof::Password(password)) => {
                drop(tx);
                if !self
                    .users()
                    .verify_password(user.user.id.as_str(), password)
                    .await?
                {
                    self.count_wrong_factor(&user.user.id, now).await?;
                    return Err(CoreError::NotAllowed {
                        code: ErrorCode::FormPasswordIncorrect,
                        detail: "Password is incorrect. Try again, or use another method."
                            .to_owned(),
                    });
                }
                tx = self.begin().await?;
                session = tessera_store::sessions::get(&mut tx, &session.id).await?;
                passed = Some(Verification::passed(Strategy::Password));
            }
            (Strategy::Totp | Strategy::BackupCode, FactorProof::Code(code)) => {
                let had_codes = user.user.backup_code_enabled;
                let ok = self
                    .mfa()
                    .check_code(&mut tx, &mut user.user, strategy, &code, now)
                    .await?;
                if !ok {
                    drop(tx);
                    self.count_wrong_factor(&user.user.id, now).await?;
                    return Err(CoreError::NotAllowed {
                        code: ErrorCode::FormCodeIncorrect,
                        detail: "Incorrect code".to_owned(),
                    });
                }
                if had_codes != user.user.backup_code_enabled {
                    user.user.updated_at = now;
                    tessera_store::users::update(&mut tx, &user.user).await?;
                    self.emit_user(&mut tx, "user.updated", &user, None).await?;
                }
                passed = Some(Verification::passed(strategy));
            }
            (Strategy::EmailCode | Strategy::PhoneCode, FactorProof::Code(code)) => {
                let prepared = if second {
                    &r.second_factor
                } else {
                    &r.first_factor
                };
                let prepared = prepared
                    .clone()
                    .filter(|v| v.strategy == strategy)
                    .ok_or_else(|| {
                        refusal((
                            ErrorCode::VerificationMissing,
                            "Prepare this factor before attempting it.",
                        ))
                    })?;
                let sent_to = prepared
                    .identification_id
                    .as_deref()
                    .and_then(|i| user.identifications.iter().find(|x| x.id.as_str() == i))
                    .map(|i| i.identifier.clone());
                let proof = Proof::Code {
                    code: &code,
                    accept_test_code: accepts_test_code(self, sent_to.as_deref()),
                };
                let (state, attempt) = prepared.attempt(&code_key(&r, second), proof, now);
                outcome = attempt;
                if attempt == Attempt::Verified {
                    passed = Some(state);
                } else {
                    let mut r = r.clone();
                    if second {
                        r.second_factor = Some(state);
                    } else {
                        r.first_factor = Some(state);
                    }
                    session.reverification = Some(r);
                }
            }
            (Strategy::Passkey, FactorProof::PublicKeyCredential(credential)) if !second => {
                let prepared = r
                    .first_factor
                    .clone()
                    .filter(|v| v.strategy == Strategy::Passkey)
                    .ok_or_else(|| {
                        refusal((
                            ErrorCode::VerificationMissing,
                            "Prepare the passkey factor before attempting it.",
                        ))
                    })?;
                let mut verified = false;
                if let (Some(challenge), VerificationStatus::Unverified) =
                    (prepared.challenge.as_deref(), prepared.status_at(now))
                {
                    let assertion = self
                        .passkeys()
                        .check_assertion(&mut tx, challenge, &credential, info.origin.as_deref())
                        .await?;
                    verified = assertion == Assertion::Verified(user.user.id.clone());
                }
                let (state, attempt) = prepared.attempt("", Proof::Passkey { verified }, now);
                outcome = attempt;
                if attempt == Attempt::Verified {
                    passed = Some(state);
                } else {
                    let mut r = r.clone();
                    r.first_factor = Some(state);
                    session.reverification = Some(r);
                }
            }
            (_, FactorProof::PublicKeyCredential(_)) => {
                return Err(CoreError::value(
                    "strategy",
                    "a passkey is a first factor here",
                ))
            }
            (_, FactorProof::Password(_)) => return Err(CoreError::missing("code")),
            (_, FactorProof::Code(_)) => return Err(CoreError::missing("password")),
        }
        if let Some(v) = passed {
            let r = session.reverification.clone().unwrap_or(r);
            session.reverification = Some(if second {
                session.second_factor_at = Some(now);
                r.second_factor_passed(strategy)
            } else {
                session.first_factor_at = Some(now);
                r.first_factor_passed(v)
            });
        }
        let out = self
            .save_reverification(tx, client, session, read_at, now)
            .await?;
        if strategy == Strategy::Passkey && outcome == Attempt::Incorrect {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::PasskeyInvalid,
                detail: "The passkey could not be verified. Try again, or use another method."
                    .to_owned(),
            });
        }
        codes::refused(outcome)?;
        Ok(out)
    }
}
