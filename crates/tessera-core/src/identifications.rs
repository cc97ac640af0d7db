//! Email addresses and phone numbers managed through the Backend API.

use tessera_domain::identifiers;
use tessera_domain::ids::{IdentificationId, UserId};
use tessera_domain::kinds::{IdentificationKind, VerificationStatus};
use tessera_domain::verification::Strategy;
use tessera_store::records::{Identification, User};

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::users::{conflict_to_exists, invalid_to_error, load_view, new_identification, UserView};
use crate::Core;

/// Changes to an identification; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct IdentificationPatch {
    /// Mark verified (`true`) or unverified.
    pub verified: Option<bool>,
    /// Make it the user's primary one.
    pub primary: Option<bool>,
    /// Reserve a phone number for second factor.
    pub reserved_for_second_factor: Option<bool>,
}

fn normalize(kind: IdentificationKind, raw: &str, core: &Core) -> CoreResult<String> {
    let settings = &core.instance().settings;
    match kind {
        IdentificationKind::EmailAddress => identifiers::normalize_email(raw),
        IdentificationKind::PhoneNumber => identifiers::normalize_phone(raw),
    }
    .map_err(|inv| invalid_to_error(inv, settings, kind.as_str()))
}

fn primary_slot(user: &mut User, kind: IdentificationKind) -> &mut Option<IdentificationId> {
    match kind {
        IdentificationKind::EmailAddress => &mut user.primary_email_address_id,
        IdentificationKind::PhoneNumber => &mut user.primary_phone_number_id,
    }
}

/// After a change, makes sure the primary slot points at a verified identification
/// of that kind, if there is one.
fn repair_primary(view: &mut UserView, kind: IdentificationKind) {
    let current = primary_slot(&mut view.user, kind).clone();
    let still_valid = current
        .as_ref()
        .is_some_and(|id| view.identifications.iter().any(|i| &i.id == id));
    if !still_valid {
        let next = view
            .identifications
            .iter()
            .find(|i| i.kind == kind && i.verification_status == VerificationStatus::Verified)
            .map(|i| i.id.clone());
        *primary_slot(&mut view.user, kind) = next;
    }
}

fn apply_patch(idn: &mut Identification, patch: &IdentificationPatch, now: i64) -> CoreResult<()> {
    if let Some(verified) = patch.verified {
        if verified && idn.verification_status != VerificationStatus::Verified {
            idn.verification_status = VerificationStatus::Verified;
            idn.verification_strategy = Some(Strategy::Admin);
            idn.verified_at = Some(now);
        } else if !verified {
            idn.verification_status = VerificationStatus::Unverified;
            idn.verification_strategy = None;
            idn.verified_at = None;
        }
    }
    if let Some(reserve) = patch.reserved_for_second_factor {
        if idn.kind != IdentificationKind::PhoneNumber {
            return Err(CoreError::value(
                "reserved_for_second_factor",
                "applies to phone numbers only",
            ));
        }
        if reserve && idn.verification_status != VerificationStatus::Verified {
            return Err(CoreError::value(
                "reserved_for_second_factor",
                "the phone number must be verified",
            ));
        }
        idn.reserved_for_second_factor = reserve;
        idn.default_second_factor = reserve;
    }
    idn.updated_at = now;
    Ok(())
}

