//! Users: creation with imported or new passwords, updates, metadata, bans,
//! locks and deletion. Every write is one transaction; passwords are hashed
//! before it opens.

use serde_json::{Map, Value};
use tessera_domain::error_code::ErrorCode;
use tessera_domain::identifiers::{self, Invalid};
use tessera_domain::ids::{IdentificationId, UserId};
use tessera_domain::kinds::{IdentificationKind, SessionStatus, VerificationStatus};
use tessera_domain::settings::InstanceSettings;
use tessera_domain::tasks::SessionTask;
use tessera_domain::verification::Strategy;
use tessera_store::records::{Identification, User};
use tessera_store::users::{UserFilter, UserOrderField};
use tessera_store::{Conn, StoreError};

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::passwords::imported::{self, ImportedHasher};
use crate::passwords::{breached, Password, Verdict, NATIVE_HASHER};

/// A user with its email addresses and phone numbers, ready to render.
#[derive(Debug, Clone)]
pub struct UserView {
    /// The user.
    pub user: User,
    /// Its identifications, oldest first.
    pub identifications: Vec<Identification>,
    /// Its registered passkeys, oldest first.
    pub passkeys: Vec<tessera_store::passkeys::Passkey>,
}

/// An identifier given at creation, and whether it is verified or only reserved.
#[derive(Debug, Clone)]
pub struct NewIdentifier {
    /// The raw value.
    pub value: String,
    /// Reserved (unverified, but claimed) instead of verified.
    pub reserved: bool,
}

/// Input of BAPI `POST /v1/users`.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Application's own id.
    pub external_id: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Email addresses; the first becomes primary.
    pub email_addresses: Vec<NewIdentifier>,
    /// Phone numbers; the first becomes primary.
    pub phone_numbers: Vec<NewIdentifier>,
    /// Username.
    pub username: Option<String>,
    /// Plaintext password.
    pub password: Option<Password>,
    /// Imported digest and its hasher.
    pub password_digest: Option<(String, String)>,
    /// Skip length and breach checks.
    pub skip_password_checks: bool,
    /// Allow a user without password even if passwords are required.
    pub skip_password_requirement: bool,
    /// Allow a user without the required identifiers.
    pub skip_user_requirement: bool,
    /// Public metadata.
    pub public_metadata: Option<Map<String, Value>>,
    /// Private metadata.
    pub private_metadata: Option<Map<String, Value>>,
    /// Unsafe metadata.
    pub unsafe_metadata: Option<Map<String, Value>>,
    /// May delete their own account.
    pub delete_self_enabled: Option<bool>,
    /// May create organizations.
    pub create_organization_enabled: Option<bool>,
    /// Organization creation limit.
    pub create_organizations_limit: Option<i64>,
    /// When legal terms were accepted (ms).
    pub legal_accepted_at: Option<i64>,
    /// Backdated creation time (ms).
    pub created_at: Option<i64>,
    /// Create already banned.
    pub banned: bool,
    /// Create already locked.
    pub locked: bool,
    /// An authenticator app's base32 secret, taken as verified (import).
    pub totp_secret: Option<String>,
    /// Backup codes in clear (import); they work once each.
    pub backup_codes: Vec<String>,
}

