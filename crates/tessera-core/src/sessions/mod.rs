//! Sessions, clients and session tokens as the Backend API exposes them.

pub mod clients;
pub mod reverify;

use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::{ClientId, SessionId, UserId};
use tessera_domain::kinds::SessionStatus;
use tessera_domain::settings::EnvironmentType;
use tessera_domain::tasks::{SessionFacts, SessionTask, TaskPolicy};
use tessera_store::records::{Client, Session};
use tessera_store::sessions::SessionFilter;

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::keyring::SessionClaims;
use crate::keys::hash_secret;

/// Hard session lifetime (Clerk's default: 7 days).
pub const SESSION_LIFETIME_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Inactivity lifetime before a session counts as abandoned (30 days).
pub const SESSION_ABANDON_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Session token lifetime (60 s).
pub const TOKEN_LIFETIME_SECS: i64 = 60;
/// How long a client cookie lives (1 year).
pub const CLIENT_LIFETIME_MS: i64 = 365 * 24 * 60 * 60 * 1000;

/// A client with its sessions, ready to render.
#[derive(Debug, Clone)]
pub struct ClientView {
    /// The client.
    pub client: Client,
    /// Its sessions, oldest first.
    pub sessions: Vec<Session>,
}

/// The state a session is really in at `now` (expiry is applied lazily).
pub fn effective_status(session: &Session, now: i64) -> SessionStatus {
    match session.status {
        SessionStatus::Active | SessionStatus::Pending if now >= session.expire_at => {
            SessionStatus::Expired
        }
        SessionStatus::Active | SessionStatus::Pending if now >= session.abandon_at => {
            SessionStatus::Abandoned
        }
        other => other,
    }
}

fn facts_of(session: &Session, status: SessionStatus) -> SessionFacts<'_> {
    SessionFacts {
        status,
        has_active_organization: session.last_active_organization_id.is_some(),
        kept: &session.pending_tasks,
    }
}

/// The tasks `session` (its status as of now) has left under `policy`.
pub fn tasks_of(policy: TaskPolicy, session: &Session) -> Vec<SessionTask> {
    policy.tasks(facts_of(session, session.status))
}

/// The status `session` (its status as of now) shows under `policy`: a
/// signed-in session with a task left is `pending`.
pub fn shown_status(policy: TaskPolicy, session: &Session) -> SessionStatus {
    policy.status(facts_of(session, session.status))
}

fn minutes_since(at: Option<i64>, now: i64) -> i64 {
    at.map_or(-1, |t| (now - t).max(0) / 60_000)
}

