//! The pure side of second factors, below the services that use them: which
//! second factors a user holds, SMS second-factor phone numbers, and the
//! stored forms of imported TOTP secrets and backup codes.

use tessera_domain::ids::{TotpId, UserId};
use tessera_domain::kinds::{IdentificationKind, VerificationStatus};
use tessera_domain::mfa;
use tessera_domain::settings::UserSettings;
use tessera_domain::verification::Strategy;
use tessera_store::mfa::Totp;
use tessera_store::records::{Identification, User};

use crate::error::{CoreError, CoreResult};
use crate::keys::hash_secret;

/// The user's phone numbers that take an SMS second factor: verified and
/// reserved for it, the default one first.
pub fn second_factor_phones(idns: &[Identification]) -> Vec<&Identification> {
    let mut phones: Vec<&Identification> = idns
        .iter()
        .filter(|i| {
            i.kind == IdentificationKind::PhoneNumber
                && i.reserved_for_second_factor
                && i.verification_status == VerificationStatus::Verified
        })
        .collect();
    phones.sort_by_key(|p| !p.default_second_factor);
    phones
}

/// The stored form of a backup code of `user`.
pub(crate) fn backup_code_hash(user: &UserId, code: &str) -> String {
    hash_secret(&format!("{}:{code}", user.as_str()))
}

/// Backup codes given to an import (plain text), canonical and hashed.
pub(crate) fn imported_backup_codes(user: &UserId, codes: &[String]) -> CoreResult<Vec<String>> {
    codes
        .iter()
        .map(|raw| {
            if raw.starts_with("$2") {
                return Err(CoreError::value(
                    "backup_codes",
                    "bcrypt digests of backup codes are not supported; give the codes",
                ));
            }
            mfa::normalize_backup_code(raw)
                .map(|c| backup_code_hash(user, &c))
                .ok_or_else(|| {
                    CoreError::value("backup_codes", "each must be 4 to 64 letters or digits")
                })
        })
        .collect()
}

/// A verified TOTP of an imported secret.
pub(crate) fn imported_totp(user: &UserId, raw_secret: &str, now: i64) -> CoreResult<Totp> {
    let secret = mfa::parse_secret(raw_secret).ok_or_else(|| {
        CoreError::value(
            "totp_secret",
            "must be a base32 secret of at least 80 bits (16 characters)",
        )
    })?;
    Ok(Totp {
        id: TotpId::generate(now).as_str().to_owned(),
        user_id: user.clone(),
        secret,
        verified: true,
        last_used_step: None,
        created_at: now,
        updated_at: now,
    })
}

/// The second factors `user` can sign in with under `settings`: an
/// authenticator app, SMS codes to a reserved phone number, backup codes.
pub fn held_second_factors(
    settings: &UserSettings,
    user: &User,
    idns: &[Identification],
) -> Vec<Strategy> {
    let mut held = Vec::new();
    if settings.authenticator_app_enabled && user.totp_enabled {
        held.push(Strategy::Totp);
    }
    if settings.sms_second_factor() && !second_factor_phones(idns).is_empty() {
        held.push(Strategy::PhoneCode);
    }
    if settings.backup_code_enabled && user.backup_code_enabled {
        held.push(Strategy::BackupCode);
    }
    held
}
