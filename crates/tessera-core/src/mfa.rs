//! Second factors the user holds themselves: an authenticator app (TOTP) and
//! backup codes — enrolment from `/v1/me`, the Backend API's imports, checks
//! and removals, and the one check sign-in uses.
//!
//! A TOTP secret is kept as base32 (codes are computed from it); its last
//! accepted step is recorded in the same statement that accepts a code, so a
//! code is good once even under concurrent requests. Backup codes are kept as
//! SHA-256 of the user id and the code, and are deleted when used.

use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::{BackupCodeId, TotpId, UserId};
use tessera_domain::mfa::{self, TotpCheck};
use tessera_domain::tasks::SessionTask;
use tessera_domain::verification::Strategy;
use tessera_store::mfa::Totp;
use tessera_store::records::User;
use tessera_store::Conn;

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::second_factors::{backup_code_hash, second_factor_phones};
use crate::users::{load_view, UserView};

/// A TOTP secret as `/v1/me/totp` shows it: the secret and its `otpauth://`
/// URI only when just created, new backup codes only when just verified.
#[derive(Debug, Clone)]
pub struct TotpView {
    /// The stored secret.
    pub totp: Totp,
    /// The `otpauth://` URI (creation only).
    pub uri: Option<String>,
    /// Backup codes made with the first verification (shown once).
    pub backup_codes: Option<Vec<String>>,
}

/// A new set of backup codes, shown once.
#[derive(Debug, Clone)]
pub struct BackupCodeSet {
    /// `bcode_…`
    pub id: String,
    /// The codes in clear.
    pub codes: Vec<String>,
    /// When they were made (ms).
    pub created_at: i64,
}

fn code_incorrect() -> CoreError {
    CoreError::NotAllowed {
        code: ErrorCode::FormCodeIncorrect,
        detail: "Incorrect code".to_owned(),
    }
}

