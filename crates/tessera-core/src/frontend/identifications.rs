//! The signed-in user's own email addresses and phone numbers (`/v1/me/email_addresses…`,
//! `/v1/me/phone_numbers…`): adding one, verifying it by a code sent by email or
//! SMS, second-factor flags of phone numbers, and removal.

use tessera_domain::error_code::ErrorCode;
use tessera_domain::identifiers::{is_test_email, is_test_phone};
use tessera_domain::ids::{IdentificationId, UserId};
use tessera_domain::kinds::{IdentificationKind, VerificationStatus};
use tessera_domain::settings::{AttributeSetting, EnvironmentType};
use tessera_domain::verification::{Attempt, Proof, Strategy, Verification};
use tessera_store::records::Identification;

use crate::clock::now_ms;
use crate::codes;
use crate::error::{CoreError, CoreResult};
use crate::mailer::CodePurpose;
use crate::request::RequestInfo;

/// Clerk's test identifiers (`…+clerk_test@…`, `+1 XXX 555-01XX`).
fn is_test_identifier(kind: IdentificationKind, value: &str) -> bool {
    match kind {
        IdentificationKind::EmailAddress => is_test_email(value),
        IdentificationKind::PhoneNumber => is_test_phone(value),
    }
}

/// Whether a code attempt for `value` may pass with the test code: Clerk's
/// test identifiers on a development instance in test mode.
fn accepts_test_code(
    inst: &tessera_store::records::Instance,
    kind: IdentificationKind,
    value: &str,
) -> bool {
    inst.environment == EnvironmentType::Development
        && inst.settings.instance.test_mode
        && is_test_identifier(kind, value)
}

/// Applies `reserved_for_second_factor` / `default_second_factor` to `target`
/// among a user's phone numbers. At most one of them is the default; reserving
/// the first one makes it the default, and un-reserving the default hands that
/// role to another reserved number.
pub fn set_second_factor_flags(
    phones: &mut [Identification],
    target: &IdentificationId,
    reserved: Option<bool>,
    default: Option<bool>,
) -> CoreResult<()> {
    let idx = phones
        .iter()
        .position(|p| &p.id == target)
        .ok_or(CoreError::NotFound)?;
    if let Some(reserve) = reserved {
        if reserve {
            if phones[idx].verification_status != VerificationStatus::Verified {
                return Err(CoreError::value(
                    "reserved_for_second_factor",
                    "the phone number must be verified first",
                ));
            }
            phones[idx].reserved_for_second_factor = true;
            if !phones.iter().any(|p| p.default_second_factor) {
                phones[idx].default_second_factor = true;
            }
        } else {
            let was_default = phones[idx].default_second_factor;
            phones[idx].reserved_for_second_factor = false;
            phones[idx].default_second_factor = false;
            if was_default {
                if let Some(next) = phones
                    .iter_mut()
                    .find(|p| p.reserved_for_second_factor && &p.id != target)
                {
                    next.default_second_factor = true;
                }
            }
        }
    }
    match default {
        Some(true) => {
            if !phones[idx].reserved_for_second_factor {
                return Err(CoreError::value(
                    "default_second_factor",
                    "the phone number must be reserved for second factor first",
                ));
            }
            for p in phones.iter_mut() {
                p.default_second_factor = &p.id == target;
            }
        }
        Some(false) => phones[idx].default_second_factor = false,
        None => {}
    }
    Ok(())
}