/// Input of BAPI `PATCH /v1/users/{id}`; `Some(None)` clears a nullable field.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// Application's own id.
    pub external_id: Option<Option<String>>,
    /// Given name.
    pub first_name: Option<Option<String>>,
    /// Family name.
    pub last_name: Option<Option<String>>,
    /// Username (`None` or empty removes it).
    pub username: Option<Option<String>>,
    /// New primary email address.
    pub primary_email_address_id: Option<String>,
    /// New primary phone number.
    pub primary_phone_number_id: Option<String>,
    /// New password.
    pub password: Option<Password>,
    /// New imported digest and hasher.
    pub password_digest: Option<(String, String)>,
    /// Skip password checks.
    pub skip_password_checks: bool,
    /// End the user's other sessions after a password change.
    pub sign_out_of_other_sessions: bool,
    /// May delete their own account.
    pub delete_self_enabled: Option<bool>,
    /// May create organizations.
    pub create_organization_enabled: Option<bool>,
    /// Organization creation limit.
    pub create_organizations_limit: Option<Option<i64>>,
    /// When legal terms were accepted (ms).
    pub legal_accepted_at: Option<Option<i64>>,
    /// Backdated creation time (ms).
    pub created_at: Option<i64>,
    /// A new authenticator app secret (replacing any), taken as verified;
    /// `Some(None)` removes it.
    pub totp_secret: Option<Option<String>>,
    /// New backup codes (replacing any); empty removes them.
    pub backup_codes: Option<Vec<String>>,
}

/// Metadata changes: merged deeply, or replacing each given document.
#[derive(Debug, Clone, Default)]
pub struct MetadataPatch {
    /// Public metadata.
    pub public_metadata: Option<Map<String, Value>>,
    /// Private metadata.
    pub private_metadata: Option<Map<String, Value>>,
    /// Unsafe metadata.
    pub unsafe_metadata: Option<Map<String, Value>>,
}

pub(crate) fn invalid_to_error(
    invalid: Invalid,
    settings: &InstanceSettings,
    param: &str,
) -> CoreError {
    let user = &settings.user;
    match invalid {
        Invalid::EmailFormat => CoreError::format(param, "must be a valid email address"),
        Invalid::PhoneFormat => {
            CoreError::format(param, "must be a valid phone number in E.164 format")
        }
        Invalid::UsernameLength => CoreError::UsernameInvalidLength {
            min: user.username_settings.min_length,
            max: user.username_settings.max_length,
        },
        Invalid::UsernameCharacter => CoreError::UsernameInvalidCharacter,
        Invalid::UsernameAllDigits => CoreError::UsernameNeedsNonNumber,
        Invalid::PasswordTooShort => CoreError::PasswordTooShort {
            min: user.password_settings.min_length.max(8),
        },
        Invalid::PasswordTooLong => CoreError::PasswordTooLong {
            max: user.password_settings.max_length.clamp(8, 72),
        },
        Invalid::PasswordNotStrongEnough => CoreError::PasswordNotStrongEnough,
    }
}

/// Checks a new password against the rules and the breached list (unless skipped).
pub(crate) fn check_new_password(
    password: &Password,
    settings: &InstanceSettings,
    skip: bool,
) -> CoreResult<()> {
    if password.expose().is_empty() {
        return Err(CoreError::missing("password"));
    }
    if skip {
        return Ok(());
    }
    identifiers::check_password(password.expose(), &settings.user.password_settings)
        .map_err(|e| invalid_to_error(e, settings, "password"))?;
    if settings.instance.hibp && breached::is_common(password.expose()) {
        return Err(CoreError::PasswordPwned);
    }
    Ok(())
}

fn check_digest(digest: &str, hasher: &str) -> CoreResult<()> {
    if hasher == NATIVE_HASHER || hasher == "argon2i" {
        if digest.starts_with(&format!("${hasher}$")) && argon2::PasswordHash::new(digest).is_ok() {
            return Ok(());
        }
        return Err(CoreError::format(
            "password_digest",
            format!("not a valid {hasher} digest"),
        ));
    }
    let kind: ImportedHasher = hasher.parse().map_err(|_| {
        CoreError::value("password_hasher", format!("unsupported hasher {hasher:?}"))
    })?;
    imported::check_format(kind, digest)
        .map_err(|e| CoreError::format("password_digest", e.to_string()))
}

