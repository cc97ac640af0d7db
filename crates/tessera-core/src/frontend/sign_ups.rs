//! Sign-up attempts: fields collected step by step, verification of the email
//! address by a one-time code, and completion into a user and a session.
//!
//! `required_fields`, `optional_fields`, `missing_fields` and `unverified_fields`
//! are computed from the instance settings exactly once, here.

use serde_json::{Map, Value};
use tessera_domain::error_code::ErrorCode;
use tessera_domain::identifiers::{self, is_test_email};
use tessera_domain::ids::{SignUpId, UserId};
use tessera_domain::kinds::IdentificationKind;
use tessera_domain::kinds::SignUpStatus;
use tessera_domain::settings::{EnvironmentType, InstanceSettings, SignUpMode};
use tessera_domain::sign_up::{self as machine, Effect, Given, SignUpState};
use tessera_domain::verification::{Attempt, Proof, Strategy, Verification};
use tessera_store::attempts::SignUp;
use tessera_store::records::{Client, User};

use crate::clock::now_ms;
use crate::codes;
use crate::error::{CoreError, CoreResult};
use crate::mailer::CodePurpose;
use crate::passwords::{Password, NATIVE_HASHER};
use crate::request::RequestInfo;
use crate::sessions::clients::{ensure_client, load_view};
use crate::sessions::ClientView;
use crate::users::{check_new_password, invalid_to_error, new_identification};

/// How long an unfinished sign-up lives (Clerk: 24 hours).
const SIGN_UP_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;

/// Fields a sign-up create or update may carry; `None` = not given.
#[derive(Debug, Clone, Default)]
pub struct SignUpInput {
    /// Email address.
    pub email_address: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
    /// Username.
    pub username: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Password.
    pub password: Option<Password>,
    /// Frontend metadata.
    pub unsafe_metadata: Option<Map<String, Value>>,
    /// Legal terms accepted.
    pub legal_accepted: Option<bool>,
    /// An organization invitation's ticket (strategy `ticket`): its email
    /// address is taken as verified, and the user joins on completion.
    pub ticket: Option<String>,
}

pub use tessera_domain::sign_up::SignUpFields;

/// The result of a sign-up operation.
#[derive(Debug, Clone)]
pub struct SignUpOutcome {
    /// The attempt.
    pub sign_up: SignUp,
    /// Its field lists.
    pub fields: SignUpFields,
    /// The client afterwards.
    pub client: ClientView,
    /// A new client token to set as cookie, if it changed.
    pub new_token: Option<String>,
}

/// The machine's view of a stored sign-up.
fn state_of(sign_up: &SignUp) -> SignUpState {
    SignUpState {
        status: sign_up.status,
        given: Given {
            email_address: sign_up.email_address.is_some(),
            phone_number: sign_up.phone_number.is_some(),
            username: sign_up.username.is_some(),
            first_name: sign_up.first_name.is_some(),
            last_name: sign_up.last_name.is_some(),
            password: sign_up.password_hash.is_some(),
            legal_accepted: sign_up.legal_accepted_at.is_some(),
        },
        email_verification: sign_up.email_verification.clone(),
        phone_verification: sign_up.phone_verification.clone(),
    }
}

/// Keeps what a step decided.
fn apply_state(sign_up: &mut SignUp, state: SignUpState, now: i64) {
    sign_up.status = state.status;
    sign_up.email_verification = state.email_verification;
    sign_up.phone_verification = state.phone_verification;
    sign_up.updated_at = now;
}

/// The field lists of a sign-up (see [`tessera_domain::sign_up::fields`]).
pub fn fields(sign_up: &SignUp, settings: &InstanceSettings) -> SignUpFields {
    machine::fields(&state_of(sign_up), settings)
}