impl crate::Identifications<'_> {
    /// Refuses identifications of a kind the instance settings turn off.
    fn ensure_attribute_enabled(&self, kind: IdentificationKind) -> CoreResult<()> {
        let user = &self.instance().settings.user;
        let setting: AttributeSetting = match kind {
            IdentificationKind::EmailAddress => user.email_address,
            IdentificationKind::PhoneNumber => user.phone_number,
        };
        if setting.enabled {
            Ok(())
        } else {
            Err(CoreError::AttributeDisabled {
                param: kind.as_str().to_owned(),
            })
        }
    }

    /// One of the user's own identifications of `kind` (404 for anyone else's).
    pub async fn own_identification(
        &self,
        user_id: &UserId,
        kind: IdentificationKind,
        id: &str,
    ) -> CoreResult<Identification> {
        let idn = self.get(kind, id).await?;
        if &idn.user_id != user_id {
            return Err(CoreError::NotFound);
        }
        Ok(idn)
    }

    /// The user's identifications of `kind`, oldest first.
    pub async fn own_identifications(
        &self,
        user_id: &UserId,
        kind: IdentificationKind,
    ) -> CoreResult<Vec<Identification>> {
        let mut conn = self.store.read().await?;
        let all = tessera_store::identifications::list_for_user(&mut conn, user_id).await?;
        Ok(all.into_iter().filter(|i| i.kind == kind).collect())
    }

    /// Adds an unverified email address or phone number to the user.
    pub async fn create_own_identification(
        &self,
        user_id: &UserId,
        kind: IdentificationKind,
        value: &str,
    ) -> CoreResult<Identification> {
        self.ensure_attribute_enabled(kind)?;
        self.create(kind, user_id.as_str(), value, Default::default())
            .await
    }

    /// Removes one of the user's identifications (another verified one becomes primary).
    pub async fn delete_own_identification(
        &self,
        user_id: &UserId,
        kind: IdentificationKind,
        id: &str,
    ) -> CoreResult<Identification> {
        self.own_identification(user_id, kind, id).await?;
        self.delete(kind, id).await
    }

    /// Sends a code to one of the user's own identifications: by email for an
    /// address, by SMS for a phone number; or, with `link`, an email link.
    /// Rate-limited per address and per IP.
    pub async fn prepare_own_verification(
        &self,
        user_id: &UserId,
        kind: IdentificationKind,
        id: &str,
        strategy: Option<Strategy>,
        link_request: Option<LinkRequest<'_>>,
        info: &RequestInfo,
    ) -> CoreResult<Identification> {
        let now = now_ms();
        let mut idn = self.own_identification(user_id, kind, id).await?;
        let link = kind == IdentificationKind::EmailAddress
            && strategy == Some(Strategy::EmailLink)
            && link_request.is_some();
        let expected = if link {
            Strategy::EmailLink
        } else {
            Strategy::code_for(kind)
        };
        if let Some(other) = strategy.filter(|s| *s != expected) {
            return Err(CoreError::value(
                "strategy",
                format!("{other} is not supported here; use {expected}"),
            ));
        }
        self.ensure_attribute_enabled(kind)?;
        if idn.verification_status == VerificationStatus::Verified {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::VerificationAlreadyVerified,
                detail: format!(
                    "This {} is already verified.",
                    kind.as_str().replace('_', " ")
                ),
            });
        }
        self.rate_limit(crate::rate_limits::CODES_PER_IP, info.ip.as_deref())
            .await?;
        self.rate_limit(crate::rate_limits::CODES_PER_ADDRESS, Some(&idn.identifier))
            .await?;
        let code = if link {
            crate::sessions::clients::new_token()
        } else {
            codes::generate()
        };
        let mut verification = Verification::code_sent(
            expected,
            idn.id.as_str(),
            &code,
            Some(idn.id.as_str().to_owned()),
            now,
        );
        if let Some(asked) = link_request.filter(|_| link) {
            verification.redirect_url = Some(asked.redirect_url);
            verification.asked_by_client = asked.client_id.map(|c| c.as_str().to_owned());
        }
        idn.verification = Some(verification);
        idn.verification_strategy = Some(expected);
        idn.updated_at = now;
        let mut tx = self.begin().await?;
        tessera_store::identifications::update(&mut tx, &idn).await?;
        tx.commit().await?;
        let is_test = is_test_identifier(kind, &idn.identifier);
        if link {
            if !is_test {
                let url = crate::mailer::link_url(&self.frontend_url, idn.id.as_str(), &code);
                let mail =
                    crate::mailer::verify_link_email(&idn.identifier, &self.app_name(), &url);
                self.deliver_as(mail, "verification_link").await;
            }
        } else {
            self.send_code(kind, &idn.identifier, is_test, CodePurpose::Verify, &code)
                .await;
        }
        Ok(idn)
    }

    /// Checks a code for one of the user's own identifications; the first
    /// verified one of its kind becomes the user's primary one.
    pub async fn attempt_own_verification(
        &self,
        user_id: &UserId,
        kind: IdentificationKind,
        id: &str,
        code: &str,
    ) -> CoreResult<Identification> {
        let now = now_ms();
        let inst = self.instance();
        let mut idn = self.own_identification(user_id, kind, id).await?;
        let proof = Proof::Code {
            code,
            accept_test_code: accepts_test_code(&inst, kind, &idn.identifier),
        };
        let (state, outcome) =
            codes::prepared(idn.verification.clone())?.attempt(idn.id.as_str(), proof, now);
        if outcome == Attempt::Verified {
            idn.verification_status = VerificationStatus::Verified;
            idn.verified_at = Some(now);
        }
        idn.verification = Some(state);
        idn.updated_at = now;
        let mut tx = self.begin().await?;
        tessera_store::identifications::update(&mut tx, &idn).await?;
        let mut user = tessera_store::users::get(&mut tx, user_id).await?;
        let primary = match kind {
            IdentificationKind::EmailAddress => &mut user.primary_email_address_id,
            IdentificationKind::PhoneNumber => &mut user.primary_phone_number_id,
        };
        if outcome == Attempt::Verified && primary.is_none() {
            *primary = Some(idn.id.clone());
            user.updated_at = now;
            tessera_store::users::update(&mut tx, &user).await?;
        }
        tx.commit().await?;
        codes::refused(outcome)?;
        Ok(idn)
    }

    /// Sets `reserved_for_second_factor` / `default_second_factor` on one of the
    /// user's phone numbers (see [`set_second_factor_flags`]).
    pub async fn update_own_phone_number(
        &self,
        user_id: &UserId,
        id: &str,
        reserved: Option<bool>,
        default: Option<bool>,
    ) -> CoreResult<Identification> {
        let target = self
            .own_identification(user_id, IdentificationKind::PhoneNumber, id)
            .await?
            .id;
        if reserved == Some(true) && !self.instance().settings.user.sms_second_factor() {
            return Err(CoreError::value(
                "reserved_for_second_factor",
                "SMS codes are not a second factor on this instance",
            ));
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let before: Vec<Identification> =
            tessera_store::identifications::list_for_user(&mut tx, user_id)
                .await?
                .into_iter()
                .filter(|i| i.kind == IdentificationKind::PhoneNumber)
                .collect();
        let mut phones = before.clone();
        set_second_factor_flags(&mut phones, &target, reserved, default)?;
        for (old, new) in before.iter().zip(phones.iter_mut()) {
            if old.reserved_for_second_factor != new.reserved_for_second_factor
                || old.default_second_factor != new.default_second_factor
                || new.id == target
            {
                new.updated_at = now;
                tessera_store::identifications::update(&mut tx, new).await?;
            }
        }
        if phones.iter().any(|p| p.reserved_for_second_factor) {
            tessera_store::sessions::finish_task(
                &mut tx,
                user_id,
                tessera_domain::tasks::SessionTask::SetupMfa,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        phones
            .into_iter()
            .find(|p| p.id == target)
            .ok_or(CoreError::NotFound)
    }
}

/// The Backend API's verifications of an email address or phone number
/// (`POST /v1/email_addresses/{id}/prepare_verification` and
/// `…/attempt_verification`, the same for phone numbers): each has its own id,
/// and an attempt's outcome is reported in its status, not as an error.
impl crate::Identifications<'_> {
    /// Sends a code to the identification and starts a verification for it.
    pub async fn prepare_backend_verification(
        &self,
        kind: IdentificationKind,
        id: &str,
    ) -> CoreResult<tessera_store::identifications::BackendVerification> {
        let now = now_ms();
        let idn_id = IdentificationId::parse(id).ok_or(CoreError::NotFound)?;
        let idn = {
            let mut conn = self.store.read().await?;
            tessera_store::identifications::get(&mut conn, &idn_id).await?
        };
        if idn.kind != kind {
            return Err(CoreError::NotFound);
        }
        self.rate_limit(crate::rate_limits::CODES_PER_ADDRESS, Some(&idn.identifier))
            .await?;
        let strategy = Strategy::code_for(kind);
        let vid = tessera_domain::ids::VerificationId::generate(now);
        let code = codes::generate();
        let v = tessera_store::identifications::BackendVerification {
            id: vid.as_str().to_owned(),
            identification_id: idn.id.clone(),
            state: Verification::code_sent(
                strategy,
                vid.as_str(),
                &code,
                Some(idn.id.as_str().to_owned()),
                now,
            ),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.begin().await?;
        tessera_store::identifications::insert_verification(&mut tx, &v).await?;
        tx.commit().await?;
        let is_test = is_test_identifier(kind, &idn.identifier);
        self.send_code(kind, &idn.identifier, is_test, CodePurpose::Verify, &code)
            .await;
        Ok(v)
    }

    /// Checks a code against a verification the Backend API started; a right
    /// code also verifies the identification (if it was not yet).
    pub async fn attempt_backend_verification(
        &self,
        kind: IdentificationKind,
        id: &str,
        verification_id: &str,
        code: &str,
    ) -> CoreResult<tessera_store::identifications::BackendVerification> {
        let now = now_ms();
        let inst = self.instance();
        let idn_id = IdentificationId::parse(id).ok_or(CoreError::NotFound)?;
        let mut tx = self.begin().await?;
        let mut idn = tessera_store::identifications::get(&mut tx, &idn_id).await?;
        if idn.kind != kind {
            return Err(CoreError::NotFound);
        }
        let mut v =
            tessera_store::identifications::get_verification(&mut tx, &idn_id, verification_id)
                .await?;
        if v.state.is_verified() {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::VerificationAlreadyVerified,
                detail: "This verification has been verified already.".to_owned(),
            });
        }
        let proof = Proof::Code {
            code,
            accept_test_code: accepts_test_code(&inst, kind, &idn.identifier),
        };
        let (state, outcome) = v.state.clone().attempt(&v.id, proof, now);
        v.state = state;
        v.updated_at = now;
        tessera_store::identifications::update_verification(&mut tx, &v).await?;
        if outcome == Attempt::Verified && idn.verification_status != VerificationStatus::Verified {
            idn.verification_status = VerificationStatus::Verified;
            idn.verification_strategy = Some(v.state.strategy);
            idn.verified_at = Some(now);
            idn.updated_at = now;
            tessera_store::identifications::update(&mut tx, &idn).await?;
            let view = crate::users::load_view(&mut tx, &idn.user_id).await?;
            self.emit_user(&mut tx, "user.updated", &view, None).await?;
        }
        tx.commit().await?;
        Ok(v)
    }
}

