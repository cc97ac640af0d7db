//! Sign-in attempts: identify the user, then a first factor (password or a
//! code by email or SMS), then an SMS code as second factor for users who
//! reserved a phone number for it, then a session. Wrong passwords count
//! towards lockout.

use tessera_domain::error_code::ErrorCode;
use tessera_domain::identifiers::{self, is_test_email};
use tessera_domain::ids::{IdentificationId, SignInId};
use tessera_domain::kinds::SignInStatus;
use tessera_domain::kinds::{IdentificationKind, VerificationStatus};
use tessera_domain::sign_in::{self as machine, Effect, SignInState};
use tessera_domain::verification::{Attempt, Proof, Strategy};
use tessera_store::attempts::SignIn;
use tessera_store::records::{Client, Identification, User};
use tessera_store::Conn;

use crate::clock::now_ms;
use crate::codes::{self, accepts_test_code};
use crate::error::{CoreError, CoreResult};
use crate::mailer::CodePurpose;
use crate::passwords::{Password, Verdict};
use crate::rate_limits::locked;
use crate::request::RequestInfo;
use crate::second_factors::held_second_factors;
use crate::second_factors::second_factor_phones;
use crate::sessions::clients::{ensure_client, load_view, start_session};
use crate::sessions::ClientView;

const SIGN_IN_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// A sign-in attempt with what the frontend needs to continue it.
#[derive(Debug, Clone)]
pub struct SignInOutcome {
    /// The attempt.
    pub sign_in: SignIn,
    /// The identified user with their identifications and passkeys.
    pub user: Option<crate::users::UserView>,
    /// The client afterwards.
    pub client: ClientView,
    /// A new client token to set as cookie, if it changed.
    pub new_token: Option<String>,
}

