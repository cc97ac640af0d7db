//! The signed-in user's own account (`/v1/me…`): password changes that
//! require the current password, self-deletion, and the user's sessions on
//! every device. Email addresses and phone numbers are in [`super::identifications`].

use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::{SessionId, UserId};
use tessera_domain::kinds::SessionStatus;
use tessera_store::records::Session;
use tessera_store::sessions::SessionFilter;

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::passwords::Password;
use crate::sessions::effective_status;
use crate::users::{UserPatch, UserView};

impl crate::Users<'_> {
    /// Changes the password; the current one is required when the user has one,
    /// and the new one must differ from it.
    pub async fn change_own_password(
        &self,
        user_id: &UserId,
        current: Option<Password>,
        new: Password,
        sign_out_of_other_sessions: bool,
        keep_session: Option<&SessionId>,
    ) -> CoreResult<UserView> {
        let view = self.get(user_id.as_str()).await?;
        // A session started with a compromised password has the
        // reset-password task: it proved the user another way, and the
        // current password is the one being replaced.
        let resetting = match keep_session {
            Some(sid) => {
                let mut conn = self.store.read().await?;
                tessera_store::sessions::get(&mut conn, sid)
                    .await?
                    .pending_tasks
                    .contains(&tessera_domain::tasks::SessionTask::ResetPassword)
            }
            None => false,
        };
        if view.user.password_hash.is_some() && !(resetting && current.is_none()) {
            let current = current.ok_or_else(|| CoreError::missing("current_password"))?;
            let unchanged = current.expose() == new.expose();
            if !self.verify_password(user_id.as_str(), current).await? {
                return Err(CoreError::NotAllowed {
                    code: ErrorCode::CurrentPasswordIncorrect,
                    detail: "The current password is incorrect.".to_owned(),
                });
            }
            if unchanged {
                return Err(CoreError::NotAllowed {
                    code: ErrorCode::FormNewPasswordMatchesCurrent,
                    detail: "New password cannot be the same as the current password.".to_owned(),
                });
            }
        }
        self.refuse_same_compromised(&view.user, &new).await?;
        let patch = UserPatch {
            password: Some(new),
            ..UserPatch::default()
        };
        let view = self.update(user_id.as_str(), patch).await?;
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
        let mut tx = self.begin().await?;
        let filter = SessionFilter {
            user_id: Some(user_id.clone()),
            ..SessionFilter::default()
        };
        for mut s in tessera_store::sessions::list(&mut tx, &filter, 10_000, 0).await? {
            if Some(&s.id) != keep && effective_status(&s, now).is_signed_in() {
                s.status = SessionStatus::Revoked;
                s.updated_at = now;
                tessera_store::sessions::update(&mut tx, &s).await?;
                self.emit_sessions(&mut tx, "session.revoked", [&s], None)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The user's signed-in sessions on every client.
    pub async fn own_active_sessions(&self, user_id: &UserId) -> CoreResult<Vec<Session>> {
        let now = now_ms();
        let filter = SessionFilter {
            user_id: Some(user_id.clone()),
            ..SessionFilter::default()
        };
        let (sessions, _) = self.sessions().list(&filter, 500, 0).await?;
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
        let session = self.sessions().get(session_id).await?;
        if &session.user_id != user_id {
            return Err(CoreError::NotFound);
        }
        self.sessions().revoke(session_id).await
    }

    /// Deletes the user's own account when the instance and the user allow it.
    pub async fn delete_own_account(&self, user_id: &UserId) -> CoreResult<UserView> {
        let view = self.get(user_id.as_str()).await?;
        if !(view.user.delete_self_enabled && self.instance().settings.user.delete_self_enabled) {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::NotAllowedAccess,
                detail: "Deleting your own account is not allowed on this application.".to_owned(),
            });
        }
        self.delete(user_id.as_str()).await
    }
}