fn clean_name(raw: Option<String>) -> Option<String> {
    raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl crate::Users<'_> {
    /// Hashes a password or validates a digest, returning `(hash, hasher)`.
    async fn password_material(
        &self,
        password: Option<Password>,
        digest: Option<(String, String)>,
        skip_checks: bool,
        settings: &InstanceSettings,
    ) -> CoreResult<Option<(String, String)>> {
        match (password, digest) {
            (Some(_), Some(_)) => Err(CoreError::value(
                "password_digest",
                "give either password or password_digest, not both",
            )),
            (Some(password), None) => {
                check_new_password(&password, settings, skip_checks)?;
                Ok(Some((
                    self.hasher.hash(password).await?,
                    NATIVE_HASHER.to_owned(),
                )))
            }
            (None, Some((digest, hasher))) => {
                check_digest(&digest, &hasher)?;
                Ok(Some((digest, hasher)))
            }
            (None, None) => Ok(None),
        }
    }

    /// Loads a user with its identifications.
    pub async fn get(&self, id: &str) -> CoreResult<UserView> {
        let id = UserId::parse(id).ok_or(CoreError::NotFound)?;
        let mut conn = self.store.read().await?;
        load_view(&mut conn, &id).await
    }

    /// Lists users; each comes with its identifications (two queries per page).
    pub async fn list(
        &self,
        filter: &UserFilter,
        order: UserOrderField,
        descending: bool,
        limit: i64,
        offset: i64,
    ) -> CoreResult<Vec<UserView>> {
        let mut conn = self.store.read().await?;
        let users =
            tessera_store::users::list(&mut conn, filter, order, descending, limit, offset).await?;
        let ids: Vec<UserId> = users.iter().map(|u| u.id.clone()).collect();
        let mut idns = tessera_store::identifications::list_for_users(&mut conn, &ids).await?;
        let mut passkeys = tessera_store::passkeys::list_for_users(&mut conn, &ids).await?;
        Ok(users
            .into_iter()
            .map(|user| {
                let (mine, rest): (Vec<_>, Vec<_>) =
                    idns.drain(..).partition(|i| i.user_id == user.id);
                idns = rest;
                let (keys, rest): (Vec<_>, Vec<_>) =
                    passkeys.drain(..).partition(|p| p.user_id == user.id);
                passkeys = rest;
                UserView {
                    user,
                    identifications: mine,
                    passkeys: keys,
                }
            })
            .collect())
    }

    /// Counts users matching the filter.
    pub async fn count(&self, filter: &UserFilter) -> CoreResult<i64> {
        let mut conn = self.store.read().await?;
        Ok(tessera_store::users::count(&mut conn, filter).await?)
    }

    /// Creates a user (BAPI `POST /v1/users`).
    pub async fn create(&self, input: NewUser) -> CoreResult<UserView> {
        let now = now_ms();
        let settings = &self.instance().settings;
        let user_settings = &settings.user;

        let mut emails = Vec::new();
        for e in &input.email_addresses {
            let value = identifiers::normalize_email(&e.value)
                .map_err(|inv| invalid_to_error(inv, settings, "email_address"))?;
            emails.push((value, e.reserved));
        }
        let mut phones = Vec::new();
        for p in &input.phone_numbers {
            let value = identifiers::normalize_phone(&p.value)
                .map_err(|inv| invalid_to_error(inv, settings, "phone_number"))?;
            phones.push((value, p.reserved));
        }
        let username = match input
            .username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            Some(raw) => {
                if !user_settings.username.enabled {
                    return Err(CoreError::NotAllowed {
                        code: ErrorCode::FormParamUnknown,
                        detail: "username is not enabled for this instance; turn it on in the instance's user settings".to_owned(),
                    });
                }
                Some(
                    identifiers::normalize_username(raw, &user_settings.username_settings)
                        .map_err(|inv| invalid_to_error(inv, settings, "username"))?,
                )
            }
            None => None,
        };
        if !input.skip_user_requirement {
            if user_settings.email_address.required && emails.is_empty() {
                return Err(CoreError::missing("email_address"));
            }
            if user_settings.phone_number.required && phones.is_empty() {
                return Err(CoreError::missing("phone_number"));
            }
            if user_settings.username.required && username.is_none() {
                return Err(CoreError::missing("username"));
            }
        }
        let has_password_input = input.password.is_some() || input.password_digest.is_some();
        if user_settings.password.required
            && !has_password_input
            && !input.skip_password_requirement
        {
            return Err(CoreError::missing("password"));
        }
        let password = self
            .password_material(
                input.password,
                input.password_digest,
                input.skip_password_checks,
                settings,
            )
            .await?;

        let id = UserId::generate(now);
        let created_at = input.created_at.unwrap_or(now);
        let mut user = User::new(id.clone(), created_at);
        user.updated_at = now;
        user.external_id = clean_name(input.external_id);
        user.first_name = clean_name(input.first_name);
        user.last_name = clean_name(input.last_name);
        user.username = username;
        if let Some((hash, hasher)) = password {
            user.password_hash = Some(hash);
            user.password_hasher = Some(hasher);
            user.password_updated_at = Some(now);
            user.password_compromised_at = None;
        }
        user.public_metadata = input.public_metadata.unwrap_or_default();
        user.private_metadata = input.private_metadata.unwrap_or_default();
        user.unsafe_metadata = input.unsafe_metadata.unwrap_or_default();
        user.delete_self_enabled = input
            .delete_self_enabled
            .unwrap_or(user_settings.delete_self_enabled);
        user.create_organization_enabled = input
            .create_organization_enabled
            .unwrap_or(user_settings.create_organization_enabled);
        user.create_organizations_limit = input.create_organizations_limit.filter(|n| *n > 0);
        user.legal_accepted_at = input.legal_accepted_at;
        user.banned = input.banned;
        if input.locked {
            user.locked_at = Some(now);
        }

        let mut idns = Vec::new();
        for (kind, list) in [
            (IdentificationKind::EmailAddress, emails),
            (IdentificationKind::PhoneNumber, phones),
        ] {
            for (value, reserved) in list {
                if idns
                    .iter()
                    .any(|i: &Identification| i.kind == kind && i.identifier == value)
                {
                    continue;
                }
                idns.push(new_identification(
                    &id, kind, value, !reserved, reserved, now,
                ));
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

        let totp = input
            .totp_secret
            .as_deref()
            .map(|s| crate::second_factors::imported_totp(&id, s, now))
            .transpose()?;
        let backup_codes = crate::second_factors::imported_backup_codes(&id, &input.backup_codes)?;
        user.totp_enabled = totp.is_some();
        user.backup_code_enabled = !backup_codes.is_empty();

        let mut tx = self.begin().await?;
        ensure_unique(&mut tx, &user, &idns, None).await?;
        tessera_store::users::insert(&mut tx, &user)
            .await
            .map_err(conflict_to_exists)?;
        for idn in &idns {
            tessera_store::identifications::insert(&mut tx, idn)
                .await
                .map_err(conflict_to_exists)?;
        }
        if let Some(totp) = &totp {
            tessera_store::mfa::put_totp(&mut tx, totp).await?;
        }
        if !backup_codes.is_empty() {
            let set = tessera_domain::ids::BackupCodeId::generate(now);
            tessera_store::mfa::replace_backup_codes(
                &mut tx,
                &id,
                set.as_str(),
                &backup_codes,
                now,
            )
            .await?;
        }
        let view = UserView {
            user,
            identifications: idns,
            passkeys: Vec::new(),
        };
        self.emit_user(&mut tx, "user.created", &view, None).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Updates a user (BAPI `PATCH /v1/users/{id}`).
    pub async fn update(&self, id: &str, patch: UserPatch) -> CoreResult<UserView> {
        let id = UserId::parse(id).ok_or(CoreError::NotFound)?;
        let now = now_ms();
        let settings = &self.instance().settings;
        let password = self
            .password_material(
                patch.password,
                patch.password_digest,
                patch.skip_password_checks,
                settings,
            )
            .await?;
        let username = match patch.username {
            Some(Some(raw)) if !raw.trim().is_empty() => Some(Some(
                identifiers::normalize_username(&raw, &settings.user.username_settings)
                    .map_err(|inv| invalid_to_error(inv, settings, "username"))?,
            )),
            Some(_) => Some(None),
            None => None,
        };

        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, &id).await?;
        let user = &mut view.user;
        if let Some(v) = patch.external_id {
            user.external_id = clean_name(v);
        }
        if let Some(v) = patch.first_name {
            user.first_name = clean_name(v);
        }
        if let Some(v) = patch.last_name {
            user.last_name = clean_name(v);
        }
        if let Some(v) = username {
            user.username = v;
        }
        for (param, wanted, kind) in [
            (
                "primary_email_address_id",
                patch.primary_email_address_id,
                IdentificationKind::EmailAddress,
            ),
            (
                "primary_phone_number_id",
                patch.primary_phone_number_id,
                IdentificationKind::PhoneNumber,
            ),
        ] {
            let Some(wanted) = wanted else { continue };
            let found = view
                .identifications
                .iter()
                .find(|i| i.id.as_str() == wanted && i.kind == kind)
                .ok_or_else(|| CoreError::value(param, "must be an identification of this user"))?;
            if found.verification_status != VerificationStatus::Verified {
                return Err(CoreError::value(param, "must be verified"));
            }
            match kind {
                IdentificationKind::EmailAddress => {
                    user.primary_email_address_id = Some(found.id.clone())
                }
                IdentificationKind::PhoneNumber => {
                    user.primary_phone_number_id = Some(found.id.clone())
                }
            }
        }
        let password_changed = password.is_some();
        if let Some((hash, hasher)) = password {
            user.password_hash = Some(hash);
            user.password_hasher = Some(hasher);
            user.password_updated_at = Some(now);
            user.password_compromised_at = None;
        }
        if let Some(v) = patch.delete_self_enabled {
            user.delete_self_enabled = v;
        }
        if let Some(v) = patch.create_organization_enabled {
            user.create_organization_enabled = v;
        }
        if let Some(v) = patch.create_organizations_limit {
            user.create_organizations_limit = v.filter(|n| *n > 0);
        }
        if let Some(v) = patch.legal_accepted_at {
            user.legal_accepted_at = v;
        }
        if let Some(v) = patch.created_at {
            user.created_at = v;
        }
        if let Some(secret) = patch.totp_secret {
            match secret {
                Some(raw) => {
                    let totp = crate::second_factors::imported_totp(&id, &raw, now)?;
                    tessera_store::mfa::put_totp(&mut tx, &totp).await?;
                    user.totp_enabled = true;
                }
                None => {
                    tessera_store::mfa::delete_totp(&mut tx, &id).await?;
                    user.totp_enabled = false;
                }
            }
        }
        if let Some(codes) = patch.backup_codes {
            let hashes = crate::second_factors::imported_backup_codes(&id, &codes)?;
            let set = tessera_domain::ids::BackupCodeId::generate(now);
            tessera_store::mfa::replace_backup_codes(&mut tx, &id, set.as_str(), &hashes, now)
                .await?;
            user.backup_code_enabled = !hashes.is_empty();
        }
        user.updated_at = now;
        ensure_unique(&mut tx, &view.user, &[], Some(&view.user.id)).await?;
        tessera_store::users::update(&mut tx, &view.user)
            .await
            .map_err(conflict_to_exists)?;
        if password_changed && patch.sign_out_of_other_sessions {
            self.revoke_all_sessions(&mut tx, &id, now).await?;
        }
        if password_changed {
            tessera_store::sessions::finish_task(&mut tx, &id, SessionTask::ResetPassword, now)
                .await?;
        }
        if view.user.totp_enabled || view.user.backup_code_enabled {
            tessera_store::sessions::finish_task(&mut tx, &id, SessionTask::SetupMfa, now).await?;
        }
        self.emit_user(&mut tx, "user.updated", &view, None).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Deletes a user with everything it owns.
    pub async fn delete(&self, id: &str) -> CoreResult<UserView> {
        let id = UserId::parse(id).ok_or(CoreError::NotFound)?;
        let mut tx = self.begin().await?;
        let view = load_view(&mut tx, &id).await?;
        tessera_store::users::delete(&mut tx, &id).await?;
        self.emit_user_deleted(&mut tx, id.as_str(), None).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Merges (`replace = false`) or replaces metadata documents.
    pub async fn update_metadata(
        &self,
        id: &str,
        patch: MetadataPatch,
        replace: bool,
    ) -> CoreResult<UserView> {
        self.modify_user(id, |user, _| {
            for (target, change) in [
                (&mut user.public_metadata, patch.public_metadata),
                (&mut user.private_metadata, patch.private_metadata),
                (&mut user.unsafe_metadata, patch.unsafe_metadata),
            ] {
                if let Some(change) = change {
                    tessera_domain::metadata::apply(target, change, replace);
                }
            }
            Ok(())
        })
        .await
    }

    /// Bans (`true`) or unbans a user; banning revokes every session.
    pub async fn set_banned(&self, id: &str, banned: bool) -> CoreResult<UserView> {
        self.modify_user(id, |user, _| {
            user.banned = banned;
            Ok(())
        })
        .await
    }

    /// Locks (`true`) or unlocks a user. Locks last the configured lockout duration.
    pub async fn set_locked(&self, id: &str, locked: bool) -> CoreResult<UserView> {
        let lockout = self.instance().settings.user.lockout;
        self.modify_user(id, |user, now| {
            user.failed_attempts = 0;
            if locked {
                user.locked_at = Some(now);
                user.locked_until =
                    (lockout.duration_mins > 0).then(|| now + lockout.duration_mins * 60_000);
            } else {
                user.locked_at = None;
                user.locked_until = None;
            }
            Ok(())
        })
        .await
    }

    /// Marks the user's password compromised (`true`) or not: the next
    /// sign-in with it leads to the `reset-password` session task.
    /// `revoke_all_sessions` signs the user out everywhere too.
    pub async fn set_password_compromised(
        &self,
        id: &str,
        compromised: bool,
        revoke_all_sessions: bool,
    ) -> CoreResult<UserView> {
        let view = self
            .modify_user(id, |user, now| {
                if user.password_hash.is_none() {
                    return Err(CoreError::NotAllowed {
                        code: ErrorCode::PasswordNotSet,
                        detail: "The user does not have a password set.".to_owned(),
                    });
                }
                user.password_compromised_at = compromised.then_some(now);
                Ok(())
            })
            .await?;
        if !compromised {
            let mut tx = self.begin().await?;
            tessera_store::sessions::finish_task(
                &mut tx,
                &view.user.id,
                SessionTask::ResetPassword,
                now_ms(),
            )
            .await?;
            tx.commit().await?;
        }
        if compromised && revoke_all_sessions {
            let mut tx = self.begin().await?;
            self.revoke_all_sessions(&mut tx, &view.user.id, now_ms())
                .await?;
            tx.commit().await?;
        }
        Ok(view)
    }

    /// Removes a user's password.
    pub async fn remove_password(&self, id: &str, sign_out: bool) -> CoreResult<UserView> {
        let view = self
            .modify_user(id, |user, now| {
                user.password_hash = None;
                user.password_hasher = None;
                user.password_updated_at = Some(now);
                user.password_compromised_at = None;
                Ok(())
            })
            .await?;
        // No password left to replace: the reset-password task is over.
        let now = now_ms();
        let mut tx = self.begin().await?;
        tessera_store::sessions::finish_task(
            &mut tx,
            &view.user.id,
            tessera_domain::tasks::SessionTask::ResetPassword,
            now,
        )
        .await?;
        if sign_out {
            self.revoke_all_sessions(&mut tx, &view.user.id, now)
                .await?;
        }
        tx.commit().await?;
        Ok(view)
    }

    /// Refuses `new` as the replacement of a compromised password when it is
    /// that same password (choosing it again would clear the mark).
    pub(crate) async fn refuse_same_compromised(
        &self,
        user: &User,
        new: &Password,
    ) -> CoreResult<()> {
        let (Some(_), Some(hash), Some(hasher)) = (
            user.password_compromised_at,
            user.password_hash.clone(),
            user.password_hasher.clone(),
        ) else {
            return Ok(());
        };
        if self
            .hasher
            .verify(new.clone(), hash, hasher)
            .await?
            .matched()
        {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::FormNewPasswordMatchesCurrent,
                detail: "Choose a new password: this one was found in a data breach.".to_owned(),
            });
        }
        Ok(())
    }

    /// Checks a user's password; upgrades imported or weak hashes on success.
    pub async fn verify_password(&self, id: &str, password: Password) -> CoreResult<bool> {
        let view = self.get(id).await?;
        let (Some(hash), Some(hasher)) = (
            view.user.password_hash.clone(),
            view.user.password_hasher.clone(),
        ) else {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::PasswordNotSet,
                detail: "The user does not have a password set.".to_owned(),
            });
        };
        let verdict = self
            .hasher
            .verify(password.clone(), hash.clone(), hasher)
            .await?;
        if verdict == Verdict::MatchNeedsRehash {
            self.upgrade_hash(&view.user.id, &hash, password).await?;
        }
        Ok(verdict.matched())
    }

    /// Replaces `old_hash` with a fresh argon2id hash, unless it changed meanwhile.
    pub(crate) async fn upgrade_hash(
        &self,
        id: &UserId,
        old_hash: &str,
        password: Password,
    ) -> CoreResult<()> {
        let new_hash = self.hasher.hash(password).await?;
        let mut tx = self.begin().await?;
        let mut user = tessera_store::users::get(&mut tx, id).await?;
        if user.password_hash.as_deref() == Some(old_hash) {
            user.password_hash = Some(new_hash);
            user.password_hasher = Some(NATIVE_HASHER.to_owned());
            tessera_store::users::update(&mut tx, &user).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores a profile image.
    pub async fn set_profile_image(
        &self,
        id: &str,
        content_type: String,
        bytes: Vec<u8>,
    ) -> CoreResult<UserView> {
        let uid = UserId::parse(id).ok_or(CoreError::NotFound)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, &uid).await?;
        tessera_store::users::put_image(&mut tx, &uid, &content_type, bytes, now).await?;
        view.user.has_image = true;
        view.user.image_version += 1;
        view.user.updated_at = now;
        tessera_store::users::update(&mut tx, &view.user).await?;
        self.emit_user(&mut tx, "user.updated", &view, None).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Removes a profile image.
    pub async fn delete_profile_image(&self, id: &str) -> CoreResult<UserView> {
        let uid = UserId::parse(id).ok_or(CoreError::NotFound)?;
        let mut tx = self.begin().await?;
        tessera_store::users::delete_image(&mut tx, &uid).await?;
        tx.commit().await?;
        self.modify_user(id, |user, _| {
            user.has_image = false;
            user.image_version += 1;
            Ok(())
        })
        .await
    }

    /// Reads a stored profile image.
    pub async fn profile_image(&self, id: &str) -> CoreResult<(String, Vec<u8>)> {
        let uid = UserId::parse(id).ok_or(CoreError::NotFound)?;
        let mut conn = self.store.read().await?;
        tessera_store::users::get_image(&mut conn, &uid)
            .await?
            .ok_or(CoreError::NotFound)
    }

    /// Revokes every signed-in session of a user, announcing each.
    async fn revoke_all_sessions(&self, conn: &mut Conn, id: &UserId, now: i64) -> CoreResult<()> {
        let ended =
            tessera_store::sessions::end_all_for_user(conn, id, SessionStatus::Revoked, now)
                .await?;
        self.emit_sessions(conn, "session.revoked", &ended, None)
            .await
    }

    /// Loads a user in a transaction, applies `change`, saves, and revokes
    /// sessions if the change banned the user.
    async fn modify_user(
        &self,
        id: &str,
        change: impl FnOnce(&mut User, i64) -> CoreResult<()>,
    ) -> CoreResult<UserView> {
        let id = UserId::parse(id).ok_or(CoreError::NotFound)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, &id).await?;
        let was_banned = view.user.banned;
        change(&mut view.user, now)?;
        view.user.updated_at = now;
        tessera_store::users::update(&mut tx, &view.user).await?;
        if view.user.banned && !was_banned {
            self.revoke_all_sessions(&mut tx, &id, now).await?;
        }
        self.emit_user(&mut tx, "user.updated", &view, None).await?;
        tx.commit().await?;
        Ok(view)
    }
}