async fn find_user(
    conn: &mut Conn,
    identifier: &str,
    settings: &tessera_domain::settings::InstanceSettings,
) -> CoreResult<Option<User>> {
    let u = &settings.user;
    if u.email_address.used_for_first_factor {
        if let Ok(email) = identifiers::normalize_email(identifier) {
            if let Some(idn) =
                tessera_store::identifications::find(conn, IdentificationKind::EmailAddress, &email)
                    .await?
            {
                if idn.verification_status == VerificationStatus::Verified || idn.reserved {
                    return Ok(Some(tessera_store::users::get(conn, &idn.user_id).await?));
                }
            }
        }
    }
    if u.phone_number.used_for_first_factor {
        if let Ok(phone) = identifiers::normalize_phone(identifier) {
            if let Some(idn) =
                tessera_store::identifications::find(conn, IdentificationKind::PhoneNumber, &phone)
                    .await?
            {
                if idn.verification_status == VerificationStatus::Verified || idn.reserved {
                    return Ok(Some(tessera_store::users::get(conn, &idn.user_id).await?));
                }
            }
        }
    }
    if u.username.enabled && u.username.used_for_first_factor {
        if let Some(user) =
            tessera_store::users::find_by_username(conn, &identifier.trim().to_lowercase()).await?
        {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// What a sign-in identified by a passkey shows as its identifier: the
/// primary email address, else the username, else the primary phone number.
fn account_identifier(view: &crate::users::UserView) -> String {
    let u = &view.user;
    let primary = |id: Option<&IdentificationId>| {
        view.identifications
            .iter()
            .find(|i| Some(&i.id) == id)
            .map(|i| i.identifier.clone())
    };
    primary(u.primary_email_address_id.as_ref())
        .or_else(|| u.username.clone())
        .or_else(|| primary(u.primary_phone_number_id.as_ref()))
        .unwrap_or_default()
}

fn check_user_may_sign_in(user: &User, now: i64) -> CoreResult<()> {
    if user.banned {
        return Err(CoreError::NotAllowed {
            code: ErrorCode::UserBanned,
            detail: "This account is banned.".to_owned(),
        });
    }
    if user.is_locked(now) {
        return Err(locked());
    }
    Ok(())
}

/// The machine's view of a stored sign-in.
fn state_of(sign_in: &SignIn) -> SignInState {
    SignInState {
        status: sign_in.status,
        first_factor: sign_in.first_factor.clone(),
        second_factor: sign_in.second_factor.clone(),
    }
}

/// Keeps what a step decided.
fn apply_state(sign_in: &mut SignIn, state: SignInState, now: i64) {
    sign_in.status = state.status;
    sign_in.first_factor = state.first_factor;
    sign_in.second_factor = state.second_factor;
    sign_in.updated_at = now;
}

/// Where opening an email link leads: the status for the app
/// (`__clerk_status`), where to go, and the session it started.
#[derive(Debug, Clone, Default)]
pub struct EmailLinkOutcome {
    /// `verified`, `expired`, `failed` or `client_mismatch`.
    pub status: &'static str,
    /// The `redirect_url` the link was prepared with.
    pub redirect_url: Option<String>,
    /// The session the sign-in started, if it did.
    pub created_session_id: Option<String>,
    /// The opener's new client token, when the link signed in its own client.
    pub new_client_token: Option<String>,
}

impl EmailLinkOutcome {
    /// Nothing verified yet: `failed` unless something better is found.
    pub(crate) fn failed() -> Self {
        Self {
            status: "failed",
            ..Self::default()
        }
    }

    /// The status of a link attempt's outcome.
    pub(crate) fn status_of(attempt: Attempt) -> &'static str {
        match attempt {
            Attempt::Verified => "verified",
            Attempt::Expired => "expired",
            _ => "failed",
        }
    }
}

impl crate::SignIns<'_> {
    /// Sign-in attempts per IP and per identifier.
    async fn limit_sign_in_attempts(
        &self,
        info: &RequestInfo,
        identifier: Option<&str>,
    ) -> CoreResult<()> {
        self.rate_limit(crate::rate_limits::SIGN_IN_PER_IP, info.ip.as_deref())
            .await?;
        self.rate_limit(crate::rate_limits::SIGN_IN_PER_IDENTIFIER, identifier)
            .await
    }

    /// Codes sent per IP and per address or number.
    async fn limit_code_sends(&self, info: &RequestInfo, to: &str) -> CoreResult<()> {
        self.rate_limit(crate::rate_limits::CODES_PER_IP, info.ip.as_deref())
            .await?;
        self.rate_limit(crate::rate_limits::CODES_PER_ADDRESS, Some(to))
            .await
    }

    async fn sign_in_of_client(&self, client: &Client, id: &str) -> CoreResult<SignIn> {
        let id = SignInId::parse(id).ok_or(CoreError::NotFound)?;
        let mut conn = self.store.read().await?;
        let sign_in = tessera_store::attempts::get_sign_in(&mut conn, &id).await?;
        if sign_in.client_id != client.id {
            return Err(CoreError::NotFound);
        }
        Ok(sign_in)
    }

    async fn user_with_identifications(
        &self,
        conn: &mut Conn,
        sign_in: &SignIn,
    ) -> CoreResult<Option<crate::users::UserView>> {
        let Some(user_id) = &sign_in.user_id else {
            return Ok(None);
        };
        Ok(Some(crate::users::load_view(conn, user_id).await?))
    }

    /// Checks a password for a sign-in, counting failures towards lockout.
    async fn check_sign_in_password(&self, user: &User, password: Password) -> CoreResult<bool> {
        let (Some(hash), Some(hasher)) = (user.password_hash.clone(), user.password_hasher.clone())
        else {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::StrategyForUserInvalid,
                detail: "This account has no password; use another way to sign in.".to_owned(),
            });
        };
        let verdict = self
            .hasher
            .verify(password.clone(), hash.clone(), hasher)
            .await?;
        // Counted atomically in the store: however many wrong passwords arrive at
        // once, on however many servers, at most `max_attempts` are answered
        // `form_password_incorrect`; the rest, and a right one after the lock, are
        // answered `user_locked`.
        let now = now_ms();
        let idns = if verdict.matched() {
            let mut conn = self.store.read().await?;
            tessera_store::identifications::list_for_user(&mut conn, &user.id).await?
        } else {
            Vec::new()
        };
        let mut tx = self.begin().await?;
        let usable = if verdict.matched() {
            // With a second factor to come, wrong codes count on: the count
            // clears when the sign-in completes, not on the password alone.
            let settings = &self.instance().settings.user;
            if held_second_factors(settings, user, &idns).is_empty() {
                tessera_store::users::clear_failed_passwords(&mut tx, &user.id, now).await?
            } else {
                tessera_store::users::not_locked(&mut tx, &user.id, now).await?
            }
        } else {
            let (max, until) = self.lockout_limits(now);
            let count =
                tessera_store::users::count_failed_password(&mut tx, &user.id, now, max, until)
                    .await?;
            max == 0 || count <= max
        };
        tx.commit().await?;
        if !usable {
            return Err(locked());
        }
        if verdict == Verdict::MatchNeedsRehash {
            self.users().upgrade_hash(&user.id, &hash, password).await?;
        }
        if verdict.matched()
            && user.password_compromised_at.is_some()
            && self.has_code_factor(&idns)
        {
            // Clerk's answer: sign in another way; the new session then has
            // the reset-password task. Without another way the password
            // signs in, and the session has the task all the same.
            return Err(CoreError::NotAllowed {
                code: ErrorCode::FormPasswordCompromised,
                detail: "Your password may be compromised. To protect your account, please continue with an alternative sign-in method. You will be required to reset your password after signing in.".to_owned(),
            });
        }
        Ok(verdict.matched())
    }

    /// Whether the user can sign in with a code (a verified email address or
    /// phone number, among `idns`, that identifies them at sign-in).
    fn has_code_factor(&self, idns: &[Identification]) -> bool {
        let settings = &self.instance().settings.user;
        idns.iter().any(|i| {
            i.verification_status == VerificationStatus::Verified
                && match i.kind {
                    IdentificationKind::EmailAddress => {
                        settings.email_address.used_for_first_factor
                    }
                    IdentificationKind::PhoneNumber => settings.phone_number.used_for_first_factor,
                }
        })
    }

    /// `POST /v1/client/sign_ins`: identify, and with a password finish at once.
    pub async fn create(
        &self,
        client: Option<&Client>,
        identifier: Option<String>,
        password: Option<Password>,
        strategy: Option<&str>,
        ticket: Option<String>,
        info: &RequestInfo,
    ) -> CoreResult<SignInOutcome> {
        let now = now_ms();
        let settings = &self.instance().settings;
        // An invitation's ticket names the address, and proves it.
        let invitation = match ticket.filter(|t| !t.is_empty()) {
            Some(ticket) => Some(self.organizations().invitation_by_ticket(&ticket).await?.0),
            None => None,
        };
        let identifier = invitation
            .as_ref()
            .map(|i| i.email_address.clone())
            .or(identifier)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        self.limit_sign_in_attempts(info, identifier.as_deref())
            .await?;
        let user = match &identifier {
            Some(id) => {
                let mut conn = self.store.read().await?;
                let found = find_user(&mut conn, id, settings).await?;
                if found.is_none() {
                    if let Some(p) = password {
                        // Same time as a real check, so timing reveals nothing.
                        self.hasher.verify_dummy(p).await?;
                    }
                    return Err(CoreError::NotAllowed {
                        code: ErrorCode::FormIdentifierNotFound,
                        detail: "Couldn't find your account.".to_owned(),
                    });
                }
                found
            }
            None => None,
        };
        if let Some(user) = &user {
            check_user_may_sign_in(user, now)?;
        }
        let mut sign_in = SignIn {
            id: SignInId::generate(now),
            client_id: tessera_domain::ids::ClientId::generate(now),
            status: if user.is_some() {
                SignInStatus::NeedsFirstFactor
            } else {
                SignInStatus::NeedsIdentifier
            },
            identifier: identifier.clone(),
            user_id: user.as_ref().map(|u| u.id.clone()),
            first_factor: None,
            second_factor: None,
            created_session_id: None,
            abandon_at: now + SIGN_IN_LIFETIME_MS,
            created_at: now,
            updated_at: now,
            version: 0,
        };
        if strategy.and_then(Strategy::parse) == Some(Strategy::Passkey) {
            // A discoverable credential names its user: no identifier first.
            if user.is_some() || password.is_some() {
                return Err(CoreError::value(
                    "strategy",
                    "a passkey sign-in starts without an identifier or a password",
                ));
            }
            let (nonce, challenge) = self.passkeys().challenge(&[], info.origin.as_deref())?;
            let state = machine::prepare_passkey(state_of(&sign_in), nonce, challenge, now)?;
            apply_state(&mut sign_in, state, now);
        }
        let mut password_ok = false;
        if let (Some(user), Some(password)) = (&user, password) {
            if strategy.is_some_and(|s| Strategy::parse(s) != Some(Strategy::Password)) {
                return Err(CoreError::value(
                    "strategy",
                    "a password can only be used with the password strategy",
                ));
            }
            password_ok = self.check_sign_in_password(user, password).await?;
            if !password_ok {
                return Err(CoreError::NotAllowed {
                    code: ErrorCode::FormPasswordIncorrect,
                    detail: "Password is incorrect. Try again, or use another method.".to_owned(),
                });
            }
        }
        let mut tx = self.begin().await?;
        let (mut client_row, mut new_token) = ensure_client(&mut tx, client, now).await?;
        sign_in.client_id = client_row.id.clone();
        if let (Some(invitation), Some(user)) = (&invitation, &user) {
            let second = self.second_factor_available(&mut tx, &sign_in).await?;
            let (state, effects) = machine::identified_with_ticket(state_of(&sign_in), second);
            apply_state(&mut sign_in, state, now);
            if let Some(token) = self
                .apply_effects(&mut tx, &mut sign_in, &mut client_row, effects, info, now)
                .await?
            {
                new_token = Some(token);
            }
            match self
                .organizations()
                .join_in(&mut tx, &invitation.id, &user.id, now)
                .await
            {
                // A member already: the ticket still signs them in.
                Err(CoreError::NotAllowed {
                    code: ErrorCode::AlreadyAMemberInOrganization,
                    ..
                })
                | Ok(_) => {}
                Err(e) => return Err(e),
            }
        } else if password_ok {
            let second = self.second_factor_available(&mut tx, &sign_in).await?;
            let (state, effects) = machine::identified_with_password(state_of(&sign_in), second);
            apply_state(&mut sign_in, state, now);
            if let Some(token) = self
                .apply_effects(&mut tx, &mut sign_in, &mut client_row, effects, info, now)
                .await?
            {
                new_token = Some(token);
            }
        }
        tessera_store::attempts::save_sign_in(&mut tx, &mut sign_in).await?;
        client_row.sign_in_id = Some(sign_in.id.clone());
        client_row.updated_at = now;
        tessera_store::clients::update(&mut tx, &client_row).await?;
        let user_data = self.user_with_identifications(&mut tx, &sign_in).await?;
        let view = load_view(&mut tx, client_row, now).await?;
        tx.commit().await?;
        Ok(SignInOutcome {
            sign_in,
            user: user_data,
            client: view,
            new_token,
        })
    }

    /// A client's sign-in with its identified user, as the client object shows it.
    pub async fn load(
        &self,
        client: &Client,
        id: &str,
    ) -> CoreResult<(SignIn, Option<crate::users::UserView>)> {
        let sign_in = self.sign_in_of_client(client, id).await?;
        let mut conn = self.store.read().await?;
        let user = self.user_with_identifications(&mut conn, &sign_in).await?;
        Ok((sign_in, user))
    }

    /// `GET /v1/client/sign_ins/{id}`.
    pub async fn get(&self, client: &Client, id: &str) -> CoreResult<SignInOutcome> {
        let now = now_ms();
        let sign_in = self.sign_in_of_client(client, id).await?;
        let mut conn = self.store.read().await?;
        let user = self.user_with_identifications(&mut conn, &sign_in).await?;
        let client_row = tessera_store::clients::get(&mut conn, &client.id).await?;
        let view = load_view(&mut conn, client_row, now).await?;
        Ok(SignInOutcome {
            sign_in,
            user,
            client: view,
            new_token: None,
        })
    }

    /// `POST /v1/client/sign_ins/{id}/prepare_first_factor`: a code strategy
    /// sends a code to the chosen (else the primary) address or number.
    pub async fn prepare_first_factor(
        &self,
        client: &Client,
        id: &str,
        strategy: Strategy,
        identification_id: Option<&str>,
        info: &RequestInfo,
    ) -> CoreResult<SignInOutcome> {
        let now = now_ms();
        let mut sign_in = self.sign_in_of_client(client, id).await?;
        let user_id = sign_in
            .user_id
            .clone()
            .ok_or_else(|| CoreError::missing("identifier"))?;
        if strategy == Strategy::Passkey {
            return self
                .prepare_passkey(client, id, sign_in, &user_id, info, now)
                .await;
        }
        let Some(kind) = strategy.channel() else {
            // Nothing to send (a password), or a strategy the machine refuses.
            machine::prepare_first_factor(state_of(&sign_in), strategy, None, "", "", now)?;
            return self.get(client, id).await;
        };
        let target = self
            .factor_target(&user_id, kind, identification_id, false)
            .await?;
        self.limit_code_sends(info, &target.identifier).await?;
        let code = codes::generate();
        let (state, effects) = machine::prepare_first_factor(
            state_of(&sign_in),
            strategy,
            Some(target.id.as_str()),
            sign_in.id.as_str(),
            &code,
            now,
        )?;
        apply_state(&mut sign_in, state, now);
        let mut tx = self.begin().await?;
        tessera_store::attempts::save_sign_in(&mut tx, &mut sign_in).await?;
        tx.commit().await?;
        self.send_codes(&effects, &target, &code).await;
        self.get(client, id).await
    }

    /// Where a factor's code or link goes: the user's identification of
    /// `kind` named by `wanted` (`email_address_id`, `phone_number_id`), else
    /// their primary one; with `verified_only`, only a verified one.
    async fn factor_target(
        &self,
        user_id: &tessera_domain::ids::UserId,
        kind: IdentificationKind,
        wanted: Option<&str>,
        verified_only: bool,
    ) -> CoreResult<Identification> {
        let mut conn = self.store.read().await?;
        let idns = tessera_store::identifications::list_for_user(&mut conn, user_id).await?;
        let user = tessera_store::users::get(&mut conn, user_id).await?;
        let primary = match kind {
            IdentificationKind::EmailAddress => user.primary_email_address_id,
            IdentificationKind::PhoneNumber => user.primary_phone_number_id,
        };
        let wanted = wanted.and_then(IdentificationId::parse).or(primary);
        idns.into_iter()
            .find(|i| {
                Some(&i.id) == wanted.as_ref()
                    && i.kind == kind
                    && (!verified_only || i.verification_status == VerificationStatus::Verified)
            })
            .ok_or_else(|| {
                let param = match kind {
                    IdentificationKind::EmailAddress => "email_address_id",
                    IdentificationKind::PhoneNumber => "phone_number_id",
                };
                let verified = if verified_only { "verified " } else { "" };
                CoreError::value(param, format!("must be a {verified}{kind} of this account"))
            })
    }

    /// `POST /v1/client/sign_ins/{id}/prepare_first_factor` with
    /// `strategy=email_link`: emails a single-use link to one of the user's
    /// addresses; opening it (`GET /v1/verify`) verifies the sign-in and
    /// returns to `redirect_url`.
    pub async fn prepare_email_link(
        &self,
        client: &Client,
        id: &str,
        email_address_id: Option<&str>,
        redirect_url: String,
        info: &RequestInfo,
    ) -> CoreResult<SignInOutcome> {
        let now = now_ms();
        let mut sign_in = self.sign_in_of_client(client, id).await?;
        let user_id = sign_in
            .user_id
            .clone()
            .ok_or_else(|| CoreError::missing("identifier"))?;
        let target = self
            .factor_target(
                &user_id,
                IdentificationKind::EmailAddress,
                email_address_id,
                true,
            )
            .await?;
        self.limit_code_sends(info, &target.identifier).await?;
        let secret = crate::sessions::clients::new_token();
        let (state, _) = machine::prepare_email_link(
            state_of(&sign_in),
            target.id.as_str(),
            sign_in.id.as_str(),
            &secret,
            redirect_url,
            now,
        )?;
        apply_state(&mut sign_in, state, now);
        let mut tx = self.begin().await?;
        tessera_store::attempts::save_sign_in(&mut tx, &mut sign_in).await?;
        tx.commit().await?;
        let link = crate::mailer::link_url(&self.frontend_url, sign_in.id.as_str(), &secret);
        if !is_test_email(&target.identifier) {
            let mail = crate::mailer::link_email(&target.identifier, &self.app_name(), &link);
            self.deliver_as(mail, "magic_link_sign_in").await;
        }
        self.get(client, id).await
    }

    /// `GET /v1/verify?token=…`: an email link opened, in the browser of
    /// `opener` (its client, if it has one). The token names what it is for —
    /// a sign-in, a sign-up, or a user's email address — and carries its
    /// secret. A sign-in's (a right, unexpired, unused link) is verified and
    /// the client that asked for it signed in; the outcome says where to go.
    pub async fn open_email_link(
        &self,
        token: &str,
        opener: Option<&Client>,
        info: &RequestInfo,
    ) -> CoreResult<EmailLinkOutcome> {
        let now = now_ms();
        let mut out = EmailLinkOutcome::failed();
        let Some((owner, secret)) = token.split_once('.') else {
            return Ok(out);
        };
        if let Some(id) = tessera_domain::ids::SignUpId::parse(owner) {
            return self
                .sign_ups()
                .open_email_link(&id, secret, opener, info)
                .await;
        }
        if let Some(id) = IdentificationId::parse(owner) {
            return self
                .identifications()
                .open_email_link(&id, secret, opener)
                .await;
        }
        let Some(id) = SignInId::parse(owner) else {
            return Ok(out);
        };
        let mut tx = self.begin().await?;
        let Ok(mut sign_in) = tessera_store::attempts::get_sign_in(&mut tx, &id).await else {
            return Ok(out);
        };
        let Some(prepared) = sign_in
            .first_factor
            .clone()
            .filter(|v| v.strategy == Strategy::EmailLink)
        else {
            return Ok(out);
        };
        out.redirect_url = prepared.redirect_url.clone();
        if let Some(uid) = &sign_in.user_id {
            let user = tessera_store::users::get(&mut tx, uid).await?;
            if check_user_may_sign_in(&user, now).is_err() {
                return Ok(out);
            }
        }
        let same_client = opener.is_some_and(|c| c.id == sign_in.client_id);
        if !same_client && self.instance().settings.user.email_link_require_same_client {
            out.status = "client_mismatch";
            return Ok(out);
        }
        let second = self.second_factor_available(&mut tx, &sign_in).await?;
        let proof = Proof::Code {
            code: secret,
            accept_test_code: false,
        };
        let Ok(step) = machine::attempt_first_factor(
            state_of(&sign_in),
            Strategy::EmailLink,
            proof,
            sign_in.id.as_str(),
            second,
            now,
        ) else {
            // Not waiting on a link any more (complete, or another factor).
            return Ok(out);
        };
        out.status = EmailLinkOutcome::status_of(step.attempt);
        let mut state = step.state;
        if step.attempt == Attempt::Verified {
            if let Some(v) = state.first_factor.as_mut() {
                v.verified_at_client = opener.map(|c| c.id.as_str().to_owned());
            }
        }
        apply_state(&mut sign_in, state, now);
        let mut client_row = tessera_store::clients::get(&mut tx, &sign_in.client_id).await?;
        for effect in step.effects {
            let Effect::StartSession { two_factors } = effect else {
                continue;
            };
            let user_id = sign_in
                .user_id
                .clone()
                .ok_or_else(|| CoreError::missing("identifier"))?;
            let (session, token) = crate::sessions::clients::start_session_on(
                self,
                &mut tx,
                &mut client_row,
                &user_id,
                two_factors,
                same_client,
                info,
                now,
            )
            .await?;
            out.created_session_id = Some(session.id.as_str().to_owned());
            sign_in.created_session_id = Some(session.id);
            out.new_client_token = token;
        }
        tessera_store::attempts::save_sign_in(&mut tx, &mut sign_in).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Performs the `SendCode` effects of a prepare step (after its commit).
    async fn send_codes(&self, effects: &[Effect], target: &Identification, code: &str) {
        for effect in effects {
            let Effect::SendCode { strategy, .. } = effect else {
                continue;
            };
            let is_test = match target.kind {
                IdentificationKind::EmailAddress => is_test_email(&target.identifier),
                IdentificationKind::PhoneNumber => identifiers::is_test_phone(&target.identifier),
            };
            let purpose = if strategy.resets_password() {
                CodePurpose::ResetPassword
            } else {
                CodePurpose::SignIn
            };
            self.send_code(target.kind, &target.identifier, is_test, purpose, code)
                .await;
        }
    }

    /// `POST /v1/client/sign_ins/{id}/attempt_first_factor` (a password or a code).
    pub async fn attempt_first_factor(
        &self,
        client: &Client,
        id: &str,
        strategy: Strategy,
        code: Option<String>,
        password: Option<Password>,
        info: &RequestInfo,
    ) -> CoreResult<SignInOutcome> {
        let now = now_ms();
        let sign_in = self.sign_in_of_client(client, id).await?;
        if sign_in.status == SignInStatus::Complete {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::SignInAlreadyComplete,
                detail: "This sign-in is already complete.".to_owned(),
            });
        }
        let user_id = sign_in
            .user_id
            .clone()
            .ok_or_else(|| CoreError::missing("identifier"))?;
        self.limit_sign_in_attempts(info, sign_in.identifier.as_deref())
            .await?;
        let user = {
            let mut conn = self.store.read().await?;
            tessera_store::users::get(&mut conn, &user_id).await?
        };
        check_user_may_sign_in(&user, now)?;
        // The proof: a password is checked here (slow hash, lockout count), a code by the step.
        let matched;
        let proof = match strategy {
            Strategy::Password => {
                let password = password.ok_or_else(|| CoreError::missing("password"))?;
                matched = self.check_sign_in_password(&user, password).await?;
                Proof::Password { matched }
            }
            s if s.channel().is_some() => Proof::Code {
                code: code.as_deref().ok_or_else(|| CoreError::missing("code"))?,
                accept_test_code: accepts_test_code(self, sign_in.identifier.as_deref()),
            },
            _ => Proof::Password { matched: false },
        };
        let mut tx = self.begin().await?;
        let second = self.second_factor_available(&mut tx, &sign_in).await?;
        let step = machine::attempt_first_factor(
            state_of(&sign_in),
            strategy,
            proof,
            sign_in.id.as_str(),
            second,
            now,
        )?;
        self.finish_attempt(tx, sign_in, client, step, info, now)
            .await
    }

    /// `prepare_first_factor` with `strategy=passkey` after an identifier:
    /// a challenge only the user's own passkeys are offered for.
    async fn prepare_passkey(
        &self,
        client: &Client,
        id: &str,
        mut sign_in: SignIn,
        user_id: &tessera_domain::ids::UserId,
        info: &RequestInfo,
        now: i64,
    ) -> CoreResult<SignInOutcome> {
        let passkeys = {
            let mut conn = self.store.read().await?;
            tessera_store::passkeys::list_for_user(&mut conn, user_id).await?
        };
        if passkeys.is_empty() {
            return Err(CoreError::value(
                "strategy",
                "this account has no passkey to sign in with",
            ));
        }
        let (nonce, challenge) = self
            .passkeys()
            .challenge(&passkeys, info.origin.as_deref())?;
        let state = machine::prepare_passkey(state_of(&sign_in), nonce, challenge, now)?;
        apply_state(&mut sign_in, state, now);
        let mut tx = self.begin().await?;
        tessera_store::attempts::save_sign_in(&mut tx, &mut sign_in).await?;
        tx.commit().await?;
        self.get(client, id).await
    }

    /// `attempt_first_factor` with `strategy=passkey`: the browser's signature
    /// over the sign-in's challenge. A discoverable credential identifies its
    /// user here; after an identifier, it must be that user's. A right one
    /// completes the sign-in (a passkey verifies the user itself, so no second
    /// factor follows).
    pub async fn attempt_passkey(
        &self,
        client: &Client,
        id: &str,
        public_key_credential: &str,
        info: &RequestInfo,
    ) -> CoreResult<SignInOutcome> {
        let now = now_ms();
        let mut sign_in = self.sign_in_of_client(client, id).await?;
        self.limit_sign_in_attempts(info, sign_in.identifier.as_deref())
            .await?;
        let challenge = sign_in
            .first_factor
            .as_ref()
            .filter(|v| {
                v.strategy == Strategy::Passkey
                    && v.status_at(now) == tessera_domain::kinds::VerificationStatus::Unverified
            })
            .and_then(|v| v.challenge.clone());
        let mut tx = self.begin().await?;
        let mut identified = false;
        let mut verified = false;
        // The user the passkey identified, when this step read them already.
        let mut owner_user = None;
        if let Some(challenge) = &challenge {
            let assertion = self
                .passkeys()
                .check_assertion(
                    &mut tx,
                    challenge,
                    public_key_credential,
                    info.origin.as_deref(),
                )
                .await?;
            if let crate::passkeys::Assertion::Verified(owner) = assertion {
                verified = true;
                match &sign_in.user_id {
                    Some(expected) => identified = *expected == owner,
                    None => {
                        let view = crate::users::load_view(&mut tx, &owner).await?;
                        sign_in.identifier = Some(account_identifier(&view));
                        sign_in.user_id = Some(owner);
                        owner_user = Some(view.user);
                        identified = true;
                    }
                }
            }
        }
        if let Some(user_id) = sign_in.user_id.clone().filter(|_| identified) {
            let user = match owner_user {
                Some(user) => user,
                None => tessera_store::users::get(&mut tx, &user_id).await?,
            };
            check_user_may_sign_in(&user, now)?;
        }
        let step = machine::attempt_passkey(state_of(&sign_in), identified, verified, now)?;
        let attempt = step.attempt;
        let out = self
            .commit_step(tx, sign_in, client, step, info, now)
            .await?;
        match attempt {
            Attempt::Verified => Ok(out),
            Attempt::Incorrect => Err(CoreError::NotAllowed {
                code: ErrorCode::PasskeyInvalid,
                detail: "The passkey could not be verified. Try again, or use another method."
                    .to_owned(),
            }),
            other => codes::refused(other).map(|()| out),
        }
    }

    /// `POST /v1/client/sign_ins/{id}/reset_password`: sets the new password after a
    /// reset code, optionally signs out other sessions, and completes the sign-in.
    pub async fn reset_password(
        &self,
        client: &Client,
        id: &str,
        password: Password,
        sign_out_of_other_sessions: bool,
        info: &RequestInfo,
    ) -> CoreResult<SignInOutcome> {
        let now = now_ms();
        let mut sign_in = self.sign_in_of_client(client, id).await?;
        if sign_in.status != SignInStatus::NeedsNewPassword {
            // Refused before the password is hashed.
            machine::new_password_set(state_of(&sign_in), false)?;
        }
        let user_id = sign_in
            .user_id
            .clone()
            .ok_or_else(|| CoreError::missing("identifier"))?;
        let settings = &self.instance().settings;
        crate::users::check_new_password(&password, settings, false)?;
        {
            let mut conn = self.store.read().await?;
            let user = tessera_store::users::get(&mut conn, &user_id).await?;
            drop(conn);
            self.users()
                .refuse_same_compromised(&user, &password)
                .await?;
        }
        let hash = self.hasher.hash(password).await?;
        let mut tx = self.begin().await?;
        let second = self.second_factor_available(&mut tx, &sign_in).await?;
        let (state, effects) = machine::new_password_set(state_of(&sign_in), second)?;
        let mut user = tessera_store::users::get(&mut tx, &user_id).await?;
        user.password_hash = Some(hash);
        user.password_hasher = Some(crate::passwords::NATIVE_HASHER.to_owned());
        user.password_updated_at = Some(now);
        user.password_compromised_at = None;
        user.failed_attempts = 0;
        user.locked_at = None;
        user.locked_until = None;
        user.updated_at = now;
        tessera_store::users::update(&mut tx, &user).await?;
        tessera_store::sessions::finish_task(
            &mut tx,
            &user.id,
            tessera_domain::tasks::SessionTask::ResetPassword,
            now,
        )
        .await?;
        if sign_out_of_other_sessions {
            tessera_store::sessions::end_all_for_user(
                &mut tx,
                &user_id,
                tessera_domain::kinds::SessionStatus::Revoked,
                now,
            )
            .await?;
        }
        apply_state(&mut sign_in, state, now);
        let mut client_row = tessera_store::clients::get(&mut tx, &client.id).await?;
        let new_token = self
            .apply_effects(&mut tx, &mut sign_in, &mut client_row, effects, info, now)
            .await?;
        self.save_and_commit(tx, sign_in, client_row, new_token, now)
            .await
    }

    /// After an attempt step: keeps its state, performs its effects, saves the
    /// sign-in and commits, then answers the verification's error if it did not
    /// verify (wrong answers count, so the state is saved either way).
    async fn finish_attempt(
        &self,
        tx: crate::work::Work,
        sign_in: SignIn,
        client: &Client,
        step: machine::Step,
        info: &RequestInfo,
        now: i64,
    ) -> CoreResult<SignInOutcome> {
        let attempt = step.attempt;
        let out = self
            .commit_step(tx, sign_in, client, step, info, now)
            .await?;
        codes::refused(attempt)?;
        Ok(out)
    }

    /// Keeps an attempt step's state, performs its effects, saves the
    /// sign-in and commits; the caller answers the attempt's outcome.
    async fn commit_step(
        &self,
        mut tx: crate::work::Work,
        mut sign_in: SignIn,
        client: &Client,
        step: machine::Step,
        info: &RequestInfo,
        now: i64,
    ) -> CoreResult<SignInOutcome> {
        apply_state(&mut sign_in, step.state, now);
        let mut client_row = tessera_store::clients::get(&mut tx, &client.id).await?;
        let new_token = self
            .apply_effects(
                &mut tx,
                &mut sign_in,
                &mut client_row,
                step.effects,
                info,
                now,
            )
            .await?;
        self.save_and_commit(tx, sign_in, client_row, new_token, now)
            .await
    }

    /// Saves the attempt, reads what the answer shows (the user, the client
    /// with its sessions) in the same transaction, and commits.
    async fn save_and_commit(
        &self,
        mut tx: crate::work::Work,
        mut sign_in: SignIn,
        client_row: Client,
        new_token: Option<String>,
        now: i64,
    ) -> CoreResult<SignInOutcome> {
        tessera_store::attempts::save_sign_in(&mut tx, &mut sign_in).await?;
        let user_data = self.user_with_identifications(&mut tx, &sign_in).await?;
        let view = load_view(&mut tx, client_row, now).await?;
        tx.commit().await?;
        Ok(SignInOutcome {
            sign_in,
            user: user_data,
            client: view,
            new_token,
        })
    }

    /// Whether the sign-in's user has a second factor the instance takes:
    /// SMS codes to a phone number reserved for it, an authenticator app,
    /// backup codes.
    async fn second_factor_available(&self, conn: &mut Conn, sign_in: &SignIn) -> CoreResult<bool> {
        let Some(user_id) = &sign_in.user_id else {
            return Ok(false);
        };
        let user = tessera_store::users::get(conn, user_id).await?;
        let idns = tessera_store::identifications::list_for_user(conn, user_id).await?;
        Ok(!held_second_factors(&self.instance().settings.user, &user, &idns).is_empty())
    }

    /// An authenticator app's code or a backup code as the second factor:
    /// checked (and spent) in the step's transaction; a wrong one counts
    /// towards the lockout like a wrong password.
    #[allow(clippy::too_many_arguments)]
    async fn attempt_held_second_factor(
        &self,
        client: &Client,
        sign_in: SignIn,
        mut user: User,
        strategy: Strategy,
        code: &str,
        info: &RequestInfo,
        now: i64,
    ) -> CoreResult<SignInOutcome> {
        let settings = &self.instance().settings.user;
        let offered = match strategy {
            Strategy::Totp => settings.authenticator_app_enabled,
            Strategy::BackupCode => settings.backup_code_enabled,
            _ => false,
        };
        if !offered {
            return Err(CoreError::value(
                "strategy",
                format!("{strategy} is not a second factor of this instance"),
            ));
        }
        let mut tx = self.begin().await?;
        let had_backup_codes = user.backup_code_enabled;
        let matched = self
            .mfa()
            .check_code(&mut tx, &mut user, strategy, code, now)
            .await?;
        let step = match machine::attempt_held_second_factor(state_of(&sign_in), strategy, matched)
        {
            Ok(step) => step,
            Err(refusal) => {
                drop(tx);
                if !matched {
                    self.count_wrong_factor(&user.id, now).await?;
                }
                return Err(refusal.into());
            }
        };
        if had_backup_codes && !user.backup_code_enabled {
            // The last backup code went.
            user.updated_at = now;
            tessera_store::users::update(&mut tx, &user).await?;
            let view = crate::users::load_view(&mut tx, &user.id).await?;
            self.emit_user(&mut tx, "user.updated", &view, None).await?;
        }
        self.finish_attempt(tx, sign_in, client, step, info, now)
            .await
    }

    /// Performs a step's session effects in the step's transaction. Returns the
    /// new client token, if a session started.
    async fn apply_effects(
        &self,
        conn: &mut Conn,
        sign_in: &mut SignIn,
        client_row: &mut Client,
        effects: Vec<Effect>,
        info: &RequestInfo,
        now: i64,
    ) -> CoreResult<Option<String>> {
        let mut new_token = None;
        for effect in effects {
            let Effect::StartSession { two_factors } = effect else {
                continue;
            };
            let user_id = sign_in
                .user_id
                .clone()
                .ok_or_else(|| CoreError::missing("identifier"))?;
            let (session, token) =
                start_session(self, conn, client_row, &user_id, two_factors, info, now).await?;
            sign_in.created_session_id = Some(session.id);
            new_token = Some(token);
        }
        Ok(new_token)
    }

    /// `POST /v1/client/sign_ins/{id}/prepare_second_factor` (`phone_code`):
    /// sends a code to the chosen (else the default) second-factor phone number.
    pub async fn prepare_second_factor(
        &self,
        client: &Client,
        id: &str,
        strategy: Strategy,
        phone_number_id: Option<&str>,
        info: &RequestInfo,
    ) -> CoreResult<SignInOutcome> {
        let now = now_ms();
        let mut sign_in = self.sign_in_of_client(client, id).await?;
        machine::require_second_factor(&state_of(&sign_in), strategy)?;
        if strategy.channel().is_none() {
            return Err(CoreError::value(
                "strategy",
                format!("{strategy} sends nothing: attempt it directly"),
            ));
        }
        let user_id = sign_in
            .user_id
            .clone()
            .ok_or_else(|| CoreError::missing("identifier"))?;
        let target = {
            let mut conn = self.store.read().await?;
            let idns = tessera_store::identifications::list_for_user(&mut conn, &user_id).await?;
            let phones = second_factor_phones(&idns);
            let chosen = match phone_number_id {
                Some(wanted) => phones.into_iter().find(|p| p.id.as_str() == wanted),
                None => phones.into_iter().next(),
            };
            chosen.cloned().ok_or_else(|| {
                CoreError::value(
                    "phone_number_id",
                    "must be a phone number this account reserved for second factor",
                )
            })?
        };
        self.limit_code_sends(info, &target.identifier).await?;
        let code = codes::generate();
        let (state, effects) = machine::prepare_second_factor(
            state_of(&sign_in),
            strategy,
            target.id.as_str(),
            &machine::second_factor_key(sign_in.id.as_str()),
            &code,
            now,
        )?;
        apply_state(&mut sign_in, state, now);
        let mut tx = self.begin().await?;
        tessera_store::attempts::save_sign_in(&mut tx, &mut sign_in).await?;
        tx.commit().await?;
        self.send_codes(&effects, &target, &code).await;
        self.get(client, id).await
    }

    /// `POST /v1/client/sign_ins/{id}/attempt_second_factor` (`phone_code`):
    /// a right code completes the sign-in with a session verified by two factors.
    pub async fn attempt_second_factor(
        &self,
        client: &Client,
        id: &str,
        strategy: Strategy,
        code: Option<String>,
        info: &RequestInfo,
    ) -> CoreResult<SignInOutcome> {
        let now = now_ms();
        let sign_in = self.sign_in_of_client(client, id).await?;
        machine::require_second_factor(&state_of(&sign_in), strategy)?;
        let code = code.ok_or_else(|| CoreError::missing("code"))?;
        let user_id = sign_in
            .user_id
            .clone()
            .ok_or_else(|| CoreError::missing("identifier"))?;
        self.limit_sign_in_attempts(info, sign_in.identifier.as_deref())
            .await?;
        let (user, idns) = {
            let mut conn = self.store.read().await?;
            let user = tessera_store::users::get(&mut conn, &user_id).await?;
            let idns = tessera_store::identifications::list_for_user(&mut conn, &user_id).await?;
            (user, idns)
        };
        check_user_may_sign_in(&user, now)?;
        if strategy.channel().is_none() {
            return self
                .attempt_held_second_factor(client, sign_in, user, strategy, &code, info, now)
                .await;
        }
        let phones = second_factor_phones(&idns);
        let sent_to = sign_in
            .second_factor
            .as_ref()
            .and_then(|v| v.identification_id.as_deref())
            .and_then(|id| phones.iter().find(|p| p.id.as_str() == id))
            .map(|p| p.identifier.clone());
        let proof = Proof::Code {
            code: &code,
            accept_test_code: accepts_test_code(self, sent_to.as_deref()),
        };
        let step = machine::attempt_second_factor(
            state_of(&sign_in),
            strategy,
            proof,
            &machine::second_factor_key(sign_in.id.as_str()),
            |id| phones.iter().any(|p| p.id.as_str() == id),
            now,
        )?;
        let tx = self.begin().await?;
        self.finish_attempt(tx, sign_in, client, step, info, now)
            .await
    }
}