impl crate::Mfa<'_> {
    fn require_authenticator_app(&self) -> CoreResult<()> {
        if self.instance().settings.user.authenticator_app_enabled {
            return Ok(());
        }
        Err(CoreError::NotAllowed {
            code: ErrorCode::FeatureNotEnabled,
            detail: "Authenticator apps are turned off on this instance.".to_owned(),
        })
    }

    /// The `otpauth://` URI of `secret` for `view`'s user.
    fn uri(&self, view: &UserView, secret: &str) -> String {
        let issuer = self.instance().settings.instance.application_name.clone();
        let account = view
            .identifications
            .iter()
            .find(|i| Some(&i.id) == view.user.primary_email_address_id.as_ref())
            .map(|i| i.identifier.clone())
            .or_else(|| view.user.username.clone())
            .unwrap_or_else(|| view.user.id.as_str().to_owned());
        let label = format!("{issuer}:{account}");
        let mut uri = url::Url::parse("otpauth://totp/").expect("a constant URL parses");
        uri.set_path(&label);
        uri.query_pairs_mut()
            .append_pair("secret", secret)
            .append_pair("issuer", &issuer)
            .append_pair("algorithm", "SHA1")
            .append_pair("digits", &mfa::DIGITS.to_string())
            .append_pair("period", &mfa::STEP_SECS.to_string());
        uri.to_string()
    }

    /// `POST /v1/me/totp`: a new, unverified secret (replacing one not yet
    /// verified), with its URI for the authenticator app's QR code.
    pub async fn create_totp(&self, user_id: &UserId) -> CoreResult<TotpView> {
        self.require_authenticator_app()?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let view = load_view(&mut tx, user_id).await?;
        if let Some(t) = tessera_store::mfa::find_totp(&mut tx, user_id).await? {
            if t.verified {
                return Err(CoreError::NotAllowed {
                    code: ErrorCode::TotpAlreadyEnabled,
                    detail: "An authenticator app is set up already; remove it first.".to_owned(),
                });
            }
        }
        let totp = Totp {
            id: TotpId::generate(now).as_str().to_owned(),
            user_id: user_id.clone(),
            secret: mfa::new_secret(),
            verified: false,
            last_used_step: None,
            created_at: now,
            updated_at: now,
        };
        tessera_store::mfa::put_totp(&mut tx, &totp).await?;
        tx.commit().await?;
        let uri = self.uri(&view, &totp.secret);
        Ok(TotpView {
            totp,
            uri: Some(uri),
            backup_codes: None,
        })
    }

    /// `POST /v1/me/totp/attempt_verification`: a right code makes the secret
    /// a second factor; the first time, with backup codes on and none held,
    /// a set of backup codes comes with it.
    pub async fn verify_totp_enrollment(
        &self,
        user_id: &UserId,
        code: &str,
    ) -> CoreResult<TotpView> {
        self.require_authenticator_app()?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, user_id).await?;
        let mut totp = tessera_store::mfa::find_totp(&mut tx, user_id)
            .await?
            .ok_or_else(|| CoreError::NotAllowed {
                code: ErrorCode::VerificationMissing,
                detail: "Create an authenticator app secret before verifying it.".to_owned(),
            })?;
        let TotpCheck::Accepted { step } =
            mfa::check_totp(&totp.secret, code, now, totp.last_used_step)
        else {
            return Err(code_incorrect());
        };
        tessera_store::mfa::use_totp(&mut tx, &totp, step, now)
            .await
            .map_err(|_| code_incorrect())?;
        totp.verified = true;
        totp.last_used_step = Some(step);
        totp.updated_at = now;
        let mut backup_codes = None;
        if !view.user.totp_enabled {
            view.user.totp_enabled = true;
            if self.instance().settings.user.backup_code_enabled && !view.user.backup_code_enabled {
                let set = self
                    .store_new_backup_codes(&mut tx, &mut view.user, now)
                    .await?;
                backup_codes = Some(set.codes);
            }
            self.save_user(&mut tx, &mut view, now).await?;
            tessera_store::sessions::finish_task(&mut tx, user_id, SessionTask::SetupMfa, now)
                .await?;
        }
        tx.commit().await?;
        Ok(TotpView {
            totp,
            uri: None,
            backup_codes,
        })
    }

    /// Removes the user's authenticator app (`DELETE /v1/me/totp`, BAPI
    /// `DELETE /users/{id}/totp`); backup codes go too when no second factor
    /// is left for them to back up. Removing none is no error.
    pub async fn delete_totp(&self, user_id: &UserId) -> CoreResult<UserView> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, user_id).await?;
        if !tessera_store::mfa::delete_totp(&mut tx, user_id).await? {
            return Ok(view);
        }
        view.user.totp_enabled = false;
        if second_factor_phones(&view.identifications).is_empty() {
            tessera_store::mfa::delete_backup_codes(&mut tx, user_id).await?;
            view.user.backup_code_enabled = false;
        }
        self.save_user(&mut tx, &mut view, now).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// `POST /v1/me/backup_codes`: a new set of backup codes, replacing any;
    /// only for a user with another second factor.
    pub async fn regenerate_backup_codes(&self, user_id: &UserId) -> CoreResult<BackupCodeSet> {
        if !self.instance().settings.user.backup_code_enabled {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::FeatureNotEnabled,
                detail: "Backup codes are turned off on this instance.".to_owned(),
            });
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, user_id).await?;
        if !view.user.totp_enabled && second_factor_phones(&view.identifications).is_empty() {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::SecondFactorMissing,
                detail: "Set up another second factor before backup codes.".to_owned(),
            });
        }
        let set = self
            .store_new_backup_codes(&mut tx, &mut view.user, now)
            .await?;
        self.save_user(&mut tx, &mut view, now).await?;
        tx.commit().await?;
        Ok(set)
    }

    /// BAPI `DELETE /users/{id}/backup_code`; removing none is no error.
    pub async fn delete_backup_codes(&self, user_id: &UserId) -> CoreResult<UserView> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, user_id).await?;
        if !tessera_store::mfa::delete_backup_codes(&mut tx, user_id).await? {
            return Ok(view);
        }
        view.user.backup_code_enabled = false;
        self.save_user(&mut tx, &mut view, now).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// BAPI `DELETE /users/{id}/mfa`: no authenticator app, no backup codes,
    /// and no phone number reserved for second factor any more.
    pub async fn disable_mfa(&self, user_id: &UserId) -> CoreResult<UserView> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, user_id).await?;
        tessera_store::mfa::delete_totp(&mut tx, user_id).await?;
        tessera_store::mfa::delete_backup_codes(&mut tx, user_id).await?;
        view.user.totp_enabled = false;
        view.user.backup_code_enabled = false;
        for idn in view
            .identifications
            .iter_mut()
            .filter(|i| i.reserved_for_second_factor)
        {
            idn.reserved_for_second_factor = false;
            idn.default_second_factor = false;
            idn.updated_at = now;
            tessera_store::identifications::update(&mut tx, idn).await?;
        }
        self.save_user(&mut tx, &mut view, now).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// BAPI `POST /users/{id}/verify_totp`: a code of the user's authenticator
    /// app, else one of their backup codes (which is spent). Its kind.
    pub async fn verify_code(&self, user_id: &UserId, code: &str) -> CoreResult<Strategy> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut view = load_view(&mut tx, user_id).await?;
        if !view.user.totp_enabled && !view.user.backup_code_enabled {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::TotpNotEnabled,
                detail: "The user has no authenticator app or backup codes.".to_owned(),
            });
        }
        for strategy in [Strategy::Totp, Strategy::BackupCode] {
            if self
                .check_code(&mut tx, &mut view.user, strategy, code, now)
                .await?
            {
                if strategy == Strategy::BackupCode && !view.user.backup_code_enabled {
                    self.save_user(&mut tx, &mut view, now).await?;
                }
                tx.commit().await?;
                return Ok(strategy);
            }
        }
        Err(code_incorrect())
    }

    /// Checks a second-factor `code` of `strategy` (`totp`, `backup_code`)
    /// for `user` inside the caller's transaction, spending it when right. A
    /// last backup code turns `user.backup_code_enabled` off (the caller saves
    /// the user).
    pub(crate) async fn check_code(
        &self,
        conn: &mut Conn,
        user: &mut User,
        strategy: Strategy,
        code: &str,
        now: i64,
    ) -> CoreResult<bool> {
        match strategy {
            Strategy::Totp => {
                let Some(totp) = tessera_store::mfa::find_totp(conn, &user.id)
                    .await?
                    .filter(|t| t.verified)
                else {
                    return Ok(false);
                };
                let TotpCheck::Accepted { step } =
                    mfa::check_totp(&totp.secret, code, now, totp.last_used_step)
                else {
                    return Ok(false);
                };
                Ok(tessera_store::mfa::use_totp(conn, &totp, step, now)
                    .await
                    .is_ok())
            }
            Strategy::BackupCode => {
                let Some(code) = mfa::normalize_backup_code(code) else {
                    return Ok(false);
                };
                let hash = backup_code_hash(&user.id, &code);
                if !tessera_store::mfa::use_backup_code(conn, &user.id, &hash).await? {
                    return Ok(false);
                }
                if tessera_store::mfa::backup_code_hashes(conn, &user.id)
                    .await?
                    .is_empty()
                {
                    user.backup_code_enabled = false;
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn store_new_backup_codes(
        &self,
        conn: &mut Conn,
        user: &mut User,
        now: i64,
    ) -> CoreResult<BackupCodeSet> {
        let codes = mfa::new_backup_codes();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| backup_code_hash(&user.id, c))
            .collect();
        let id = BackupCodeId::generate(now).as_str().to_owned();
        tessera_store::mfa::replace_backup_codes(conn, &user.id, &id, &hashes, now).await?;
        user.backup_code_enabled = true;
        Ok(BackupCodeSet {
            id,
            codes,
            created_at: now,
        })
    }

    async fn save_user(&self, conn: &mut Conn, view: &mut UserView, now: i64) -> CoreResult<()> {
        view.user.updated_at = now;
        tessera_store::users::update(conn, &view.user).await?;
        self.emit_user(conn, "user.updated", view, None).await
    }
}
