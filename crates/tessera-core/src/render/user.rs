//! The `user` object.

use crate::users::UserView;
use serde_json::{json, Value};
use tessera_domain::kinds::IdentificationKind;
use tessera_domain::settings::InstanceSettings;

use super::identification::identification;

/// Public URL of a user's profile image (a generated avatar when none is stored).
pub fn image_url(frontend_url: &str, view: &UserView) -> String {
    format!(
        "{frontend_url}/v1/images/users/{}?v={}",
        view.user.id, view.user.image_version
    )
}

/// A user as the Backend API renders it.
pub fn user(view: &UserView, settings: &InstanceSettings, frontend_url: &str, now: i64) -> Value {
    let u = &view.user;
    let of_kind = |kind| -> Vec<Value> {
        view.identifications
            .iter()
            .filter(|i| i.kind == kind)
            .map(identification)
            .collect()
    };
    let locked = u.is_locked(now);
    let lockout = settings.user.lockout;
    let image = image_url(frontend_url, view);
    json!({
        "id": u.id.as_str(),
        "object": "user",
        "external_id": u.external_id,
        "primary_email_address_id": u.primary_email_address_id.as_ref().map(|i| i.as_str()),
        "primary_phone_number_id": u.primary_phone_number_id.as_ref().map(|i| i.as_str()),
        "primary_web3_wallet_id": null,
        "username": u.username,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "locale": null,
        "profile_image_url": image,
        "image_url": image,
        "has_image": u.has_image,
        "public_metadata": u.public_metadata,
        "private_metadata": u.private_metadata,
        "unsafe_metadata": u.unsafe_metadata,
        "email_addresses": of_kind(IdentificationKind::EmailAddress),
        "phone_numbers": of_kind(IdentificationKind::PhoneNumber),
        "web3_wallets": [],
        "passkeys": view.passkeys.iter().map(super::identification::passkey).collect::<Vec<_>>(),
        "password_enabled": u.password_hash.is_some(),
        "two_factor_enabled": u.totp_enabled
            || u.backup_code_enabled
            || !crate::second_factors::second_factor_phones(&view.identifications).is_empty(),
        "totp_enabled": u.totp_enabled,
        "backup_code_enabled": u.backup_code_enabled,
        "mfa_enabled_at": null,
        "mfa_disabled_at": null,
        "password_last_updated_at": u.password_updated_at,
        "external_accounts": [],
        "saml_accounts": [],
        "enterprise_accounts": [],
        "organization_memberships": [],
        "last_sign_in_at": u.last_sign_in_at,
        "banned": u.banned,
        "locked": locked,
        "lockout_expires_in_seconds": if locked { u.locked_until.map(|t| (t - now).max(0) / 1000) } else { None },
        "verification_attempts_remaining": lockout.enabled.then(|| (lockout.max_attempts - u.failed_attempts).max(0)),
        "updated_at": u.updated_at,
        "created_at": u.created_at,
        "delete_self_enabled": u.delete_self_enabled,
        "create_organization_enabled": u.create_organization_enabled,
        "create_organizations_limit": u.create_organizations_limit,
        "last_active_at": u.last_active_at,
        "legal_accepted_at": u.legal_accepted_at,
    })
}