pub(crate) fn new_identification(
    user_id: &UserId,
    kind: IdentificationKind,
    identifier: String,
    verified: bool,
    reserved: bool,
    now: i64,
) -> Identification {
    Identification {
        id: IdentificationId::generate(now),
        user_id: user_id.clone(),
        kind,
        identifier,
        verification_status: if verified {
            VerificationStatus::Verified
        } else {
            VerificationStatus::Unverified
        },
        verification_strategy: verified.then_some(Strategy::Admin),
        verified_at: verified.then_some(now),
        reserved,
        reserved_for_second_factor: false,
        default_second_factor: false,
        verification: None,
        created_at: now,
        updated_at: now,
    }
}

pub(crate) async fn load_view(conn: &mut Conn, id: &UserId) -> CoreResult<UserView> {
    let user = tessera_store::users::get(conn, id).await?;
    let identifications = tessera_store::identifications::list_for_user(conn, id).await?;
    let passkeys = tessera_store::passkeys::list_for_user(conn, id).await?;
    Ok(UserView {
        user,
        identifications,
        passkeys,
    })
}

/// Maps a constraint conflict that slipped past the explicit checks to `form_identifier_exists`.
pub(crate) fn conflict_to_exists(err: StoreError) -> CoreError {
    match err {
        StoreError::Conflict { constraint } => {
            let param = if constraint.contains("username") {
                "username"
            } else if constraint.contains("external_id") {
                "external_id"
            } else {
                "identifier"
            };
            CoreError::IdentifierExists {
                param: param.to_owned(),
            }
        }
        other => other.into(),
    }
}

/// Checks that the user's username, external id and the new identifications are free.
async fn ensure_unique(
    conn: &mut Conn,
    user: &User,
    idns: &[Identification],
    self_id: Option<&UserId>,
) -> CoreResult<()> {
    let is_other = |owner: &UserId| self_id != Some(owner);
    if let Some(username) = &user.username {
        if let Some(owner) = tessera_store::users::find_by_username(conn, username).await? {
            if is_other(&owner.id) {
                return Err(CoreError::IdentifierExists {
                    param: "username".to_owned(),
                });
            }
        }
    }
    if let Some(external_id) = &user.external_id {
        if let Some(owner) = tessera_store::users::find_by_external_id(conn, external_id).await? {
            if is_other(&owner.id) {
                return Err(CoreError::IdentifierExists {
                    param: "external_id".to_owned(),
                });
            }
        }
    }
    for idn in idns {
        if tessera_store::identifications::find(conn, idn.kind, &idn.identifier)
            .await?
            .is_some()
        {
            return Err(CoreError::IdentifierExists {
                param: idn.kind.as_str().to_owned(),
            });
        }
    }
    Ok(())
}
