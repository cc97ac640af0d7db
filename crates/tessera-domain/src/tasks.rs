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
    /// Choose (or create) an organization: the instance forces organization
    /// selection and the session has no active organization.
    ChooseOrganization,
}

impl SessionTask {
    /// The task's key on the wire (`tasks[].key`).
    pub const fn key(self) -> &'static str {
        match self {
            Self::ChooseOrganization => "choose-organization",
        }
    }
}

/// The instance settings that decide which tasks a session has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskPolicy {
    /// Every session needs an active organization.
    pub force_organization_selection: bool,
}

impl TaskPolicy {
    /// The policy of an instance's settings.
    pub fn of(settings: &InstanceSettings) -> Self {
        let orgs = &settings.organizations;
        Self {
            force_organization_selection: orgs.enabled && orgs.force_organization_selection,
        }
    }

    /// The tasks of a session in `status` (as of now) with or without an
    /// active organization. Only signed-in sessions have tasks.
    pub fn tasks(self, status: SessionStatus, has_active_organization: bool) -> Vec<SessionTask> {
        let mut tasks = Vec::new();
        if !status.is_signed_in() {
            return tasks;
        }
        if self.force_organization_selection && !has_active_organization {
            tasks.push(SessionTask::ChooseOrganization);
        }
        tasks
    }

    /// The status a session in `status` shows: `pending` while it has a task.
    pub fn status(self, status: SessionStatus, has_active_organization: bool) -> SessionStatus {
        if status.is_signed_in() {
            if self.tasks(status, has_active_organization).is_empty() {
                SessionStatus::Active
            } else {
                SessionStatus::Pending
            }
        } else {
            status
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forcing() -> TaskPolicy {
        TaskPolicy {
            force_organization_selection: true,
        }
    }

    #[test]
    fn forced_selection_makes_a_session_without_organization_pending() {
        let p = forcing();
        assert_eq!(
            p.tasks(SessionStatus::Active, false),
            vec![SessionTask::ChooseOrganization]
        );
        assert_eq!(
            p.status(SessionStatus::Active, false),
            SessionStatus::Pending
        );
        assert_eq!(SessionTask::ChooseOrganization.key(), "choose-organization");
    }

    #[test]
    fn an_active_organization_resolves_the_task() {
        let p = forcing();
        assert!(p.tasks(SessionStatus::Pending, true).is_empty());
        assert_eq!(
            p.status(SessionStatus::Pending, true),
            SessionStatus::Active
        );
    }

    #[test]
    fn ended_sessions_have_no_tasks_and_keep_their_status() {
        let p = forcing();
        assert!(p.tasks(SessionStatus::Ended, false).is_empty());
        assert_eq!(
            p.status(SessionStatus::Revoked, false),
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
            .tasks(SessionStatus::Active, false)
            .is_empty());
    }
}