fn clean(raw: Option<String>) -> Option<String> {
    raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl crate::SignUps<'_> {
    async fn apply_sign_up_input(
        &self,
        sign_up: &mut SignUp,
        input: SignUpInput,
        settings: &InstanceSettings,
        now: i64,
    ) -> CoreResult<()> {
        let u = &settings.user;
        let refuse = |name: &str| CoreError::NotAllowed {
            code: ErrorCode::FormParamUnknown,
            detail: format!("{name} is not enabled for this instance."),
        };
        if let Some(raw) = clean(input.email_address) {
            if !u.email_address.enabled {
                return Err(refuse("email_address"));
            }
            let email = identifiers::normalize_email(&raw)
                .map_err(|i| invalid_to_error(i, settings, "email_address"))?;
            if sign_up.email_address.as_deref() != Some(email.as_str()) {
                sign_up.email_verification = None;
            }
            sign_up.email_address = Some(email);
        }
        if let Some(raw) = clean(input.phone_number) {
            if !u.phone_number.enabled {
                return Err(refuse("phone_number"));
            }
            let phone = identifiers::normalize_phone(&raw)
                .map_err(|i| invalid_to_error(i, settings, "phone_number"))?;
            if sign_up.phone_number.as_deref() != Some(phone.as_str()) {
                sign_up.phone_verification = None;
            }
            sign_up.phone_number = Some(phone);
        }
        if let Some(raw) = clean(input.username) {
            if !u.username.enabled {
                return Err(refuse("username"));
            }
            sign_up.username = Some(
                identifiers::normalize_username(&raw, &u.username_settings)
                    .map_err(|i| invalid_to_error(i, settings, "username"))?,
            );
        }
        if let Some(v) = clean(input.first_name) {
            sign_up.first_name = Some(v);
        }
        if let Some(v) = clean(input.last_name) {
            sign_up.last_name = Some(v);
        }
        if let Some(meta) = input.unsafe_metadata {
            sign_up.unsafe_metadata = meta;
        }
        if let Some(accepted) = input.legal_accepted {
            sign_up.legal_accepted_at = accepted.then_some(now);
        }
        if let Some(password) = input.password {
            if !u.password.enabled {
                return Err(refuse("password"));
            }
            check_new_password(&password, settings, false)?;
            sign_up.password_hash = Some(self.hasher.hash(password).await?);
        }
        Ok(())
    }

    /// Fails with `form_identifier_exists` when a given identifier belongs to a user.
    async fn check_sign_up_identifiers(
        &self,
        conn: &mut tessera_store::Conn,
        sign_up: &SignUp,
    ) -> CoreResult<()> {
        for (kind, value) in [
            (IdentificationKind::EmailAddress, &sign_up.email_address),
            (IdentificationKind::PhoneNumber, &sign_up.phone_number),
        ] {
            if let Some(v) = value {
                if tessera_store::identifications::find(conn, kind, v)
                    .await?
                    .is_some()
                {
                    return Err(CoreError::IdentifierExists {
                        param: kind.as_str().to_owned(),
                    });
                }
            }
        }
        if let Some(username) = &sign_up.username {
            if tessera_store::users::find_by_username(conn, username)
                .await?
                .is_some()
            {
                return Err(CoreError::IdentifierExists {
                    param: "username".to_owned(),
                });
            }
        }
        Ok(())
    }

    /// `POST /v1/client/sign_ups` (a new attempt) and `PATCH …/{id}` (more fields).
    pub async fn save_sign_up(
        &self,
        client: Option<&Client>,
        existing: Option<&str>,
        input: SignUpInput,
        info: &RequestInfo,
    ) -> CoreResult<SignUpOutcome> {
        let now = now_ms();
        let inst = self.instance();
        let settings = &inst.settings;
        if existing.is_none() {
            self.rate_limit(crate::rate_limits::SIGN_UP_PER_IP, info.ip.as_deref())
                .await?;
        }
        if existing.is_none() && settings.user.sign_up_mode != SignUpMode::Public {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::SignUpModeRestricted,
                detail: "Sign-ups are by invitation only on this application.".to_owned(),
            });
        }
        let mut sign_up = match existing {
            Some(id) => self.sign_up_of_client(client, id).await?,
            None => SignUp {
                id: SignUpId::generate(now),
                client_id: tessera_domain::ids::ClientId::generate(now),
                status: SignUpStatus::MissingRequirements,
                email_address: None,
                phone_number: None,
                username: None,
                first_name: None,
                last_name: None,
                password_hash: None,
                unsafe_metadata: Map::new(),
                legal_accepted_at: None,
                email_verification: None,
                phone_verification: None,
                created_user_id: None,
                created_session_id: None,
                abandon_at: now + SIGN_UP_LIFETIME_MS,
                created_at: now,
                updated_at: now,
                version: 0,
            },
        };
        // Refused before anything is hashed or looked up.
        machine::fields_given(state_of(&sign_up), settings)?;
        let ticket = input.ticket.clone();
        self.apply_sign_up_input(&mut sign_up, input, settings, now)
            .await?;
        let mut invitation = None;
        if let Some(ticket) = ticket.filter(|t| !t.is_empty()) {
            let (i, _) = self.organizations().invitation_by_ticket(&ticket).await?;
            sign_up.email_address = Some(i.email_address.clone());
            sign_up.email_verification = Some(Verification::passed(Strategy::Ticket));
            invitation = Some(i.id);
        } else if let Some(id) = existing {
            let mut conn = self.store.read().await?;
            invitation = tessera_store::organizations::ticket_of_sign_up(&mut conn, id).await?;
        }
        let mut tx = self.begin().await?;
        self.check_sign_up_identifiers(&mut tx, &sign_up).await?;
        let (mut client, mut new_token) = ensure_client(&mut tx, client, now).await?;
        sign_up.client_id = client.id.clone();
        let (state, effects) = machine::fields_given(state_of(&sign_up), settings)?;
        apply_state(&mut sign_up, state, now);
        if let Some(token) = self
            .apply_effects(&mut tx, &mut sign_up, &mut client, &effects, info, now)
            .await?
        {
            new_token = Some(token);
        }
        tessera_store::attempts::save_sign_up(&mut tx, &mut sign_up).await?;
        if let Some(inv) = &invitation {
            match &sign_up.created_user_id {
                Some(user) => {
                    self.organizations()
                        .join_in(&mut tx, inv, user, now)
                        .await?;
                }
                None => {
                    tessera_store::organizations::attach_ticket(&mut tx, sign_up.id.as_str(), inv)
                        .await?;
                }
            }
        }
        client.sign_up_id = Some(sign_up.id.clone());
        client.updated_at = now;
        tessera_store::clients::update(&mut tx, &client).await?;
        let view = load_view(&mut tx, client, now).await?;
        tx.commit().await?;
        Ok(SignUpOutcome {
            fields: fields(&sign_up, settings),
            sign_up,
            client: view,
            new_token,
        })
    }

    async fn sign_up_of_client(&self, client: Option<&Client>, id: &str) -> CoreResult<SignUp> {
        let client = client.ok_or(CoreError::NotFound)?;
        let id = SignUpId::parse(id).ok_or(CoreError::NotFound)?;
        let mut conn = self.store.read().await?;
        let sign_up = tessera_store::attempts::get_sign_up(&mut conn, &id).await?;
        if sign_up.client_id != client.id {
            return Err(CoreError::NotFound);
        }
        Ok(sign_up)
    }

    /// `GET /v1/client/sign_ups/{id}`.
    pub async fn get(&self, client: &Client, id: &str) -> CoreResult<(SignUp, SignUpFields)> {
        let sign_up = self.sign_up_of_client(Some(client), id).await?;
        let f = fields(&sign_up, &self.instance().settings);
        Ok((sign_up, f))
    }

    /// Creates the user and the session of a finished sign-up; returns the rotated client token.
    async fn complete_sign_up(
        &self,
        conn: &mut tessera_store::Conn,
        sign_up: &mut SignUp,
        client: &mut Client,
        rotate: bool,
        info: &RequestInfo,
        now: i64,
    ) -> CoreResult<Option<String>> {
        let user_id = UserId::generate(now);
        let mut user = User::new(user_id.clone(), now);
        user.username = sign_up.username.clone();
        user.first_name = sign_up.first_name.clone();
        user.last_name = sign_up.last_name.clone();
        if let Some(hash) = &sign_up.password_hash {
            user.password_hash = Some(hash.clone());
            user.password_hasher = Some(NATIVE_HASHER.to_owned());
            user.password_updated_at = Some(now);
            user.password_compromised_at = None;
        }
        user.unsafe_metadata = sign_up.unsafe_metadata.clone();
        user.legal_accepted_at = sign_up.legal_accepted_at;
        let mut idns = Vec::new();
        for (kind, value, state) in [
            (
                IdentificationKind::EmailAddress,
                &sign_up.email_address,
                &sign_up.email_verification,
            ),
            (
                IdentificationKind::PhoneNumber,
                &sign_up.phone_number,
                &sign_up.phone_verification,
            ),
        ] {
            if let Some(value) = value {
                let is_verified = state.as_ref().is_some_and(Verification::is_verified);
                let mut idn =
                    new_identification(&user_id, kind, value.clone(), is_verified, false, now);
                if is_verified {
                    idn.verification_strategy = state.as_ref().map(|s| s.strategy);
                }
                idns.push(idn);
            }
        }
        user.primary_email_address_id = idns
            .iter()
            .find(|i| i.kind == IdentificationKind::EmailAddress)
            .map(|i| i.id.clone());
        user.primary_phone_number_id = idns
            .iter()
            .find(|i| i.kind == IdentificationKind::PhoneNumber)
            .map(|i| i.id.clone());
        self.check_sign_up_identifiers(conn, sign_up).await?;
        tessera_store::users::insert(conn, &user)
            .await
            .map_err(crate::users::conflict_to_exists)?;
        for idn in &idns {
            tessera_store::identifications::insert(conn, idn)
                .await
                .map_err(crate::users::conflict_to_exists)?;
        }
        let view = crate::users::UserView {
            user,
            identifications: idns,
            passkeys: Vec::new(),
        };
        self.emit_user(conn, "user.created", &view, Some(info))
            .await?;
        let (session, token) = crate::sessions::clients::start_session_on(
            self, conn, client, &user_id, false, rotate, info, now,
        )
        .await?;
        sign_up.status = SignUpStatus::Complete;
        sign_up.created_user_id = Some(user_id);
        sign_up.created_session_id = Some(session.id);
        Ok(token)
    }

    /// Performs a step's `CreateUser` effect in the step's transaction;
    /// returns the rotated client token.
    async fn apply_effects(
        &self,
        conn: &mut tessera_store::Conn,
        sign_up: &mut SignUp,
        client: &mut Client,
        effects: &[Effect],
        info: &RequestInfo,
        now: i64,
    ) -> CoreResult<Option<String>> {
        self.apply_effects_rotating(conn, sign_up, client, effects, true, info, now)
            .await
    }

    /// [`Self::apply_effects`], rotating the client's token only when
    /// `rotate` (not when an email link opened elsewhere completes it).
    #[allow(clippy::too_many_arguments)]
    async fn apply_effects_rotating(
        &self,
        conn: &mut tessera_store::Conn,
        sign_up: &mut SignUp,
        client: &mut Client,
        effects: &[Effect],
        rotate: bool,
        info: &RequestInfo,
        now: i64,
    ) -> CoreResult<Option<String>> {
        let mut new_token = None;
        for effect in effects {
            if *effect == Effect::CreateUser {
                new_token = self
                    .complete_sign_up(conn, sign_up, client, rotate, info, now)
                    .await?;
            }
        }
        Ok(new_token)
    }

    /// The address or number a verification strategy concerns, and whether it
    /// is one of Clerk's test identifiers.
    fn verification_target(sign_up: &SignUp, strategy: Strategy) -> CoreResult<(String, bool)> {
        match strategy {
            Strategy::PhoneCode => {
                let phone = sign_up
                    .phone_number
                    .clone()
                    .ok_or_else(|| CoreError::missing("phone_number"))?;
                let test = identifiers::is_test_phone(&phone);
                Ok((phone, test))
            }
            _ => {
                let email = sign_up
                    .email_address
                    .clone()
                    .ok_or_else(|| CoreError::missing("email_address"))?;
                let test = is_test_email(&email);
                Ok((email, test))
            }
        }
    }

    /// `POST /v1/client/sign_ups/{id}/prepare_verification` (`email_code`,
    /// `phone_code`, or `email_link` with the `redirect_url` it returns to).
    pub async fn prepare_verification(
        &self,
        client: &Client,
        id: &str,
        strategy: Strategy,
        redirect_url: Option<String>,
        info: &RequestInfo,
    ) -> CoreResult<SignUpOutcome> {
        let now = now_ms();
        let inst = self.instance();
        let mut sign_up = self.sign_up_of_client(Some(client), id).await?;
        // An unsupported strategy is refused before anything is looked at.
        machine::prepare_verification(state_of(&sign_up), strategy, "", "", now)?;
        let (target, is_test) = Self::verification_target(&sign_up, strategy)?;
        self.rate_limit(crate::rate_limits::CODES_PER_IP, info.ip.as_deref())
            .await?;
        self.rate_limit(crate::rate_limits::CODES_PER_ADDRESS, Some(&target))
            .await?;
        let link = strategy == Strategy::EmailLink;
        let code = if link {
            crate::sessions::clients::new_token()
        } else {
            codes::generate()
        };
        let (mut state, effects) = machine::prepare_verification(
            state_of(&sign_up),
            strategy,
            sign_up.id.as_str(),
            &code,
            now,
        )?;
        if link {
            let target = redirect_url.ok_or_else(|| CoreError::missing("redirect_url"))?;
            if let Some(v) = state.email_verification.as_mut() {
                v.redirect_url = Some(target);
            }
        }
        apply_state(&mut sign_up, state, now);
        let mut tx = self.begin().await?;
        tessera_store::attempts::save_sign_up(&mut tx, &mut sign_up).await?;
        let client_row = tessera_store::clients::get(&mut tx, &client.id).await?;
        let view = load_view(&mut tx, client_row, now).await?;
        tx.commit().await?;
        for effect in effects {
            if let Effect::SendCode(strategy) = effect {
                if strategy == Strategy::EmailLink {
                    if !is_test {
                        let url =
                            crate::mailer::link_url(&self.frontend_url, sign_up.id.as_str(), &code);
                        let mail =
                            crate::mailer::verify_link_email(&target, &self.app_name(), &url);
                        self.deliver_as(mail, "verification_link").await;
                    }
                    continue;
                }
                let kind = strategy
                    .channel()
                    .unwrap_or(IdentificationKind::EmailAddress);
                self.send_code(kind, &target, is_test, CodePurpose::Verify, &code)
                    .await;
            }
        }
        Ok(SignUpOutcome {
            fields: fields(&sign_up, &inst.settings),
            sign_up,
            client: view,
            new_token: None,
        })
    }

    /// A completed sign-up that came with an invitation's ticket joins its
    /// organization.
    async fn join_by_ticket(
        &self,
        conn: &mut tessera_store::Conn,
        sign_up: &SignUp,
        now: i64,
    ) -> CoreResult<()> {
        if let Some(user) = &sign_up.created_user_id {
            let ticket =
                tessera_store::organizations::ticket_of_sign_up(conn, sign_up.id.as_str()).await?;
            if let Some(inv) = ticket {
                self.organizations().join_in(conn, &inv, user, now).await?;
            }
        }
        Ok(())
    }

    /// `POST /v1/client/sign_ups/{id}/attempt_verification`.
    pub async fn attempt_verification(
        &self,
        client: &Client,
        id: &str,
        strategy: Strategy,
        code: &str,
        info: &RequestInfo,
    ) -> CoreResult<SignUpOutcome> {
        let now = now_ms();
        let inst = self.instance();
        let mut sign_up = self.sign_up_of_client(Some(client), id).await?;
        let is_test = Self::verification_target(&sign_up, strategy).is_ok_and(|(_, test)| test);
        let proof = Proof::Code {
            code,
            accept_test_code: inst.environment == EnvironmentType::Development
                && inst.settings.instance.test_mode
                && is_test,
        };
        let step = machine::attempt_verification(
            state_of(&sign_up),
            strategy,
            proof,
            sign_up.id.as_str(),
            &inst.settings,
            now,
        )?;
        apply_state(&mut sign_up, step.state, now);
        let mut tx = self.begin().await?;
        let mut client_row = tessera_store::clients::get(&mut tx, &client.id).await?;
        let new_token = self
            .apply_effects(
                &mut tx,
                &mut sign_up,
                &mut client_row,
                &step.effects,
                info,
                now,
            )
            .await?;
        tessera_store::attempts::save_sign_up(&mut tx, &mut sign_up).await?;
        self.join_by_ticket(&mut tx, &sign_up, now).await?;
        let view = load_view(&mut tx, client_row, now).await?;
        tx.commit().await?;
        codes::refused(step.attempt)?;
        Ok(SignUpOutcome {
            fields: fields(&sign_up, &inst.settings),
            sign_up,
            client: view,
            new_token,
        })
    }

    /// An email link of a sign-up opened (`GET /v1/verify`): verifies its
    /// email address, and completes it (creating the user and a session on
    /// the client that signed up) when nothing else is left.
    pub(crate) async fn open_email_link(
        &self,
        id: &tessera_domain::ids::SignUpId,
        secret: &str,
        opener: Option<&Client>,
        info: &RequestInfo,
    ) -> CoreResult<super::sign_ins::EmailLinkOutcome> {
        let now = now_ms();
        let inst = self.instance();
        let mut out = super::sign_ins::EmailLinkOutcome::failed();
        let mut tx = self.begin().await?;
        let Ok(mut sign_up) = tessera_store::attempts::get_sign_up(&mut tx, id).await else {
            return Ok(out);
        };
        let Some(prepared) = sign_up
            .email_verification
            .clone()
            .filter(|v| v.strategy == Strategy::EmailLink)
        else {
            return Ok(out);
        };
        out.redirect_url = prepared.redirect_url.clone();
        let same_client = opener.is_some_and(|c| c.id == sign_up.client_id);
        if !same_client && inst.settings.user.email_link_require_same_client {
            out.status = "client_mismatch";
            return Ok(out);
        }
        let proof = Proof::Code {
            code: secret,
            accept_test_code: false,
        };
        let Ok(mut step) = machine::attempt_verification(
            state_of(&sign_up),
            Strategy::EmailLink,
            proof,
            sign_up.id.as_str(),
            &inst.settings,
            now,
        ) else {
            return Ok(out);
        };
        out.status = super::sign_ins::EmailLinkOutcome::status_of(step.attempt);
        if step.attempt == Attempt::Verified {
            if let Some(v) = step.state.email_verification.as_mut() {
                v.verified_at_client = opener.map(|c| c.id.as_str().to_owned());
            }
        }
        apply_state(&mut sign_up, step.state, now);
        let mut client_row = tessera_store::clients::get(&mut tx, &sign_up.client_id).await?;
        out.new_client_token = self
            .apply_effects_rotating(
                &mut tx,
                &mut sign_up,
                &mut client_row,
                &step.effects,
                same_client,
                info,
                now,
            )
            .await?;
        out.created_session_id = sign_up
            .created_session_id
            .as_ref()
            .map(|s| s.as_str().to_owned());
        tessera_store::attempts::save_sign_up(&mut tx, &mut sign_up).await?;
        self.join_by_ticket(&mut tx, &sign_up, now).await?;
        tx.commit().await?;
        Ok(out)
    }
}