impl crate::Identifications<'_> {
    /// Adds an email address or phone number to a user.
    pub async fn create(
        &self,
        kind: IdentificationKind,
        user_id: &str,
        value: &str,
        patch: IdentificationPatch,
    ) -> CoreResult<Identification> {
        let value = normalize(kind, value, self)?;
        let user_id = UserId::parse(user_id).ok_or(CoreError::NotFound)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, &user_id).await?;
        if tessera_store::identifications::find(&mut tx, kind, &value)
            .await?
            .is_some()
        {
            return Err(CoreError::IdentifierExists {
                param: kind.as_str().to_owned(),
            });
        }
        let mut idn = new_identification(&user_id, kind, value, false, false, now);
        apply_patch(&mut idn, &patch, now)?;
        let first_of_kind = !view.identifications.iter().any(|i| i.kind == kind);
        tessera_store::identifications::insert(&mut tx, &idn)
            .await
            .map_err(conflict_to_exists)?;
        let verified = idn.verification_status == VerificationStatus::Verified;
        let make_primary = patch.primary.unwrap_or(first_of_kind && verified);
        if make_primary {
            if idn.verification_status != VerificationStatus::Verified {
                return Err(CoreError::value(
                    "primary",
                    "only a verified identification can be primary",
                ));
            }
            *primary_slot(&mut view.user, kind) = Some(idn.id.clone());
        }
        view.identifications.push(idn.clone());
        repair_primary(&mut view, kind);
        view.user.updated_at = now;
        tessera_store::users::update(&mut tx, &view.user).await?;
        let fresh = load_view(&mut tx, &view.user.id).await?;
        self.emit_user(&mut tx, "user.updated", &fresh, None)
            .await?;
        tx.commit().await?;
        Ok(idn)
    }

    /// Loads an identification of the given kind.
    pub async fn get(&self, kind: IdentificationKind, id: &str) -> CoreResult<Identification> {
        let id = IdentificationId::parse(id).ok_or(CoreError::NotFound)?;
        let mut conn = self.store.read().await?;
        let idn = tessera_store::identifications::get(&mut conn, &id).await?;
        if idn.kind != kind {
            return Err(CoreError::NotFound);
        }
        Ok(idn)
    }

    /// Updates verification, primary and second-factor flags.
    pub async fn update(
        &self,
        kind: IdentificationKind,
        id: &str,
        patch: IdentificationPatch,
    ) -> CoreResult<Identification> {
        let id = IdentificationId::parse(id).ok_or(CoreError::NotFound)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut idn = tessera_store::identifications::get(&mut tx, &id).await?;
        if idn.kind != kind {
            return Err(CoreError::NotFound);
        }
        apply_patch(&mut idn, &patch, now)?;
        tessera_store::identifications::update(&mut tx, &idn).await?;
        let mut view = load_view(&mut tx, &idn.user_id).await?;
        if patch.primary == Some(true) {
            if idn.verification_status != VerificationStatus::Verified {
                return Err(CoreError::value(
                    "primary",
                    "only a verified identification can be primary",
                ));
            }
            *primary_slot(&mut view.user, kind) = Some(idn.id.clone());
        }
        if primary_slot(&mut view.user, kind).as_ref() == Some(&idn.id)
            && idn.verification_status != VerificationStatus::Verified
        {
            *primary_slot(&mut view.user, kind) = None;
        }
        repair_primary(&mut view, kind);
        view.user.updated_at = now;
        tessera_store::users::update(&mut tx, &view.user).await?;
        let fresh = load_view(&mut tx, &view.user.id).await?;
        self.emit_user(&mut tx, "user.updated", &fresh, None)
            .await?;
        tx.commit().await?;
        Ok(idn)
    }

    /// Deletes an identification; another verified one becomes primary if needed.
    pub async fn delete(&self, kind: IdentificationKind, id: &str) -> CoreResult<Identification> {
        let id = IdentificationId::parse(id).ok_or(CoreError::NotFound)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let idn = tessera_store::identifications::get(&mut tx, &id).await?;
        if idn.kind != kind {
            return Err(CoreError::NotFound);
        }
        tessera_store::identifications::delete(&mut tx, &id).await?;
        let mut view = load_view(&mut tx, &idn.user_id).await?;
        repair_primary(&mut view, kind);
        view.user.updated_at = now;
        tessera_store::users::update(&mut tx, &view.user).await?;
        let fresh = load_view(&mut tx, &view.user.id).await?;
        self.emit_user(&mut tx, "user.updated", &fresh, None)
            .await?;
        tx.commit().await?;
        Ok(idn)
    }

    /// Replaces all of a user's identifications of one kind with a single primary one
    /// (`status`: `verified`, `reserved` or `unverified`).
    pub async fn replace(
        &self,
        kind: IdentificationKind,
        user_id: &str,
        value: &str,
        status: &str,
    ) -> CoreResult<Identification> {
        let (verified, reserved) = match status {
            "verified" => (true, false),
            "reserved" => (false, true),
            "unverified" => (false, false),
            _ => {
                return Err(CoreError::value(
                    "identification_status",
                    "must be verified, reserved or unverified",
                ))
            }
        };
        let value = normalize(kind, value, self)?;
        let user_id = UserId::parse(user_id).ok_or(CoreError::NotFound)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, &user_id).await?;
        if let Some(owner) = tessera_store::identifications::find(&mut tx, kind, &value).await? {
            if owner.user_id != user_id {
                return Err(CoreError::IdentifierExists {
                    param: kind.as_str().to_owned(),
                });
            }
        }
        for old in view.identifications.iter().filter(|i| i.kind == kind) {
            tessera_store::identifications::delete(&mut tx, &old.id).await?;
        }
        let idn = new_identification(&user_id, kind, value, verified, reserved, now);
        tessera_store::identifications::insert(&mut tx, &idn)
            .await
            .map_err(conflict_to_exists)?;
        view.identifications.retain(|i| i.kind != kind);
        view.identifications.push(idn.clone());
        *primary_slot(&mut view.user, kind) = Some(idn.id.clone());
        view.user.updated_at = now;
        tessera_store::users::update(&mut tx, &view.user).await?;
        let fresh = load_view(&mut tx, &view.user.id).await?;
        self.emit_user(&mut tx, "user.updated", &fresh, None)
            .await?;
        tx.commit().await?;
        Ok(idn)
    }
}