impl crate::Sessions<'_> {
    /// Creates a signed-in session for a user on a new client (BAPI `POST /v1/sessions`,
    /// meant for tests and server-side flows; refused on production instances).
    pub async fn create_session_for_user(
        &self,
        user_id: &str,
        active_organization_id: Option<String>,
    ) -> CoreResult<Session> {
        if self.instance().environment == EnvironmentType::Production {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::OperationNotAllowedOnProduction,
                detail: "Creating sessions through the Backend API is only available on development instances.".to_owned(),
            });
        }
        let now = now_ms();
        let user_id = UserId::parse(user_id).ok_or(CoreError::NotFound)?;
        let mut tx = self.begin().await?;
        let user = tessera_store::users::get(&mut tx, &user_id).await?;
        if user.banned {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::UserBanned,
                detail: "The user is banned.".to_owned(),
            });
        }
        // A client for the Backend API's session: no browser holds a token for it.
        let client = Client {
            token_hash: None,
            ..clients::new_client(now).0
        };
        tessera_store::clients::insert(&mut tx, &client).await?;
        let mut session = new_session(client.id.clone(), user_id, active_organization_id, now);
        session.pending_tasks = clients::tasks_at_start(self, &mut tx, &user).await?;
        tessera_store::sessions::insert(&mut tx, &session).await?;
        let mut client = client;
        client.last_active_session_id = Some(session.id.clone());
        tessera_store::clients::update(&mut tx, &client).await?;
        self.emit_sessions(&mut tx, "session.created", [&session], None)
            .await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Loads one session, with lazily applied expiry.
    pub async fn get(&self, id: &str) -> CoreResult<Session> {
        let id = SessionId::parse(id).ok_or(CoreError::NotFound)?;
        let mut conn = self.store.read().await?;
        let mut session = tessera_store::sessions::get(&mut conn, &id).await?;
        session.status = effective_status(&session, now_ms());
        Ok(session)
    }

    /// Lists sessions, newest first, with the total count.
    pub async fn list(
        &self,
        filter: &SessionFilter,
        limit: i64,
        offset: i64,
    ) -> CoreResult<(Vec<Session>, i64)> {
        let now = now_ms();
        let mut conn = self.store.read().await?;
        let mut sessions = tessera_store::sessions::list(&mut conn, filter, limit, offset).await?;
        for s in &mut sessions {
            s.status = effective_status(s, now);
        }
        let total = tessera_store::sessions::count(&mut conn, filter).await?;
        Ok((sessions, total))
    }

    /// Revokes a session: it can no longer mint tokens.
    pub async fn revoke(&self, id: &str) -> CoreResult<Session> {
        let id = SessionId::parse(id).ok_or(CoreError::NotFound)?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut session = tessera_store::sessions::get(&mut tx, &id).await?;
        if effective_status(&session, now).is_signed_in() {
            session.status = SessionStatus::Revoked;
            session.updated_at = now;
            tessera_store::sessions::update(&mut tx, &session).await?;
            self.emit_sessions(&mut tx, "session.revoked", [&session], None)
                .await?;
        }
        tx.commit().await?;
        session.status = effective_status(&session, now);
        Ok(session)
    }

    /// Mints a session token for a signed-in session. `azp` is the requesting origin.
    pub async fn create_session_token(
        &self,
        id: &str,
        expires_in_secs: Option<i64>,
        azp: Option<String>,
    ) -> CoreResult<String> {
        let session = self.get(id).await?;
        if !session.status.is_signed_in() {
            return Err(CoreError::NotFound);
        }
        let lifetime = expires_in_secs.unwrap_or(TOKEN_LIFETIME_SECS);
        if !(30..=315_360_000).contains(&lifetime) {
            return Err(CoreError::value(
                "expires_in_seconds",
                "must be between 30 and 315360000",
            ));
        }
        self.sign_session_token(&session, lifetime, azp)
    }

    /// Signs a token for `session` as the caller loaded it (with its effective
    /// status, checked by the caller) without reading it again.
    pub fn sign_session_token(
        &self,
        session: &Session,
        lifetime_secs: i64,
        azp: Option<String>,
    ) -> CoreResult<String> {
        let claims = self.session_claims(session, session.status, lifetime_secs, azp, now_ms());
        self.keyring.sign(&claims)
    }

    /// Clerk's v2 claims for `session` with status `status` at `now` (ms).
    pub(crate) fn session_claims(
        &self,
        session: &Session,
        status: SessionStatus,
        lifetime_secs: i64,
        azp: Option<String>,
        now: i64,
    ) -> SessionClaims {
        let iat = now / 1000;
        let status = self.task_policy().status(facts_of(session, status));
        let (fea, o) = self.organization_claims(session);
        SessionClaims {
            azp,
            exp: iat + lifetime_secs,
            fea,
            fva: [
                minutes_since(session.first_factor_at, now),
                minutes_since(session.second_factor_at, now),
            ],
            iat,
            iss: self.frontend_url.clone(),
            nbf: iat - 10,
            o,
            sid: session.id.as_str().to_owned(),
            sts: status.as_str().to_owned(),
            sub: session.user_id.as_str().to_owned(),
            v: 2,
        }
    }

    /// The `fea` and `o` claims of the session's active organization, if the
    /// user is a member of it.
    fn organization_claims(
        &self,
        session: &Session,
    ) -> (Option<String>, Option<crate::keyring::OrganizationClaim>) {
        let (Some(id), Some(active)) = (
            &session.last_active_organization_id,
            &session.active_organization,
        ) else {
            return (None, None);
        };
        let roles = self.organizations().roles();
        let encoded =
            tessera_domain::organizations::encode_permissions(roles.permissions(&active.role));
        let claim = crate::keyring::OrganizationClaim {
            id: id.clone(),
            slg: active.slug.clone(),
            rol: active
                .role
                .strip_prefix("org:")
                .unwrap_or(&active.role)
                .to_owned(),
            per: encoded.as_ref().map(|e| e.per.clone()),
            fpm: encoded.as_ref().map(|e| e.fpm.clone()),
        };
        (encoded.map(|e| e.fea), Some(claim))
    }

    /// Checks that `token` is a valid session token of session `id`, which is
    /// still signed in (BAPI `POST /v1/sessions/{id}/verify`).
    pub async fn verify_session_token(&self, id: &str, token: &str) -> CoreResult<Session> {
        let claims = self.keyring.verify(token)?;
        if claims.get("sid").and_then(serde_json::Value::as_str) != Some(id) {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::TokenInvalid,
                detail: "The token belongs to another session.".to_owned(),
            });
        }
        let session = self.get(id).await?;
        if !session.status.is_signed_in() {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::SessionNotActive,
                detail: "The session is no longer active.".to_owned(),
            });
        }
        Ok(session)
    }

    /// Loads a client with its sessions.
    pub async fn get_client(&self, id: &str) -> CoreResult<ClientView> {
        let id = ClientId::parse(id).ok_or(CoreError::NotFound)?;
        let mut conn = self.store.read().await?;
        let client = tessera_store::clients::get(&mut conn, &id).await?;
        clients::load_view(&mut conn, client, now_ms()).await
    }

    /// Finds the client a client token belongs to.
    pub async fn verify_client_token(&self, token: &str) -> CoreResult<ClientView> {
        let mut conn = self.store.read().await?;
        let (client, sessions) = tessera_store::clients::find_with_sessions_by_token_hash(
            &mut conn,
            &hash_secret(token),
        )
        .await?
        .ok_or(CoreError::NotFound)?;
        Ok(clients::view_at(client, sessions, now_ms()))
    }

    /// Lists clients, newest first, with the total count.
    pub async fn list_clients(
        &self,
        limit: i64,
        offset: i64,
    ) -> CoreResult<(Vec<ClientView>, i64)> {
        let mut conn = self.store.read().await?;
        let clients = tessera_store::clients::list(&mut conn, limit, offset).await?;
        let total = tessera_store::clients::count(&mut conn).await?;
        let mut views = Vec::with_capacity(clients.len());
        for client in clients {
            views.push(clients::load_view(&mut conn, client, now_ms()).await?);
        }
        Ok((views, total))
    }
}

pub(crate) fn new_session(
    client_id: ClientId,
    user_id: UserId,
    org: Option<String>,
    now: i64,
) -> Session {
    Session {
        id: SessionId::generate(now),
        client_id,
        user_id,
        status: SessionStatus::Active,
        actor: None,
        last_active_organization_id: org,
        active_organization: None,
        pending_tasks: Vec::new(),
        reverification: None,
        last_active_at: now,
        expire_at: now + SESSION_LIFETIME_MS,
        abandon_at: now + SESSION_ABANDON_MS,
        first_factor_at: Some(now),
        second_factor_at: None,
        ip_address: None,
        user_agent: None,
        city: None,
        country: None,
        created_at: now,
        updated_at: now,
        reverification_version: 0,
    }
}
