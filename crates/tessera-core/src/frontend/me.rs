//! The signed-in user's own account (`/v1/me…`): email verification by code,
//! password changes that require the current password, self-deletion, and the
//! user's sessions on every device.

use tessera_domain::identifiers::is_test_email;
use tessera_domain::ids::{IdentificationId, SessionId, UserId};
use tessera_domain::kinds::{IdentificationKind, SessionStatus, VerificationStatus};
use tessera_domain::settings::EnvironmentType;
use tessera_store::records::{Identification, Session};
use tessera_store::sessions::SessionFilter;
use tessera_store::StoreError;

use super::sign_ups::attempt_error;
use crate::clock::now_ms;
use crate::codes::{self, CodeState};
use crate::error::{CoreError, CoreResult};
use crate::mailer::{code_email, CodePurpose};
use crate::passwords::Password;
use crate::sessions::effective_status;
use crate::users::{UserPatch, UserView};
use crate::Core;

impl Core {
    async fn own_identification(&self, user_id: &UserId, id: &str) -> CoreResult<Identification> {
        let id = IdentificationId::parse(id).ok_or(CoreError::NotFound)?;
        let mut conn = self.store.read().await?;
        let idn = tessera_store::identifications::get(&mut conn, &id).await?;
        if &idn.user_id != user_id {
            return Err(CoreError::NotFound);
        }
        Ok(idn)
    }

    /// Sends a code to one of the user's own email addresses.
    pub async fn prepare_own_email_verification(
        &self,
        user_id: &UserId,
        id: &str,
    ) -> CoreResult<Identification> {
        let now = now_ms();
        let mut idn = self.own_identification(user_id, id).await?;
        if idn.kind != IdentificationKind::EmailAddress {
            return Err(CoreError::value(
                "strategy",
                "phone codes need an SMS provider, which is not configured",
            ));
        }
        if idn.verification_status == VerificationStatus::Verified {
            return Err(CoreError::NotAllowed {
                code: "verification_already_verified",
                detail: "This email address is already verified.".to_owned(),
            });
        }
        self.rate_limit(crate::rate_limits::CODES_PER_ADDRESS, Some(&idn.identifier))
            .await?;
        let code = codes::generate();
        let state = CodeState::prepared(
            "email_code",
            idn.id.as_str(),
            &code,
            Some(idn.id.as_str().to_owned()),
            now,
        );
        idn.verification =
            Some(serde_json::to_value(&state).map_err(|e| CoreError::Internal(e.to_string()))?);
        idn.verification_strategy = Some("email_code".to_owned());
        idn.updated_at = now;
        let mut tx = self.store.begin().await?;
        tessera_store::identifications::update(&mut tx, &idn).await?;
        tx.commit().await.map_err(StoreError::from)?;
        let inst = self.instance();
        if !(inst.environment == EnvironmentType::Development && is_test_email(&idn.identifier)) {
            self.deliver(code_email(
                &idn.identifier,
                &self.app_name(),
                CodePurpose::Verify,
                &code,
            ))
            .await;
        }
        Ok(idn)
    }

