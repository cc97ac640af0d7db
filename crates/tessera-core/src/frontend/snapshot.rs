//! What a Frontend API answer shows, loaded in one place so that rendering is
//! pure: a client with its signed-in sessions (each with its user and a fresh
//! token) and its current sign-in and sign-up attempts.

use tessera_domain::ids::UserId;
use tessera_store::attempts::{SignIn, SignUp};
use tessera_store::records::{Client, Membership, Session};

use super::sign_ups::SignUpFields;
use crate::error::CoreResult;
use crate::sessions::{ClientView, TOKEN_LIFETIME_SECS};
use crate::users::UserView;
use crate::Core;
use tessera_domain::kinds::{SignInStatus, SignUpStatus};

/// A session as the client object shows it.
#[derive(Debug, Clone)]
pub struct SessionSnapshot {
    /// The session (its status as of now).
    pub session: Session,
    /// Its user.
    pub user: UserView,
    /// The user's organization memberships (when the instance has organizations).
    pub memberships: Vec<Membership>,
    /// A fresh session token, when the session is signed in.
    pub token: Option<String>,
}

/// A sign-in attempt with the user it identified.
#[derive(Debug, Clone)]
pub struct SignInSnapshot {
    /// The attempt.
    pub sign_in: SignIn,
    /// The identified user with their identifications and passkeys.
    pub user: Option<crate::users::UserView>,
}

/// Everything the client object shows.
#[derive(Debug, Clone)]
pub struct ClientSnapshot {
    /// The client.
    pub client: Client,
    /// Its signed-in sessions.
    pub sessions: Vec<SessionSnapshot>,
    /// The sign-in in progress, if any.
    pub sign_in: Option<SignInSnapshot>,
    /// The sign-up in progress, if any, with its field lists.
    pub sign_up: Option<(SignUp, SignUpFields)>,
}

/// Loads a session's user and signs its token (`azp` = the page's origin).
pub async fn session(
    core: &Core,
    s: &Session,
    origin: Option<String>,
) -> CoreResult<SessionSnapshot> {
    let user = core.users().get(s.user_id.as_str()).await?;
    let memberships = memberships(core, &s.user_id).await?;
    let token = if s.status.is_signed_in() {
        Some(
            core.sessions()
                .sign_session_token(s, TOKEN_LIFETIME_SECS, origin)?,
        )
    } else {
        None
    };
    Ok(SessionSnapshot {
        session: s.clone(),
        user,
        memberships,
        token,
    })
}

/// A user's organization memberships, as the user object shows them: none
/// while the instance has organizations turned off.
pub async fn memberships(core: &Core, user: &UserId) -> CoreResult<Vec<Membership>> {
    if !core.instance().settings.organizations.enabled {
        return Ok(Vec::new());
    }
    core.organizations().memberships_of_user(user).await
}

/// Loads what the client object of `view` shows. Attempts that are complete,
/// or gone, are not shown.
pub async fn client(
    core: &Core,
    view: &ClientView,
    origin: Option<String>,
) -> CoreResult<ClientSnapshot> {
    let mut sessions = Vec::new();
    for s in view.sessions.iter().filter(|s| s.status.is_signed_in()) {
        sessions.push(session(core, s, origin.clone()).await?);
    }
    let sign_in = match &view.client.sign_in_id {
        Some(id) => match core.sign_ins().load(&view.client, id.as_str()).await {
            Ok((sign_in, user)) if sign_in.status != SignInStatus::Complete => {
                Some(SignInSnapshot { sign_in, user })
            }
            _ => None,
        },
        None => None,
    };
    let sign_up = match &view.client.sign_up_id {
        Some(id) => match core.sign_ups().get(&view.client, id.as_str()).await {
            Ok((s, f)) if s.status != SignUpStatus::Complete => Some((s, f)),
            _ => None,
        },
        None => None,
    };
    Ok(ClientSnapshot {
        client: view.client.clone(),
        sessions,
        sign_in,
        sign_up,
    })
}
