//! Session tasks: what a signed-in user must still do before their session
//! counts as fully active. A session with a task left is `pending`: it is
//! signed in (it mints tokens, marked `sts: "pending"`), and clerk-js shows the
//! task's screen until the task is done.
//!
//! Tasks are not stored: they follow from the instance's settings and the
//! session's state, so a session gains or loses one the moment either changes.

use crate::kinds::SessionStatus;
use crate::settings::InstanceSettings;

/// One thing a session must still do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionTask {
    /// Choose a new password: the session was started with a password the
    /// Backend API marked compromised. Kept on the session until the password
    /// changes.
    ResetPassword,
    /// Set up a second factor: the instance requires one and the user had
    /// none when the session started. Kept until the user has one.
    SetupMfa,
    /// Choose (or create) an organization: the instance forces organization
    /// selection and the session has no active organization.
    ChooseOrganization,
}

impl SessionTask {
    /// The task's key on the wire (`tasks[].key`).
    pub const fn key(self) -> &'static str {
        match self {
            Self::ResetPassword => "reset-password",
            Self::SetupMfa => "setup-mfa",
            Self::ChooseOrganization => "choose-organization",
        }
    }

    /// The task of a key.
    pub fn parse(key: &str) -> Option<Self> {
        [
            Self::ResetPassword,
            Self::SetupMfa,
            Self::ChooseOrganization,
        ]
        .into_iter()
        .find(|t| t.key() == key)
    }

    /// Tasks kept on a session, as stored (`reset-password,setup-mfa`).
    pub fn join(tasks: &[Self]) -> String {
        tasks.iter().map(|t| t.key()).collect::<Vec<_>>().join(",")
    }

    /// Stored tasks back; unknown keys are dropped.
    pub fn split(stored: &str) -> Vec<Self> {
        stored.split(',').filter_map(Self::parse).collect()
    }
}

/// What a user brings to a new session that may leave it a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UserFacts {
    /// The password was marked compromised.
    pub password_compromised: bool,
    /// The user has a second factor (authenticator app, SMS, backup codes).
    pub has_second_factor: bool,
}

/// The instance settings that decide which tasks a session has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskPolicy {
    /// Every session needs an active organization.
    pub force_organization_selection: bool,
    /// Every user needs a second factor.
    pub mfa_required: bool,
}

/// A session as far as its tasks go: its status as of now, whether it has an
/// active organization, and the tasks kept on it since it started.
#[derive(Debug, Clone, Copy)]
pub struct SessionFacts<'a> {
    /// Its status as of now (expiry applied).
    pub status: SessionStatus,
    /// It has an active organization.
    pub has_active_organization: bool,
    /// The tasks it was started with and has not done yet.
    pub kept: &'a [SessionTask],
}

impl TaskPolicy {
    /// The policy of an instance's settings.
    pub fn of(settings: &InstanceSettings) -> Self {
        let orgs = &settings.organizations;
        Self {
            force_organization_selection: orgs.enabled && orgs.force_organization_selection,
            mfa_required: settings.user.mfa_required,
        }
    }

    /// The tasks a new session of a user with `facts` keeps until they are
    /// done (the organization task is not kept: it follows the session).
    pub fn tasks_at_start(self, facts: UserFacts) -> Vec<SessionTask> {
        let mut tasks = Vec::new();
        if facts.password_compromised {
            tasks.push(SessionTask::ResetPassword);
        }
        if self.mfa_required && !facts.has_second_factor {
            tasks.push(SessionTask::SetupMfa);
        }
        tasks
    }

    /// The tasks a session has left, in the order clerk-js takes them. Only
    /// signed-in sessions have tasks.
    pub fn tasks(self, s: SessionFacts<'_>) -> Vec<SessionTask> {
        if !s.status.is_signed_in() {
            return Vec::new();
        }
        // A kept setup-mfa task lapses when the instance stops requiring MFA.
        let mut tasks: Vec<SessionTask> = s
            .kept
            .iter()
            .copied()
            .filter(|t| *t != SessionTask::SetupMfa || self.mfa_required)
            .collect();
        if self.force_organization_selection && !s.has_active_organization {
            tasks.push(SessionTask::ChooseOrganization);
        }
        tasks
    }

    /// The status a session shows: `pending` while it has a task.
    pub fn status(self, s: SessionFacts<'_>) -> SessionStatus {
        if !s.status.is_signed_in() {
            s.status
        } else if self.tasks(s).is_empty() {
            SessionStatus::Active
        } else {
            SessionStatus::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forcing() -> TaskPolicy {
        TaskPolicy {
            force_organization_selection: true,
            mfa_required: false,
        }
    }

    fn facts(status: SessionStatus, org: bool, kept: &[SessionTask]) -> SessionFacts<'_> {
        SessionFacts {
            status,
            has_active_organization: org,
            kept,
        }
    }

    #[test]
    fn forced_selection_makes_a_session_without_organization_pending() {
        let p = forcing();
        let s = facts(SessionStatus::Active, false, &[]);
        assert_eq!(p.tasks(s), vec![SessionTask::ChooseOrganization]);
        assert_eq!(p.status(s), SessionStatus::Pending);
        assert_eq!(SessionTask::ChooseOrganization.key(), "choose-organization");
    }

    #[test]
    fn an_active_organization_resolves_the_task() {
        let p = forcing();
        let s = facts(SessionStatus::Pending, true, &[]);
        assert!(p.tasks(s).is_empty());
        assert_eq!(p.status(s), SessionStatus::Active);
    }

    #[test]
    fn ended_sessions_have_no_tasks_and_keep_their_status() {
        let p = forcing();
        let kept = [SessionTask::ResetPassword];
        assert!(p
            .tasks(facts(SessionStatus::Ended, false, &kept))
            .is_empty());
        assert_eq!(
            p.status(facts(SessionStatus::Revoked, false, &kept)),
            SessionStatus::Revoked
        );
    }

    #[test]
    fn the_setting_needs_organizations_on() {
        let mut s = InstanceSettings::default();
        s.organizations.force_organization_selection = true;
        assert!(!TaskPolicy::of(&s).force_organization_selection);
        s.organizations.enabled = true;
        assert!(TaskPolicy::of(&s).force_organization_selection);
        assert!(TaskPolicy::default()
            .tasks(facts(SessionStatus::Active, false, &[]))
            .is_empty());
    }

    #[test]
    fn kept_tasks_come_first_and_are_stored_by_key() {
        let p = TaskPolicy {
            force_organization_selection: true,
            mfa_required: true,
        };
        let kept = p.tasks_at_start(UserFacts {
            password_compromised: true,
            has_second_factor: false,
        });
        assert_eq!(kept, [SessionTask::ResetPassword, SessionTask::SetupMfa]);
        assert_eq!(
            p.tasks(facts(SessionStatus::Active, false, &kept)),
            [
                SessionTask::ResetPassword,
                SessionTask::SetupMfa,
                SessionTask::ChooseOrganization
            ]
        );
        let stored = SessionTask::join(&kept);
        assert_eq!(stored, "reset-password,setup-mfa");
        assert_eq!(SessionTask::split(&stored), kept);
        assert!(SessionTask::split("").is_empty());
        assert!(p
            .tasks_at_start(UserFacts {
                password_compromised: false,
                has_second_factor: true,
            })
            .is_empty());
    }
}