    /// Checks a code for one of the user's own email addresses.
    pub async fn attempt_own_email_verification(
        &self,
        user_id: &UserId,
        id: &str,
        code: &str,
    ) -> CoreResult<Identification> {
        let now = now_ms();
        let inst = self.instance();
        let mut idn = self.own_identification(user_id, id).await?;
        let mut state: CodeState = idn
            .verification
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| CoreError::NotAllowed {
                code: "verification_missing",
                detail: "Prepare the verification before attempting it.".to_owned(),
            })?;
        let test_ok = inst.environment == EnvironmentType::Development
            && inst.settings.instance.test_mode
            && is_test_email(&idn.identifier);
        let outcome = state.attempt(idn.id.as_str(), code, now, test_ok);
        if outcome == codes::Attempt::Verified {
            idn.verification_status = VerificationStatus::Verified;
            idn.verified_at = Some(now);
        }
        idn.verification =
            Some(serde_json::to_value(&state).map_err(|e| CoreError::Internal(e.to_string()))?);
        idn.updated_at = now;
        let mut tx = self.store.begin().await?;
        tessera_store::identifications::update(&mut tx, &idn).await?;
        let mut user = tessera_store::users::get(&mut tx, user_id).await?;
        if outcome == codes::Attempt::Verified && user.primary_email_address_id.is_none() {
            user.primary_email_address_id = Some(idn.id.clone());
            user.updated_at = now;
            tessera_store::users::update(&mut tx, &user).await?;
        }
        tx.commit().await.map_err(StoreError::from)?;
        attempt_error(outcome)?;
        Ok(idn)
    }

    /// Changes the password; the current one is required when the user has one.
    pub async fn change_own_password(
        &self,
        user_id: &UserId,
        current: Option<Password>,
        new: Password,
        sign_out_of_other_sessions: bool,
        keep_session: Option<&SessionId>,
    ) -> CoreResult<UserView> {
        let view = self.get_user(user_id.as_str()).await?;
        if view.user.password_hash.is_some() {
            let current = current.ok_or_else(|| CoreError::missing("current_password"))?;
            if !self.verify_password(user_id.as_str(), current).await? {
                return Err(CoreError::NotAllowed {
                    code: "form_password_incorrect",
                    detail: "The current password is incorrect.".to_owned(),
                });
            }
        }
        let patch = UserPatch {
            password: Some(new),
            ..UserPatch::default()
        };
        let view = self.update_user(user_id.as_str(), patch).await?;
        if sign_out_of_other_sessions {
            self.revoke_other_sessions(user_id, keep_session).await?;
        }
        Ok(view)
    }

    async fn revoke_other_sessions(
        &self,
        user_id: &UserId,
        keep: Option<&SessionId>,
    ) -> CoreResult<()> {
        let now = now_ms();
        let mut tx = self.store.begin().await?;
        let filter = SessionFilter {
            user_id: Some(user_id.clone()),
            ..SessionFilter::default()
        };
        for mut s in tessera_store::sessions::list(&mut tx, &filter, 10_000, 0).await? {
            if Some(&s.id) != keep && effective_status(&s, now).is_signed_in() {
                s.status = SessionStatus::Revoked;
                s.updated_at = now;
                tessera_store::sessions::update(&mut tx, &s).await?;
            }
        }
        tx.commit().await.map_err(StoreError::from)?;
        Ok(())
    }

    /// The user's signed-in sessions on every client.
    pub async fn own_active_sessions(&self, user_id: &UserId) -> CoreResult<Vec<Session>> {
        let now = now_ms();
        let filter = SessionFilter {
            user_id: Some(user_id.clone()),
            ..SessionFilter::default()
        };
        let (sessions, _) = self.list_sessions(&filter, 500, 0).await?;
        Ok(sessions
            .into_iter()
            .filter(|s| effective_status(s, now).is_signed_in())
            .collect())
    }

    /// Revokes one of the user's own sessions (on any device).
    pub async fn revoke_own_session(
        &self,
        user_id: &UserId,
        session_id: &str,
    ) -> CoreResult<Session> {
        let session = self.get_session(session_id).await?;
        if &session.user_id != user_id {
            return Err(CoreError::NotFound);
        }
        self.revoke_session(session_id).await
    }

    /// Deletes the user's own account when the instance and the user allow it.
    pub async fn delete_own_account(&self, user_id: &UserId) -> CoreResult<UserView> {
        let view = self.get_user(user_id.as_str()).await?;
        if !(view.user.delete_self_enabled && self.instance().settings.user.delete_self_enabled) {
            return Err(CoreError::NotAllowed {
                code: "not_allowed_access",
                detail: "Deleting your own account is not allowed on this application.".to_owned(),
            });
        }
        self.delete_user(user_id.as_str()).await
    }
}
