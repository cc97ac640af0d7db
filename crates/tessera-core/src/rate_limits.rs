//! Rate limits on the Frontend API's abuse-prone operations, counted in the
//! database (fixed windows) so that every replica enforces the same budget.

use sha2::{Digest, Sha256};

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::Core;

/// One limited operation: at most `max` hits per `window_ms` per subject.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Name, part of the counter key.
    pub name: &'static str,
    /// Hits allowed per window.
    pub max: i64,
    /// Window length (ms).
    pub window_ms: i64,
}

const MINUTE: i64 = 60_000;

/// Sign-in attempts (create and first-factor attempts) per client IP.
pub const SIGN_IN_PER_IP: Limit = Limit {
    name: "sign_in_ip",
    max: 100,
    window_ms: MINUTE,
};
/// Sign-in attempts per identifier.
pub const SIGN_IN_PER_IDENTIFIER: Limit = Limit {
    name: "sign_in_id",
    max: 30,
    window_ms: MINUTE,
};
/// New sign-ups per client IP.
pub const SIGN_UP_PER_IP: Limit = Limit {
    name: "sign_up_ip",
    max: 30,
    window_ms: MINUTE,
};
/// Codes sent per destination address.
pub const CODES_PER_ADDRESS: Limit = Limit {
    name: "code_to",
    max: 5,
    window_ms: 10 * MINUTE,
};
/// Codes sent per client IP.
pub const CODES_PER_IP: Limit = Limit {
    name: "code_ip",
    max: 30,
    window_ms: 10 * MINUTE,
};

impl Core {
    /// Counts a hit of `limit` for `subject` (an IP or identifier; stored hashed)
    /// and refuses it with `too_many_requests` once the window's budget is spent.
    pub async fn rate_limit(&self, limit: Limit, subject: Option<&str>) -> CoreResult<()> {
        let Some(subject) = subject.filter(|s| !s.is_empty()) else {
            return Ok(());
        };
        if !self.instance().settings.user.rate_limits_enabled {
            return Ok(());
        }
        let now = now_ms();
        let window_start = now - now.rem_euclid(limit.window_ms);
        let key = format!(
            "{}:{}",
            limit.name,
            hex::encode(Sha256::digest(subject.to_lowercase().as_bytes()))
        );
        let mut tx = self.begin_bookkeeping().await?;
        let count = tessera_store::rate_limits::hit(&mut tx, &key, window_start).await?;
        tx.commit().await?;
        if count > limit.max {
            let retry_after_secs = ((window_start + limit.window_ms - now) / 1000).max(1);
            return Err(CoreError::RateLimited { retry_after_secs });
        }
        Ok(())
    }
}
/// A locked account's answer.
pub(crate) fn locked() -> CoreError {
    CoreError::NotAllowed {
        code: tessera_domain::error_code::ErrorCode::UserLocked,
        detail: "This account is locked after too many failed attempts. Try again later."
            .to_owned(),
    }
}

impl Core {
    /// The lockout's bounds at `now`: failures allowed (0: no lockout) and
    /// when a lock set now would end (none: until unlocked).
    pub(crate) fn lockout_limits(&self, now: i64) -> (i64, Option<i64>) {
        let lockout = self.instance().settings.user.lockout;
        let max = if lockout.enabled {
            lockout.max_attempts
        } else {
            0
        };
        let until = (lockout.duration_mins > 0).then(|| now + lockout.duration_mins * 60_000);
        (max, until)
    }

    /// Counts a wrong second factor (or a wrong password in a
    /// reverification) towards the user's lockout, as a wrong sign-in
    /// password counts; `user_locked` once past the limit.
    pub(crate) async fn count_wrong_factor(
        &self,
        user: &tessera_domain::ids::UserId,
        now: i64,
    ) -> CoreResult<()> {
        let (max, until) = self.lockout_limits(now);
        let mut tx = self.begin().await?;
        let count =
            tessera_store::users::count_failed_password(&mut tx, user, now, max, until).await?;
        tx.commit().await?;
        if max > 0 && count > max {
            return Err(locked());
        }
        Ok(())
    }
}
