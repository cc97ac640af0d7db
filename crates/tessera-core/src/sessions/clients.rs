//! The client aggregate: a client (one per browser, identified by a rotating
//! token) and its sessions, created, viewed and signed into together.

use rand::RngCore;
use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::ClientId;
use tessera_store::records::{Client, Session};
use tessera_store::Conn;

use super::{effective_status, new_session, ClientView, CLIENT_LIFETIME_MS};
use crate::error::{CoreError, CoreResult};
use crate::keys::hash_secret;
use crate::request::RequestInfo;
use crate::Core;

/// A fresh client token (256 random bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A client with a new token; returns the record and the token (only its hash is stored).
pub fn new_client(now: i64) -> (Client, String) {
    let token = new_token();
    let client = Client {
        id: ClientId::generate(now),
        token_hash: Some(hash_secret(&token)),
        last_active_session_id: None,
        sign_up_id: None,
        sign_in_id: None,
        expire_at: now + CLIENT_LIFETIME_MS,
        created_at: now,
        updated_at: now,
    };
    (client, token)
}

/// Loads a client's sessions with expiry applied.
pub(crate) async fn load_view(conn: &mut Conn, client: Client, now: i64) -> CoreResult<ClientView> {
    let sessions = tessera_store::sessions::list_for_client(conn, &client.id).await?;
    Ok(view_at(client, sessions, now))
}

/// A client and its sessions as they are at `now` (expiry applied).
pub(crate) fn view_at(client: Client, mut sessions: Vec<Session>, now: i64) -> ClientView {
    for s in &mut sessions {
        s.status = effective_status(s, now);
    }
    ClientView { client, sessions }
}

/// Makes sure the client row exists (a client is created lazily on the first write).
pub(crate) async fn ensure_client(
    conn: &mut Conn,
    current: Option<&Client>,
    now: i64,
) -> CoreResult<(Client, Option<String>)> {
    match current {
        Some(c) => Ok((tessera_store::clients::get(conn, &c.id).await?, None)),
        None => {
            let (client, token) = new_client(now);
            tessera_store::clients::insert(conn, &client).await?;
            Ok((client, Some(token)))
        }
    }
}

/// The tasks a new session of `user` keeps until done: a new password when
/// theirs was marked compromised, a second factor when the instance requires
/// one and they have none.
pub(crate) async fn tasks_at_start(
    core: &Core,
    conn: &mut Conn,
    user: &tessera_store::records::User,
) -> CoreResult<Vec<tessera_domain::tasks::SessionTask>> {
    let policy = core.task_policy();
    let has_second_factor = if policy.mfa_required {
        let idns = tessera_store::identifications::list_for_user(conn, &user.id).await?;
        let settings = &core.instance().settings.user;
        !crate::second_factors::held_second_factors(settings, user, &idns).is_empty()
    } else {
        true
    };
    Ok(policy.tasks_at_start(tessera_domain::tasks::UserFacts {
        password_compromised: user.password_compromised_at.is_some()
            && user.password_hash.is_some(),
        has_second_factor,
    }))
}

/// Starts a session for `user` on `client` and makes it the active one; the
/// client's token rotates. Single-session instances refuse a second session.
/// `second_factor`: the sign-in also passed a second factor now.
pub(crate) async fn start_session(
    core: &Core,
    conn: &mut Conn,
    client: &mut Client,
    user_id: &tessera_domain::ids::UserId,
    second_factor: bool,
    info: &RequestInfo,
    now: i64,
) -> CoreResult<(Session, String)> {
    let (session, token) =
        start_session_on(core, conn, client, user_id, second_factor, true, info, now).await?;
    Ok((session, token.unwrap_or_default()))
}

/// [`start_session`], rotating the client's token only when `rotate` (an
/// email link opened on another device signs in the client that asked for
/// it, whose browser keeps its cookie); the new token when rotated.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn start_session_on(
    core: &Core,
    conn: &mut Conn,
    client: &mut Client,
    user_id: &tessera_domain::ids::UserId,
    second_factor: bool,
    rotate: bool,
    info: &RequestInfo,
    now: i64,
) -> CoreResult<(Session, Option<String>)> {
    let existing = tessera_store::sessions::list_for_client(conn, &client.id).await?;
    let signed_in: Vec<&Session> = existing
        .iter()
        .filter(|s| effective_status(s, now).is_signed_in())
        .collect();
    if let Some(same) = signed_in.iter().find(|s| &s.user_id == user_id) {
        return Err(CoreError::NotAllowed {
            code: ErrorCode::IdentifierAlreadySignedIn,
            detail: format!("You're already signed in (session {}).", same.id),
        });
    }
    if core.instance().settings.user.single_session_mode && !signed_in.is_empty() {
        return Err(CoreError::NotAllowed {
            code: ErrorCode::SessionExists,
            detail: "You're already signed in.".to_owned(),
        });
    }
    let mut user = tessera_store::users::get(conn, user_id).await?;
    let mut session = new_session(client.id.clone(), user_id.clone(), None, now);
    session.second_factor_at = second_factor.then_some(now);
    session.ip_address = info.ip.clone();
    session.user_agent = info.user_agent.clone();
    session.city = info.city.clone();
    session.country = info.country.clone();
    session.pending_tasks = tasks_at_start(core, conn, &user).await?;
    tessera_store::sessions::insert(conn, &session).await?;
    core.emit_sessions(conn, "session.created", [&session], Some(info))
        .await?;
    user.last_sign_in_at = Some(now);
    user.failed_attempts = 0;
    user.last_active_at = Some(now);
    tessera_store::users::update(conn, &user).await?;
    client.last_active_session_id = Some(session.id.clone());
    let token = rotate.then(new_token);
    if let Some(token) = &token {
        client.token_hash = Some(hash_secret(token));
    }
    client.updated_at = now;
    tessera_store::clients::update(conn, client).await?;
    Ok((session, token))
}
