//! The Frontend API's use cases of the client aggregate ([`crate::sessions::clients`]):
//! finding a client by its token, ending and touching its sessions, minting tokens.

use crate::sessions::clients::{load_view, new_client, view_at};
use tessera_domain::error_code::ErrorCode;
use tessera_domain::ids::SessionId;
use tessera_domain::kinds::SessionStatus;
use tessera_store::records::{Client, Session};

use crate::clock::now_ms;
use crate::error::{CoreError, CoreResult};
use crate::keyring::SessionClaims;
use crate::keys::hash_secret;
use crate::request::RequestInfo;
use crate::sessions::{effective_status, ClientView, TOKEN_LIFETIME_SECS};

impl crate::Sessions<'_> {
    /// The client a token belongs to, if it is known and not expired.
    pub async fn client_for_token(&self, token: &str) -> CoreResult<Option<ClientView>> {
        let hash = hash_secret(token);
        let rows = match self.clients.get(&hash) {
            Some(rows) => Some(rows),
            None => self.read_client(hash).await?,
        };
        let Some((client, sessions)) = rows else {
            return Ok(None);
        };
        let now = now_ms();
        if client.expire_at <= now {
            return Ok(None);
        }
        Ok(Some(view_at(client, sessions, now)))
    }

    /// Reads the client whose token hashes to `hash`, with its sessions, from
    /// the database, and keeps them in the client cache.
    async fn read_client(&self, hash: String) -> CoreResult<Option<(Client, Vec<Session>)>> {
        let epoch = self.clients.epoch();
        let mut conn = self.store.read().await?;
        let rows =
            tessera_store::clients::find_with_sessions_by_token_hash(&mut conn, &hash).await?;
        if let Some((client, sessions)) = &rows {
            self.clients.put(hash, epoch, client, sessions);
        }
        Ok(rows)
    }

    /// Creates a new, empty client (`PUT /v1/client`); returns it and its token.
    pub async fn create_client(&self) -> CoreResult<(ClientView, String)> {
        let now = now_ms();
        let (client, token) = new_client(now);
        let mut tx = self.begin().await?;
        tessera_store::clients::insert(&mut tx, &client).await?;
        tx.commit().await?;
        Ok((
            ClientView {
                client,
                sessions: Vec::new(),
            },
            token,
        ))
    }

    /// Gives a client a new token (`GET /v1/client/touch`), so that its cookie is
    /// set again as a first-party cookie; returns the client and the token.
    pub async fn reissue_client_token(&self, client: &Client) -> CoreResult<(ClientView, String)> {
        let now = now_ms();
        let token = crate::sessions::clients::new_token();
        let mut tx = self.begin().await?;
        let mut client = tessera_store::clients::get(&mut tx, &client.id).await?;
        client.token_hash = Some(hash_secret(&token));
        client.updated_at = now;
        tessera_store::clients::update(&mut tx, &client).await?;
        let view = crate::sessions::clients::load_view(&mut tx, client, now).await?;
        tx.commit().await?;
        Ok((view, token))
    }

    /// Ends sessions of a client. `which = None` signs out of every session;
    /// `status` is `ended` (sign-out) or `removed`.
    pub async fn end_client_sessions(
        &self,
        client: &Client,
        which: Option<&str>,
        status: SessionStatus,
    ) -> CoreResult<(ClientView, Option<Session>)> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let mut client = tessera_store::clients::get(&mut tx, &client.id).await?;
        let sessions = tessera_store::sessions::list_for_client(&mut tx, &client.id).await?;
        let mut touched = None;
        for mut s in sessions {
            let selected = which.is_none_or(|id| s.id.as_str() == id);
            if !selected {
                continue;
            }
            let live = effective_status(&s, now).is_signed_in();
            if live || (status == SessionStatus::Removed && which.is_some()) {
                s.status = status;
                s.updated_at = now;
                tessera_store::sessions::update(&mut tx, &s).await?;
                let event = match status {
                    SessionStatus::Removed => "session.removed",
                    _ => "session.ended",
                };
                self.emit_sessions(&mut tx, event, [&s], None).await?;
            }
            touched = Some(s);
        }
        if which.is_some() && touched.is_none() {
            return Err(CoreError::NotFound);
        }
        let remaining = tessera_store::sessions::list_for_client(&mut tx, &client.id).await?;
        let still_active = remaining
            .iter()
            .rev()
            .find(|s| effective_status(s, now).is_signed_in())
            .map(|s| s.id.clone());
        if client
            .last_active_session_id
            .as_ref()
            .is_none_or(|id| Some(id) != still_active.as_ref())
        {
            client.last_active_session_id = still_active;
        }
        client.updated_at = now;
        tessera_store::clients::update(&mut tx, &client).await?;
        let view = load_view(&mut tx, client, now).await?;
        tx.commit().await?;
        Ok((view, touched))
    }

    /// Makes a session of this client the active one (`touch`), recording activity.
    pub async fn touch_session(
        &self,
        client: &Client,
        session_id: &str,
        active_organization_id: Option<Option<String>>,
        info: &RequestInfo,
    ) -> CoreResult<(ClientView, Session)> {
        let now = now_ms();
        let sid = SessionId::parse(session_id).ok_or(CoreError::NotFound)?;
        let mut tx = self.begin().await?;
        let mut session = tessera_store::sessions::get(&mut tx, &sid).await?;
        if session.client_id != client.id {
            return Err(CoreError::NotFound);
        }
        if !effective_status(&session, now).is_signed_in() {
            return Err(CoreError::NotAllowed {
                code: ErrorCode::SessionNotActive,
                detail: "This session has ended; sign in again.".to_owned(),
            });
        }
        session.last_active_at = now;
        if let Some(org) = active_organization_id {
            if let Some(id) = &org {
                let member = match tessera_domain::ids::OrganizationId::parse(id) {
                    Some(org_id) => {
                        tessera_store::organizations::find_membership(
                            &mut tx,
                            &org_id,
                            &session.user_id,
                        )
                        .await?
                    }
                    None => None,
                };
                if member.is_none() {
                    return Err(CoreError::NotAllowed {
                        code: ErrorCode::NotAMemberInOrganization,
                        detail: "You are not a member of this organization.".to_owned(),
                    });
                }
            }
            session.last_active_organization_id = org;
        }
        if info.ip.is_some() {
            session.ip_address = info.ip.clone();
        }
        if info.user_agent.is_some() {
            session.user_agent = info.user_agent.clone();
        }
        session.updated_at = now;
        tessera_store::sessions::update(&mut tx, &session).await?;
        let mut client = tessera_store::clients::get(&mut tx, &client.id).await?;
        client.last_active_session_id = Some(session.id.clone());
        client.updated_at = now;
        tessera_store::clients::update(&mut tx, &client).await?;
        let view = load_view(&mut tx, client, now).await?;
        tx.commit().await?;
        Ok((view, session))
    }

    /// Mints a token for a session of this client, reading the session once.
    pub async fn client_session_token(
        &self,
        client: &Client,
        session_id: &str,
        origin: Option<String>,
    ) -> CoreResult<String> {
        let session = self.get(session_id).await?;
        if session.client_id != client.id {
            return Err(CoreError::NotFound);
        }
        self.signed_in_session_token(&session, origin)
    }

    /// Mints a token for a session of the client whose token is `client_token`
    /// (the Frontend API's `/tokens`); `Ok(None)` when no unexpired client has
    /// that token. The client and its sessions are read as they are now — from
    /// the client cache, without copying them, while no write has committed
    /// since they were read — so an ended or revoked session gets no token.
    pub async fn client_token_session_token(
        &self,
        client_token: &str,
        session_id: &str,
        origin: Option<String>,
    ) -> CoreResult<Option<String>> {
        let claims_of = |client: &Client, sessions: &[Session], origin, now| {
            (client.expire_at > now)
                .then(|| self.signed_in_claims(sessions, session_id, origin, now))
                .transpose()
        };
        let mut origin = origin;
        let hash = hash_secret(client_token);
        let cached = self.clients.read(&hash, |client, sessions| {
            claims_of(client, sessions, origin.take(), now_ms())
        });
        let claims = match cached {
            Some(claims) => claims?,
            None => match self.read_client(hash).await? {
                Some((client, sessions)) => claims_of(&client, &sessions, origin, now_ms())?,
                None => None,
            },
        };
        claims.map(|claims| self.keyring.sign(&claims)).transpose()
    }

    /// Claims for session `session_id` among `sessions` (as stored) if it is
    /// signed in at `now`.
    fn signed_in_claims(
        &self,
        sessions: &[Session],
        session_id: &str,
        origin: Option<String>,
        now: i64,
    ) -> CoreResult<SessionClaims> {
        let session = sessions
            .iter()
            .find(|s| s.id.as_str() == session_id)
            .ok_or(CoreError::NotFound)?;
        let status = effective_status(session, now);
        if !status.is_signed_in() {
            return Err(not_signed_in());
        }
        Ok(self.session_claims(session, status, TOKEN_LIFETIME_SECS, origin, now))
    }

    fn signed_in_session_token(
        &self,
        session: &Session,
        origin: Option<String>,
    ) -> CoreResult<String> {
        if !session.status.is_signed_in() {
            return Err(not_signed_in());
        }
        self.sign_session_token(session, TOKEN_LIFETIME_SECS, origin)
    }
}

fn not_signed_in() -> CoreError {
    CoreError::NotAllowed {
        code: ErrorCode::AuthenticationInvalid,
        detail: "The session is not active; sign in again.".to_owned(),
    }
}