/// An email link asked for: where it returns to, and the browser that asked.
#[derive(Debug, Clone)]
pub struct LinkRequest<'a> {
    /// Where opening the link leads (an allowed origin's URL).
    pub redirect_url: String,
    /// The client that asked (a link only works there when the instance
    /// requires the same client).
    pub client_id: Option<&'a tessera_domain::ids::ClientId>,
}

/// Email links that verify a signed-in user's own address.
impl crate::Identifications<'_> {
    /// An email link of `/v1/me/email_addresses/{id}/prepare_verification`
    /// opened: a right, unexpired, unused link verifies the address (the
    /// first verified one becomes primary).
    pub(crate) async fn open_email_link(
        &self,
        id: &IdentificationId,
        secret: &str,
        opener: Option<&tessera_store::records::Client>,
    ) -> CoreResult<super::sign_ins::EmailLinkOutcome> {
        let now = now_ms();
        let mut out = super::sign_ins::EmailLinkOutcome::failed();
        let mut tx = self.begin().await?;
        let Ok(mut idn) = tessera_store::identifications::get(&mut tx, id).await else {
            return Ok(out);
        };
        let Some(prepared) = idn
            .verification
            .clone()
            .filter(|v| v.strategy == Strategy::EmailLink)
        else {
            return Ok(out);
        };
        out.redirect_url = prepared.redirect_url.clone();
        let same_client =
            opener.is_some_and(|c| prepared.asked_by_client.as_deref() == Some(c.id.as_str()));
        if !same_client && self.instance().settings.user.email_link_require_same_client {
            out.status = "client_mismatch";
            return Ok(out);
        }
        let proof = Proof::Code {
            code: secret,
            accept_test_code: false,
        };
        let (mut state, outcome) = prepared.attempt(idn.id.as_str(), proof, now);
        out.status = super::sign_ins::EmailLinkOutcome::status_of(outcome);
        if outcome == Attempt::Verified {
            state.verified_at_client = opener.map(|c| c.id.as_str().to_owned());
            idn.verification_status = VerificationStatus::Verified;
            idn.verified_at = Some(now);
        }
        idn.verification = Some(state);
        idn.updated_at = now;
        tessera_store::identifications::update(&mut tx, &idn).await?;
        if outcome == Attempt::Verified {
            let mut user = tessera_store::users::get(&mut tx, &idn.user_id).await?;
            if user.primary_email_address_id.is_none() {
                user.primary_email_address_id = Some(idn.id.clone());
                user.updated_at = now;
                tessera_store::users::update(&mut tx, &user).await?;
            }
            let view = crate::users::load_view(&mut tx, &idn.user_id).await?;
            self.emit_user(&mut tx, "user.updated", &view, None).await?;
        }
        tx.commit().await?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(n: u8, verified: bool) -> Identification {
        let mut idn = crate::users::new_identification(
            &UserId::generate(0),
            IdentificationKind::PhoneNumber,
            format!("+1415555000{n}"),
            verified,
            false,
            i64::from(n),
        );
        idn.id = IdentificationId::generate(i64::from(n) * 1000);
        idn
    }

    fn flags(phones: &[Identification]) -> Vec<(bool, bool)> {
        phones
            .iter()
            .map(|p| (p.reserved_for_second_factor, p.default_second_factor))
            .collect()
    }

    #[test]
    fn one_default_among_reserved_numbers() {
        let mut phones = vec![phone(1, true), phone(2, true), phone(3, false)];
        let (a, b, c) = (
            phones[0].id.clone(),
            phones[1].id.clone(),
            phones[2].id.clone(),
        );
        set_second_factor_flags(&mut phones, &a, Some(true), None).unwrap();
        set_second_factor_flags(&mut phones, &b, Some(true), None).unwrap();
        assert_eq!(
            flags(&phones),
            [(true, true), (true, false), (false, false)],
            "the first reserved number is the default"
        );
        set_second_factor_flags(&mut phones, &b, None, Some(true)).unwrap();
        assert_eq!(
            flags(&phones),
            [(true, false), (true, true), (false, false)]
        );
        set_second_factor_flags(&mut phones, &b, Some(false), None).unwrap();
        assert_eq!(
            flags(&phones),
            [(true, true), (false, false), (false, false)],
            "the default passes on"
        );
        let err = set_second_factor_flags(&mut phones, &c, Some(true), None).unwrap_err();
        assert_eq!(err.param(), Some("reserved_for_second_factor"));
        let err = set_second_factor_flags(&mut phones, &b, None, Some(true)).unwrap_err();
        assert_eq!(err.param(), Some("default_second_factor"));
    }
}
